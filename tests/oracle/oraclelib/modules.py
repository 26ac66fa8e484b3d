"""Kernel modules for the guest, resolved from modules.dep.

Names are matched the way kmod does (a dash and an underscore are the same
character), dependencies come first in the load order, built-in modules
(modules.builtin) need no file, and compressed modules (.ko.xz on Debian 6.12,
.ko.zst elsewhere) are decompressed on the host because busybox insmod only
loads plain ELF objects.
"""

from __future__ import annotations

import gzip
import lzma
import subprocess
from pathlib import Path

from .common import HarnessError

_SUFFIXES = (".ko.xz", ".ko.zst", ".ko.gz", ".ko")


def canonical(name: str) -> str:
    """'vfio-pci', 'vfio_pci.ko.xz', 'kernel/.../vfio-pci.ko' -> 'vfio_pci'."""
    base = name.rsplit("/", 1)[-1]
    for s in _SUFFIXES:
        if base.endswith(s):
            base = base[: -len(s)]
            break
    return base.replace("-", "_")


class ModuleIndex:
    def __init__(self, modules_dir: Path) -> None:
        self.dir = modules_dir
        dep = modules_dir / "modules.dep"
        if not dep.exists():
            raise HarnessError(f"{dep} is missing (depmod -b was not run)")
        self.deps: dict[str, tuple[str, list[str]]] = {}
        for line in dep.read_text().splitlines():
            path, _, rest = line.partition(":")
            self.deps[canonical(path)] = (path, rest.split())
        builtin = modules_dir / "modules.builtin"
        self.builtin = {canonical(p) for p in builtin.read_text().split()} if builtin.exists() else set()

    def has(self, name: str) -> bool:
        return canonical(name) in self.deps or canonical(name) in self.builtin

    def resolve(self, names: list[str]) -> list[str]:
        """Module paths (relative to the modules dir) in load order, dependencies
        first; built-in modules are skipped. Raises on an unknown module."""
        order: list[str] = []
        seen: set[str] = set()

        def visit(path: str) -> None:
            if path in seen:
                return
            seen.add(path)
            for d in self.deps[canonical(path)][1]:
                visit(d)
            order.append(path)

        for n in names:
            c = canonical(n)
            if c in self.deps:
                visit(self.deps[c][0])
            elif c not in self.builtin:
                raise HarnessError(f"module {n} is neither in {self.dir}/modules.dep nor built in")
        return order

    def read(self, path: str) -> bytes:
        """The plain .ko bytes of a module, decompressed if needed."""
        full = self.dir / path
        data = full.read_bytes()
        if path.endswith(".xz"):
            return lzma.decompress(data)
        if path.endswith(".gz"):
            return gzip.decompress(data)
        if path.endswith(".zst"):
            p = subprocess.run(["zstd", "-dc", str(full)], capture_output=True, check=False)
            if p.returncode != 0:
                raise HarnessError(f"zstd -dc {full}: {p.stderr.decode().strip()}")
            return p.stdout
        return data
