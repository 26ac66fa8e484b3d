"""The guest's initramfs, in three concatenated archives (the kernel unpacks
them in order, compressed or not):

  1. acpi.cpio   uncompressed, only with injected RMRRs: the DMAR override,
                 which must come first (lib/earlycpio.c scans from the start)
  2. run.cpio    uncompressed, per run: /oracle/config and any extra module a
                 scenario asks for
  3. base.cpio.gz  per kernel, built once by the fixture: busybox, /init, the
                 VFIO probe, the static iovakit when present, and the modules
                 every scenario may load (vfio-pci, vfio_iommu_type1 and their
                 dependencies from modules.dep; virtio_iommu where it exists)
"""

from __future__ import annotations

import gzip
import hashlib
import json
import shlex
from pathlib import Path

from .common import ORACLE_DIR, Skip, locked, log, need_tool, run, write_atomic
from .cpio import CpioWriter
from .fetch import Kernel
from .modules import ModuleIndex, canonical

BASE_MODULES = ["vfio_pci", "vfio_iommu_type1"]
OPTIONAL_BASE_MODULES = ["virtio_iommu"]  # 6.12 has it as a module; 6.1 does not have it at all
LAYOUT_VERSION = 2  # bump when the image layout changes, so cached images are rebuilt
PROBE_SOURCE = ORACLE_DIR / "probe" / "vfio_probe.c"
INIT_SCRIPT = ORACLE_DIR / "guest" / "init"


def build_probe(work: Path) -> Path:
    """The VFIO probe, compiled statically with the host's gcc and glibc."""
    cc = need_tool("cc", "build-essential")
    out = work / "bin" / "vfio_probe"
    src = PROBE_SOURCE.read_bytes()
    stamp = out.with_suffix(".sha256")
    digest = hashlib.sha256(src).hexdigest()
    with locked(work / "locks" / "probe"):
        if out.exists() and stamp.exists() and stamp.read_text() == digest:
            return out
        out.parent.mkdir(parents=True, exist_ok=True)
        if not Path("/usr/lib/x86_64-linux-gnu/libc.a").exists():
            raise Skip("no static glibc (libc.a, Debian package libc6-dev) for the VFIO probe")
        run([cc, "-std=c11", "-Wall", "-Wextra", "-Werror", "-O2", "-static", "-o", str(out), str(PROBE_SOURCE)])
        stamp.write_text(digest)
        return out


def _module_set(idx: ModuleIndex, names: list[str]) -> list[str]:
    return idx.resolve([n for n in names if idx.has(n)])


def base_image(work: Path, kernel: Kernel, busybox: Path, probe: Path, iovakit: Path | None) -> Path:
    idx = ModuleIndex(kernel.modules_dir)
    mods = _module_set(idx, BASE_MODULES + OPTIONAL_BASE_MODULES)
    inputs = [busybox, probe, INIT_SCRIPT] + ([iovakit] if iovakit else [])
    h = hashlib.sha256(json.dumps([LAYOUT_VERSION, kernel.package, kernel.version, mods]).encode())
    for p in inputs:
        h.update(p.read_bytes())
    digest = h.hexdigest()
    out = work / "initramfs" / kernel.tag / "base.cpio.gz"
    stamp = out.with_suffix(".json")
    with locked(work / "locks" / f"initramfs-{kernel.tag}"):
        if out.exists() and stamp.exists() and json.loads(stamp.read_text()).get("digest") == digest:
            return out
        w = CpioWriter()
        for d in ("bin", "dev", "proc", "sys", "tmp", "oracle", "lib/modules"):
            w.add_dir(d)
        w.add_chardev("dev/console", 5, 1)
        w.add_file("init", INIT_SCRIPT.read_bytes(), 0o755)
        w.add_file("bin/busybox", busybox.read_bytes(), 0o755)
        w.add_file("bin/vfio_probe", probe.read_bytes(), 0o755)
        if iovakit:
            w.add_file("bin/iovakit", iovakit.read_bytes(), 0o755)
        for m in mods:
            w.add_file(f"lib/modules/{canonical(m)}.ko", idx.read(m))
        write_atomic(out, gzip.compress(w.finish(), compresslevel=6, mtime=0))
        write_atomic(stamp, json.dumps({"digest": digest, "kernel": kernel.package, "modules": mods,
                                        "iovakit": str(iovakit) if iovakit else None}, indent=1))
        log(f"initramfs {kernel.tag}: {out} ({out.stat().st_size // 1024} KiB, {len(mods)} modules)")
        return out


def base_modules(work: Path, kernel: Kernel) -> set[str]:
    stamp = work / "initramfs" / kernel.tag / "base.cpio.json"
    return {canonical(m) for m in json.loads(stamp.read_text())["modules"]}


def run_archive(kernel: Kernel, in_base: set[str], config: dict[str, str], modules: list[str],
                module_args: dict[str, str]) -> tuple[bytes, list[str]]:
    """The per-run cpio: /oracle/config (shell assignments) plus any module the
    base image lacks. Returns the archive and the load order (file names)."""
    idx = ModuleIndex(kernel.modules_dir)
    order = idx.resolve(modules)
    w = CpioWriter()
    for m in order:
        if canonical(m) not in in_base:
            w.add_file(f"lib/modules/{canonical(m)}.ko", idx.read(m))
    files = [f"{canonical(m)}.ko" for m in order]
    lines = {**config, "ORACLE_MODULES": " ".join(files)}
    for name, args in module_args.items():
        if canonical(name) in {canonical(m) for m in order}:
            lines[f"ORACLE_ARGS_{canonical(name)}"] = args
    text = "".join(f"{k}={shlex.quote(v)}\n" for k, v in lines.items())
    w.add_file("oracle/config", text.encode())
    return w.finish(), files


def assemble(out: Path, parts: list[bytes | Path]) -> Path:
    """Concatenates archives, each padded with zeros to 512 bytes: the kernel's
    unpacker (init/initramfs.c unpack_to_rootfs) skips zeros between archives
    but only recognises an uncompressed cpio at a 4-byte aligned offset."""
    data = bytearray()
    for p in parts:
        data += p.read_bytes() if isinstance(p, Path) else p
        data += b"\0" * (-len(data) % 512)
    write_atomic(out, bytes(data))
    return out
