"""Reading what the guest sent back: the kernel's truth, as plain facts.

The guest ships /out as a tar (guest/init); this module turns it into a Facts
object: groups with their devices, default domain type and exact
reserved_regions bytes; IOMMU unit registers; PCI identity and config space;
ACPI tables; dmesg; module loads; and the probe transcript cut into steps.
"""

from __future__ import annotations

import io
import re
import tarfile
from dataclasses import dataclass, field
from pathlib import Path

from .common import HarnessError

TIMESTAMP_RE = re.compile(r"^\[\s*\d+\.\d+\] ")
# Which line of a probe step carries its result: e.g. a group= step prints
# group_status, container and attach lines; the attach line is the outcome.
MAIN_LINE = {"bind": "bind", "group": "attach", "unset": "unset", "device": "device", "iommu": "set_iommu",
             "info": "info", "map": "map", "unmap": "unmap", "write": "write"}
# Fields that are part of a step's outcome besides its errno.
OUTCOME_FIELDS = {"bind": ["driver"], "unmap": ["unmapped"]}


@dataclass
class ProbeLine:
    op: str
    fields: dict[str, str]

    @property
    def errno(self) -> str | None:
        return self.fields.get("errno")


@dataclass
class Step:
    index: int
    arg: str  # the step exactly as given, e.g. "map=0xfee00000,0x1000"
    lines: list[ProbeLine] = field(default_factory=list)

    @property
    def verb(self) -> str:
        return self.arg.split("=", 1)[0]

    def main(self) -> ProbeLine | None:
        want = MAIN_LINE.get(self.verb)
        for ln in self.lines:
            if ln.op == want and ln.errno is not None:
                return ln  # the first: for info, call 1 decides whether the protocol works
        failed = [ln for ln in self.lines if ln.errno not in (None, "0")]
        return failed[-1] if failed else None

    def outcome(self) -> str:
        """'0', 'EINVAL', '0 unmapped=0x1000' ... (what a steps expectation names)."""
        m = self.main()
        if m is None:
            return "NO-RESULT"
        words = [m.errno or "?"] + [f"{k}={m.fields[k]}" for k in OUTCOME_FIELDS.get(self.verb, []) if k in m.fields]
        return " ".join(words)

    def kmsg(self) -> list[str]:
        return [ln.fields["msg"] for ln in self.lines if ln.op == "kmsg"]

    def info_calls(self) -> list[ProbeLine]:
        return [ln for ln in self.lines if ln.op == "info"]


@dataclass
class Facts:
    release: str = ""
    version: str = ""
    cmdline: str = ""
    groups: dict[int, dict] = field(default_factory=dict)  # number -> devices, type, reserved_regions
    groups_after: dict[int, dict] = field(default_factory=dict)  # the same, read again after the probe
    pci: dict[str, dict] = field(default_factory=dict)  # bdf -> vendor, device, class, config, driver, group
    iommu: dict[str, dict[str, str]] = field(default_factory=dict)
    acpi: dict[str, bytes] = field(default_factory=dict)
    dmesg: list[str] = field(default_factory=list)  # timestamps stripped
    modules: list[str] = field(default_factory=list)
    probe_rc: int | None = None
    probe_text: str = ""
    steps: list[Step] = field(default_factory=list)
    iovakit: dict[str, dict] = field(default_factory=dict)  # name -> out, err, rc

    def group_of(self, bdf: str, after: bool = False) -> int | None:
        for n, g in (self.groups_after if after else self.groups).items():
            if bdf in g["devices"]:
                return n
        return None


def extract(payload: bytes, dest: Path) -> None:
    with tarfile.open(fileobj=io.BytesIO(payload), mode="r:gz") as t:
        t.extractall(dest, filter="tar")


def _text(p: Path) -> str:
    return p.read_text(errors="replace") if p.exists() else ""


def parse_probe(text: str) -> list[Step]:
    steps: list[Step] = []
    for raw in text.splitlines():
        if not raw.startswith("PROBE "):
            continue
        rest = raw[len("PROBE "):]
        op, _, tail = rest.partition(" ")
        if op == "kmsg":
            head, _, msg = tail.partition(" msg=")
            fields = dict(kv.split("=", 1) for kv in head.split() if "=" in kv)
            fields["msg"] = msg
        else:
            fields = dict(kv.split("=", 1) for kv in tail.split() if "=" in kv)
        line = ProbeLine(op, fields)
        if op == "step":
            steps.append(Step(int(fields["index"]), tail.partition("arg=")[2]))
        elif steps:
            steps[-1].lines.append(line)
    return steps


def _groups(gdir: Path) -> dict[int, dict]:
    out: dict[int, dict] = {}
    if gdir.exists():
        for g in sorted(gdir.iterdir(), key=lambda p: int(p.name)):
            out[int(g.name)] = {
                "devices": sorted(_text(g / "devices").split()),
                "type": _text(g / "type").strip(),
                "reserved_regions": _text(g / "reserved_regions"),
            }
    return out


def parse(guest_dir: Path) -> Facts:
    if not (guest_dir / "kernel" / "release").exists():
        raise HarnessError(f"{guest_dir}: the guest sent no kernel/release")
    f = Facts()
    f.release = _text(guest_dir / "kernel" / "release").strip()
    f.version = _text(guest_dir / "kernel" / "version").strip()
    f.cmdline = _text(guest_dir / "kernel" / "cmdline").strip()
    f.groups = _groups(guest_dir / "groups")
    f.groups_after = _groups(guest_dir / "groups-after")
    pdir = guest_dir / "pci"
    if pdir.exists():
        for d in sorted(pdir.iterdir()):
            cfg = d / "config"
            f.pci[d.name] = {
                "vendor": _text(d / "vendor").strip(),
                "device": _text(d / "device").strip(),
                "class": _text(d / "class").strip(),
                "revision": _text(d / "revision").strip(),
                "config": cfg.read_bytes() if cfg.exists() else b"",
                "driver": _text(d / "driver").strip() or None,
                "group": _text(d / "iommu_group").strip() or None,
            }
    idir = guest_dir / "iommu"
    if idir.exists():
        for u in sorted(idir.iterdir()):
            f.iommu[u.name] = {str(p.relative_to(u)): _text(p).strip() for p in sorted(u.rglob("*")) if p.is_file()}
    adir = guest_dir / "acpi"
    if adir.exists():
        f.acpi = {p.name: p.read_bytes() for p in adir.iterdir()}
    f.dmesg = [TIMESTAMP_RE.sub("", ln) for ln in _text(guest_dir / "dmesg.txt").splitlines()]
    f.modules = _text(guest_dir / "modules.txt").splitlines()
    rc = _text(guest_dir / "probe.rc").strip()
    f.probe_rc = int(rc) if rc.lstrip("-").isdigit() else None
    f.probe_text = _text(guest_dir / "probe.txt")
    f.steps = parse_probe(f.probe_text)
    vdir = guest_dir / "iovakit"
    if vdir.exists():
        for out in sorted(vdir.glob("*.out")):
            name = out.stem
            rc_text = _text(vdir / f"{name}.rc").strip()
            f.iovakit[name] = {"out": _text(out), "err": _text(vdir / f"{name}.err"),
                               "rc": int(rc_text) if rc_text.lstrip("-").isdigit() else None}
    return f
