"""A writer for the "newc" cpio format, the only one the kernel unpacks.

Written here rather than driving cpio(1) so that images are byte-for-byte
reproducible (fixed inode numbers, mtime 0, sorted input) and so that the early
ACPI-override archive can be laid out exactly as lib/earlycpio.c expects:
uncompressed, first in the initrd, every header and body 4-byte aligned.
"""

from __future__ import annotations

import stat


class CpioWriter:
    def __init__(self) -> None:
        self._out = bytearray()
        self._ino = 1
        self._names: set[str] = set()

    def _entry(self, name: str, mode: int, data: bytes, rdev: tuple[int, int] = (0, 0)) -> None:
        if name in self._names:
            raise ValueError(f"cpio: duplicate entry {name}")
        self._names.add(name)
        encoded = name.encode() + b"\0"
        fields = [self._ino, mode, 0, 0, 1, 0, len(data), 0, 0, rdev[0], rdev[1], len(encoded), 0]
        self._ino += 1
        self._out += b"070701" + b"".join(b"%08X" % f for f in fields) + encoded
        self._pad()
        self._out += data
        self._pad()

    def _pad(self) -> None:
        self._out += b"\0" * (-len(self._out) % 4)

    def add_dir(self, name: str, mode: int = 0o755) -> None:
        # Parents first: the kernel's unpacker does not create missing parents.
        self.add_dirs_for(name)
        self._entry(name, stat.S_IFDIR | mode, b"")

    def add_dirs_for(self, path: str) -> None:
        """Adds every missing parent directory of `path` (a/b/c -> a, a/b)."""
        parts = path.split("/")[:-1]
        for i in range(1, len(parts) + 1):
            d = "/".join(parts[:i])
            if d not in self._names:
                self.add_dir(d)

    def add_file(self, name: str, data: bytes, mode: int = 0o644) -> None:
        self.add_dirs_for(name)
        self._entry(name, stat.S_IFREG | mode, data)

    def add_chardev(self, name: str, major: int, minor: int, mode: int = 0o600) -> None:
        self.add_dirs_for(name)
        self._entry(name, stat.S_IFCHR | mode, b"", (major, minor))

    def add_symlink(self, name: str, target: str) -> None:
        self.add_dirs_for(name)
        self._entry(name, stat.S_IFLNK | 0o777, target.encode())

    def finish(self) -> bytes:
        self._entry("TRAILER!!!", 0, b"")
        self._out += b"\0" * (-len(self._out) % 512)
        return bytes(self._out)
