"""QEMU command lines and bounded runs.

Every guest is `qemu-system-x86_64 -machine q35 -accel tcg` with no default
devices, the scenario's IOMMU (`intel-iommu,intremap=on,caching-mode=on`, or
`virtio-iommu-pci`) and its devices. Two serial ports: ttyS0 is the console
(kernel log and stage marks), ttyS1 carries the guest's results. Each run is
bounded by a timeout; the caller decides about retries (run.py).
"""

from __future__ import annotations

import base64
import re
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from .common import HarnessError, need_tool

QEMU = "qemu-system-x86_64"
INTEL_IOMMU = "intel-iommu,intremap=on,caching-mode=on"

# Lines that mean the guest kernel crashed (printk text, arch/x86 and kernel/panic.c).
CRASH_RE = re.compile(r"Kernel panic - not syncing|BUG: |Oops: |general protection fault|watchdog: BUG: soft lockup")
STAGE_RE = re.compile(r"oracle: stage (\S+)")


def qemu_version() -> str:
    need_tool(QEMU, "qemu-system-x86")
    p = subprocess.run([QEMU, "--version"], capture_output=True, text=True, check=False)
    return p.stdout.splitlines()[0] if p.stdout else "unknown"


def machine_args(machine: dict) -> list[str]:
    """The machine part of the command line: everything that shapes ACPI tables
    and PCI topology (so also the key of the cached DMAR dump)."""
    args = ["-machine", "q35", "-accel", "tcg", "-m", str(machine.get("memory", "512M")), "-smp", "1",
            "-nodefaults", "-display", "none", "-no-reboot"]
    if machine["iommu"] == "intel":
        opts = machine.get("iommu_options", "")
        args += ["-device", INTEL_IOMMU + ("," + opts if opts else "")]
    else:
        args += ["-device", "virtio-iommu-pci" + ("," + machine["iommu_options"] if machine.get("iommu_options") else "")]
    for dev in machine.get("devices", []):
        args += ["-device", dev]
    return args


def kernel_cmdline(machine: dict, extra: list[str] | None = None) -> str:
    # no_timer_check: under a loaded TCG host the boot-time check that the timer
    # interrupt arrives through the remapped IO-APIC can time out and panic
    # ("timer doesn't work through Interrupt-remapped IO-APIC"); it tests the
    # emulator's speed, not IOMMU behaviour.
    words = ["console=ttyS0", "panic=-1", "printk.devkmsg=on", "no_timer_check"]
    if machine["iommu"] == "intel":
        words.append("intel_iommu=on")  # Debian: CONFIG_INTEL_IOMMU_DEFAULT_ON is not set
    words += [f"memmap={m}" for m in machine.get("memmap", [])]
    words += machine.get("append", [])
    words += extra or []
    return " ".join(words)


@dataclass
class Boot:
    console: str
    results: str
    qemu_stderr: str
    returncode: int | None  # None: killed at the timeout
    seconds: float
    argv: list[str]

    @property
    def timed_out(self) -> bool:
        return self.returncode is None

    def crash(self) -> str | None:
        m = CRASH_RE.search(self.console)
        return m.group(0) if m else None

    def stage(self) -> str:
        stages = STAGE_RE.findall(self.console)
        return stages[-1] if stages else "boot"

    def payload(self) -> bytes | None:
        """The base64 block the guest framed on ttyS1, decoded; None if incomplete."""
        text = self.results.replace("\r", "")
        m = re.search(r"ORACLE-RESULT-BEGIN\n(.*?)ORACLE-RESULT-END", text, re.S)
        if not m:
            return None
        try:
            return base64.b64decode(m.group(1))
        except ValueError:
            return None


def boot(machine: dict, kernel_image: Path, initrd: Path, cmdline: str, run_dir: Path, timeout: float) -> Boot:
    need_tool(QEMU, "qemu-system-x86")
    run_dir.mkdir(parents=True, exist_ok=True)
    console, results = run_dir / "console.log", run_dir / "ttyS1.txt"
    for p in (console, results):
        p.unlink(missing_ok=True)
    if "," in str(run_dir):
        raise HarnessError(f"{run_dir}: a comma would break -serial file:")
    argv = [QEMU, *machine_args(machine), "-kernel", str(kernel_image), "-initrd", str(initrd), "-append", cmdline,
            "-serial", f"file:{console}", "-serial", f"file:{results}"]
    (run_dir / "qemu.cmd").write_text(" ".join(_quote(a) for a in argv) + "\n")
    start = time.monotonic()
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        out, _ = p.communicate(timeout=timeout)
        rc: int | None = p.returncode
    except subprocess.TimeoutExpired:
        p.kill()
        out, _ = p.communicate()
        rc = None
    seconds = time.monotonic() - start
    return Boot(_read(console), _read(results), out or "", rc, seconds, argv)


def _read(path: Path) -> str:
    return path.read_text(errors="replace") if path.exists() else ""


def _quote(a: str) -> str:
    return a if re.fullmatch(r"[\w@%+=:,./-]+", a) else "'" + a.replace("'", "'\\''") + "'"
