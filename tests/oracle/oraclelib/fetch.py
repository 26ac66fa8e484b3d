"""Fetching the guest kernels and busybox from Debian, without installing them.

Kernels are downloaded with `apt-get download` and unpacked with `dpkg-deb -x`
into the cache; nothing is installed over the host's kernel. The 6.1 kernel is
the host's own `linux-image-amd64` (bookworm, through the host's apt sources);
the 6.12 kernel comes from bookworm-backports through a private sources list and
a private apt state directory, so the host's apt configuration is untouched.
`depmod -b` then writes modules.dep (the package does not ship it; the
maintainer scripts generate it at install time).
"""

from __future__ import annotations

import json
import lzma
import os
import re
import shutil
import struct
import subprocess
from dataclasses import dataclass
from pathlib import Path

from .common import HarnessError, Skip, locked, log, need_tool, run, write_atomic

DEBIAN_KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg"
DEBIAN_MIRROR = os.environ.get("IOVAKIT_ORACLE_MIRROR", "http://deb.debian.org/debian")


@dataclass(frozen=True)
class KernelSource:
    tag: str  # the name scenarios use: "6.1", "6.12"
    suite: str
    private: bool  # True: a private sources list for `suite`; False: the host's apt sources


KERNEL_SOURCES = {
    "6.1": KernelSource("6.1", "bookworm", private=False),
    "6.12": KernelSource("6.12", "bookworm-backports", private=True),
}


@dataclass
class Kernel:
    tag: str
    package: str  # e.g. linux-image-6.1.0-56-amd64
    version: str  # Debian version, e.g. 6.1.192-2
    release: str  # uname -r, e.g. 6.1.0-56-amd64
    root: Path  # unpacked package (boot/, lib/modules/)

    @property
    def vmlinuz(self) -> Path:
        return self.root / "boot" / f"vmlinuz-{self.release}"

    @property
    def modules_dir(self) -> Path:
        return self.root / "lib" / "modules" / self.release

    @property
    def vmlinux(self) -> Path:
        return self.root / "boot" / f"vmlinux-{self.release}"

    def boot_image(self) -> Path:
        """What QEMU boots: the uncompressed ELF when extract_vmlinux made one
        (PVH direct boot), else the bzImage."""
        if os.environ.get("IOVAKIT_ORACLE_BZIMAGE") != "1" and self.vmlinux.exists():
            return self.vmlinux
        return self.vmlinuz


def _apt_options(cache: Path, src: KernelSource) -> list[str]:
    if not src.private:
        return []
    state = cache / "apt" / src.suite
    (state / "lists" / "partial").mkdir(parents=True, exist_ok=True)
    (state / "archives" / "partial").mkdir(parents=True, exist_ok=True)
    sources = state / "sources.list"
    write_atomic(sources, f"deb [signed-by={DEBIAN_KEYRING}] {DEBIAN_MIRROR} {src.suite} main\n")
    return [
        f"-o=Dir::Etc::sourcelist={sources}",
        "-o=Dir::Etc::sourceparts=-",
        f"-o=Dir::State::Lists={state / 'lists'}",
        f"-o=Dir::Cache={state}",
        "-o=Dir::Cache::pkgcache=",
        "-o=Dir::Cache::srcpkgcache=",
        "-o=APT::Get::List-Cleanup=0",
    ]


def _resolve_image_package(opts: list[str], src: KernelSource) -> tuple[str, str]:
    """linux-image-amd64 (the metapackage) -> (the versioned image package, its version)."""
    p = run(["apt-cache", *opts, "depends", "linux-image-amd64"], check=False, timeout=120)
    m = re.search(r"Depends: (linux-image-\S+)", p.stdout)
    if p.returncode != 0 or not m:
        if src.private:
            raise HarnessError(f"apt-cache depends linux-image-amd64 ({src.suite}): {p.stderr.strip()}")
        # The host's package lists may never have been fetched (fresh container).
        log("host apt lists lack linux-image-amd64; running apt-get update")
        run(["apt-get", "update"], timeout=300)
        p = run(["apt-cache", "depends", "linux-image-amd64"], timeout=120)
        m = re.search(r"Depends: (linux-image-\S+)", p.stdout)
        if not m:
            raise HarnessError("apt-cache depends linux-image-amd64 names no linux-image package")
    package = m.group(1)
    pol = run(["apt-cache", *opts, "policy", package], timeout=120)
    v = re.search(r"Candidate: (\S+)", pol.stdout)
    if not v or v.group(1) == "(none)":
        raise HarnessError(f"{package} has no candidate version")
    return package, v.group(1)


def fetch_kernel(cache: Path, tag: str, refresh: bool = True) -> Kernel:
    """Downloads (once) and unpacks the kernel `tag`; raises Skip when impossible.
    With refresh=False a kernel already in the cache is used as is (no network):
    the fixture refreshes, the scenario runs reuse."""
    if tag not in KERNEL_SOURCES:
        raise HarnessError(f"unknown kernel {tag!r}; known: {', '.join(KERNEL_SOURCES)}")
    src = KERNEL_SOURCES[tag]
    need_tool("apt-get", "apt")
    need_tool("dpkg-deb", "dpkg")
    need_tool("depmod", "kmod")
    with locked(cache / "locks" / f"kernel-{tag}"):
        stamp = cache / "kernels" / f"{tag}.json"
        if not refresh and stamp.exists():
            k = _load_stamp(stamp)
            if k.vmlinuz.exists():
                return k
        try:
            opts = _apt_options(cache, src)
            if src.private:
                run(["apt-get", *opts, "update"], timeout=300)
            package, version = _resolve_image_package(opts, src)
        except HarnessError as e:
            if stamp.exists():  # offline: the last good download still works
                log(f"kernel {tag}: {e}; using the cached kernel")
                return _load_stamp(stamp)
            raise Skip(f"kernel {tag} ({src.suite} linux-image-amd64) cannot be fetched: {e}") from e
        if stamp.exists():
            k = _load_stamp(stamp)
            if k.package == package and k.version == version and k.vmlinuz.exists():
                return k
        debs = cache / "debs"
        debs.mkdir(parents=True, exist_ok=True)
        log(f"kernel {tag}: downloading {package} {version}")
        try:
            run(["apt-get", *opts, "download", f"{package}={version}"], cwd=debs, timeout=900)
        except HarnessError as e:
            raise Skip(f"kernel {tag}: apt-get download {package}={version} failed: {e}") from e
        deb = next(iter(sorted(debs.glob(f"{package}_*.deb"), key=lambda p: p.stat().st_mtime, reverse=True)), None)
        if deb is None:
            raise Skip(f"kernel {tag}: apt-get download left no {package}_*.deb in {debs}")
        root = cache / "kernels" / package
        if root.exists():
            shutil.rmtree(root)
        root.mkdir(parents=True)
        run(["dpkg-deb", "-x", str(deb), str(root)], timeout=600)
        releases = [p.name for p in (root / "lib" / "modules").iterdir()]
        if len(releases) != 1:
            raise HarnessError(f"{deb.name}: expected one lib/modules/<release>, found {releases}")
        release = releases[0]
        run(["depmod", "-b", str(root), release], timeout=600)
        k = Kernel(tag, package, version, release, root)
        if not k.vmlinuz.exists():
            raise HarnessError(f"{deb.name} has no {k.vmlinuz.relative_to(root)}")
        write_atomic(stamp, json.dumps({"tag": tag, "package": package, "version": version,
                                         "release": release, "root": str(root)}, indent=1))
        deb.unlink()  # the unpacked tree is what is kept; the .deb is 70-110 MB
        return k


def _load_stamp(stamp: Path) -> Kernel:
    d = json.loads(stamp.read_text())
    return Kernel(d["tag"], d["package"], d["version"], d["release"], Path(d["root"]))


def _is_static(path: Path) -> bool:
    data = path.read_bytes()
    return data[:4] == b"\x7fELF" and b"/lib64/ld-linux" not in data and b"/lib/ld-linux" not in data


def fetch_busybox(cache: Path) -> Path:
    """A statically linked busybox: the host's (busybox-static, installed by
    scripts/setup --oracle) when it is static, else downloaded and unpacked."""
    for candidate in (Path("/bin/busybox"), Path("/usr/bin/busybox")):
        if candidate.exists() and _is_static(candidate):
            return candidate
    out = cache / "busybox" / "busybox"
    with locked(cache / "locks" / "busybox"):
        if out.exists():
            return out
        need_tool("apt-get", "apt")
        d = cache / "busybox"
        d.mkdir(parents=True, exist_ok=True)
        try:
            run(["apt-get", "download", "busybox-static"], cwd=d, timeout=300)
        except HarnessError as e:
            raise Skip(f"busybox-static is neither installed nor downloadable: {e}") from e
        deb = next(d.glob("busybox-static_*.deb"))
        run(["dpkg-deb", "-x", str(deb), str(d / "root")])
        shutil.copy(d / "root" / "bin" / "busybox", out)
        deb.unlink()
        return out


# --- booting without decompression -------------------------------------------------
# TCG spends 2-3 s of CPU per boot decompressing the XZ bzImage of 6.1 (6.12
# uses zstd, faster, still measurable). Both Debian kernels have CONFIG_PVH, so
# QEMU can start the uncompressed ELF at its PVH entry (Xen ELF note 0x12) with
# the same e820 map, ACPI tables, initrd and command line; from start_kernel on
# the boot is the same. IOVAKIT_ORACLE_BZIMAGE=1 boots the bzImage instead.
_PAYLOADS = ((b"\xfd7zXZ\x00", "xz"), (b"\x28\xb5\x2f\xfd", "zstd"), (b"\x1f\x8b\x08", "gzip"))
_PVH_NOTE = 0x12  # XEN_ELFNOTE_PHYS32_ENTRY


def _decompress(data: bytes, kind: str) -> bytes:
    if kind == "xz":
        return lzma.LZMADecompressor().decompress(data)
    if kind == "gzip":
        import zlib
        return zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(data)
    # zstd: the CLI stops with an error at the bytes after the frame (the
    # appended size) but has written the whole frame, as in scripts/extract-vmlinux.
    return subprocess.run(["zstd", "-dc"], input=data, capture_output=True, check=False).stdout


def _elf_with_pvh_note(elf: bytes) -> bool:
    if len(elf) < 64 or elf[:4] != b"\x7fELF" or elf[4] != 2:
        return False
    phoff, = struct.unpack_from("<Q", elf, 32)
    phentsize, phnum = struct.unpack_from("<HH", elf, 54)
    for i in range(phnum):
        off = phoff + i * phentsize
        if off + 56 > len(elf):
            return False
        p_type, _, p_offset, _, _, p_filesz = struct.unpack_from("<IIQQQQ", elf, off)
        if p_offset + p_filesz > len(elf):
            return False
        if p_type != 4:  # PT_NOTE
            continue
        pos, end = p_offset, p_offset + p_filesz
        while pos + 12 <= end:
            namesz, descsz, ntype = struct.unpack_from("<III", elf, pos)
            name = elf[pos + 12:pos + 12 + namesz].rstrip(b"\0")
            if name == b"Xen" and ntype == _PVH_NOTE:
                return True
            pos += 12 + (namesz + 3) // 4 * 4 + (descsz + 3) // 4 * 4
    return False


def extract_vmlinux(k: Kernel) -> Path | None:
    """Writes k.vmlinux from the bzImage payload; None (bzImage boot) when that fails."""
    if k.vmlinux.exists():
        return k.vmlinux
    data = k.vmlinuz.read_bytes()
    for magic, kind in _PAYLOADS:
        start = 0
        for _ in range(4):  # the first hit is normally the payload; try a few
            i = data.find(magic, start)
            if i < 0:
                break
            start = i + 1
            try:
                elf = _decompress(data[i:], kind)
            except (lzma.LZMAError, OSError, ValueError):
                continue
            if _elf_with_pvh_note(elf):
                write_atomic(k.vmlinux, elf)
                return k.vmlinux
    log(f"kernel {k.tag}: no PVH-capable ELF inside {k.vmlinuz.name}; booting the bzImage")
    return None
