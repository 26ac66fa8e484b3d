"""Scenario files: tests/oracle/scenarios/<name>.toml (schema in docs/oracle.md).

A scenario declares a machine (devices, IOMMU, e820 reservations), the RMRRs
to inject, the VFIO probe steps, the kernels it runs on, and its expectations.
Unknown keys are errors, so that a typo cannot silently disable a check.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from .common import SCENARIO_DIR, HarnessError
from .fetch import KERNEL_SOURCES

DEFAULT_MODULES = ["vfio_pci", "vfio_iommu_type1"]

CHECK_KEYS = {
    "group": {"member", "after_probe", "devices", "reserved_regions", "type"},
    "groups": {"count"},
    "steps": {"results"},
    "kmsg": {"step", "occurrence", "lines"},
    "info": {"occurrence", "argsz", "copied", "caps", "iova_ranges", "dma_avail", "pgsizes", "migration"},
    "dmesg": {"lines", "prefix", "prefix_lines", "absent"},
}
COMMON_CHECK_KEYS = {"check", "kernels", "cite", "note", "source"}
SOURCES = ("reference", "iovakit", "both")
STEP_VERBS = {"bind", "group", "unset", "device", "iommu", "info", "map", "unmap", "write"}
MACHINE_KEYS = {"iommu", "iommu_options", "devices", "memory", "memmap", "append", "modules", "optional_modules",
                "module_args"}
RMRR_KEYS = {"base", "end", "scopes", "segment", "reserved", "comment"}
SCOPE_KEYS = {"type", "bus", "path", "enumeration_id"}
TOP_KEYS = {"summary", "proves", "kernels", "include", "machine", "rmrr", "dmar", "probe", "expect_reference",
            "expect_source", "iovakit"}
DMAR_KEYS = {"drop_drhd_scopes"}


@dataclass
class Scenario:
    name: str
    path: Path
    summary: str
    proves: str
    kernels: list[str]
    machine: dict
    rmrrs: list[dict]
    drop_drhd_scopes: list[dict]
    steps: list[str]
    expect_reference: list[dict]
    expect_source: dict[str, str] = field(default_factory=dict)
    iovakit: list[str] = field(default_factory=list)

    def applies(self, check: dict, kernel: str) -> bool:
        return kernel in check.get("kernels", self.kernels)


def _unknown(where: str, got: dict, allowed: set[str]) -> None:
    extra = set(got) - allowed
    if extra:
        raise HarnessError(f"{where}: unknown key(s) {', '.join(sorted(extra))}")


def _check_entry(where: str, e: dict) -> None:
    kind = e.get("check")
    if kind not in CHECK_KEYS:
        raise HarnessError(f"{where}: check = {kind!r}; one of {', '.join(CHECK_KEYS)}")
    _unknown(f"{where} ({kind})", e, CHECK_KEYS[kind] | COMMON_CHECK_KEYS)
    if "cite" not in e:
        raise HarnessError(f"{where} ({kind}): every expectation cites its source (cite = ...)")
    for k in e.get("kernels", []):
        if k not in KERNEL_SOURCES:
            raise HarnessError(f"{where}: unknown kernel {k!r}")
    if e.get("source", "reference") not in SOURCES:
        raise HarnessError(f"{where}: source must be one of {', '.join(SOURCES)}")


def load(name_or_path: str) -> Scenario:
    path = Path(name_or_path)
    if not path.suffix:
        path = SCENARIO_DIR / f"{name_or_path}.toml"
    if not path.exists():
        raise HarnessError(f"no scenario {name_or_path} ({path})")
    with open(path, "rb") as f:
        d = tomllib.load(f)
    where = path.name
    _unknown(where, d, TOP_KEYS)
    machine = d.get("machine", {})
    _unknown(f"{where} [machine]", machine, MACHINE_KEYS)
    machine.setdefault("iommu", "intel")
    if machine["iommu"] not in ("intel", "virtio"):
        raise HarnessError(f"{where}: machine.iommu must be intel or virtio")
    machine.setdefault("modules", DEFAULT_MODULES)
    machine.setdefault("optional_modules", [])  # loaded where the kernel has them (virtio_iommu: 6.12, not 6.1)
    rmrrs = d.get("rmrr", [])
    for i, r in enumerate(rmrrs):
        _unknown(f"{where} [[rmrr]] #{i + 1}", r, RMRR_KEYS)
        for s in r.get("scopes", []):
            _unknown(f"{where} [[rmrr]] #{i + 1} scope", s, SCOPE_KEYS)
    dmar_edits = d.get("dmar", {})
    _unknown(f"{where} [dmar]", dmar_edits, DMAR_KEYS)
    for sc in dmar_edits.get("drop_drhd_scopes", []):
        _unknown(f"{where} [dmar] drop_drhd_scopes", sc, SCOPE_KEYS)
    if (rmrrs or dmar_edits) and machine["iommu"] != "intel":
        raise HarnessError(f"{where}: RMRRs and DMAR edits need machine.iommu = intel")
    expect = list(d.get("expect_reference", []))
    for inc in d.get("include", []):
        inc_path = SCENARIO_DIR / "common" / f"{inc}.toml"
        with open(inc_path, "rb") as f:
            di = tomllib.load(f)
        _unknown(inc_path.name, di, {"expect_reference"})
        expect = list(di.get("expect_reference", [])) + expect
    for i, e in enumerate(expect):
        _check_entry(f"{where} [[expect_reference]] #{i + 1}", e)
    kernels = d.get("kernels", list(KERNEL_SOURCES))
    for k in kernels:
        if k not in KERNEL_SOURCES:
            raise HarnessError(f"{where}: unknown kernel {k!r}")
    probe = d.get("probe", {})
    _unknown(f"{where} [probe]", probe, {"steps"})
    for step in probe.get("steps", []):
        if step.split("=", 1)[0] not in STEP_VERBS:
            raise HarnessError(f"{where}: probe step {step!r}; verbs are {', '.join(sorted(STEP_VERBS))}")
    for kind, src in d.get("expect_source", {}).items():
        if kind not in CHECK_KEYS or src not in SOURCES:
            raise HarnessError(f"{where} [expect_source]: {kind} = {src!r}")
    return Scenario(
        name=path.stem,
        path=path,
        summary=d.get("summary", ""),
        proves=d.get("proves", ""),
        kernels=kernels,
        machine=machine,
        rmrrs=rmrrs,
        drop_drhd_scopes=list(dmar_edits.get("drop_drhd_scopes", [])),
        steps=list(probe.get("steps", [])),
        expect_reference=expect,
        expect_source=dict(d.get("expect_source", {})),
        iovakit=list(d.get("iovakit", [])),
    )


def all_scenarios() -> list[Scenario]:
    return [load(str(p)) for p in sorted(SCENARIO_DIR.glob("*.toml"))]
