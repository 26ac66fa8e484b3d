"""Comparing the kernel's truth with an expectation.

Every check has a kind (group, groups, steps, kmsg, info, dmesg), a key (which
group, which probe step ...) and one or more fields. The observed value always
comes from the guest (guest.Facts). The expected value comes from a *source*:

  reference  the scenario's [[expect_reference]] entries: results derived by
             hand from shared/reference/linux-iommu-semantics.md (each cites
             its section and the kernel function)
  iovakit    iovakit's own prediction (IovakitSource below). Until the kernel
             model exists it predicts nothing, and a check switched to it FAILS
             with "no iovakit prediction" instead of passing.

Which source applies is chosen per check (an entry's `source = "iovakit"`), per
kind for a scenario ([expect_source] kind = "reference" | "iovakit" | "both"),
or for a whole run (--expect), so the reference can be replaced by predictions
one check at a time.

Coverage is a check too: every group the kernel created and every probe step
that can fail must be covered by an expectation, so a scenario cannot pass by
saying nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from .guest import Facts, Step
from .scenario import Scenario

SOURCES = ("reference", "iovakit", "both", "auto")
# What `iovakit predict --json` predicts. Under "auto" (the default) these
# kinds are checked against both sources when iovakit ran in the guest; dmesg
# lines stay reference-only (iovakit does not predict the whole boot log).
IOVAKIT_KINDS = {"group", "groups", "steps", "kmsg", "info"}
# Probe steps that must carry an explicit expectation; the others default to success.
MUST_EXPECT = {"group", "unset", "iommu", "map", "unmap"}
SENTINEL = 0xAA


@dataclass
class Outcome:
    kind: str
    key: str
    source: str
    ok: bool
    expected: object = None
    observed: object = None
    cite: str = ""
    note: str = ""

    def line(self) -> str:
        status = "PASS" if self.ok else "FAIL"
        return f"{status} {self.kind:<8} {self.key} [{self.source}]"


@dataclass
class Context:
    """What the harness knows besides the guest's facts."""
    kernel_tag: str
    kernel_release: str
    dmar_aml: bytes | None = None  # the override the guest should have used
    iovakit_in_guest: bool = False
    notes: list[str] = field(default_factory=list)


class IovakitSource:
    """Expected values predicted by iovakit.

    The guest runs the commands configured as ORACLE_IOVAKIT; one named
    "predict" is read here. Its JSON (schema "iovakit.oracle/1", see
    docs/oracle.md) maps onto the checks:
      {"schema": "iovakit.oracle/1",
       "groups": [{"devices": [...], "reserved_regions": ["0x... 0x... type", ...], "type": "DMA"}],
       "groups_count": N,
       "steps": {"group=0000:00:02.0": "EPERM", "map=0x100000,0x1000": "0", ...},
       "info": {"iova_ranges": [["0x0", "0xfedfffff"], ...], "caps": [[24, 2, 1, 56], ...], ...}}
    Anything it does not predict stays None and the check fails when switched to iovakit.
    """

    def __init__(self, facts: Facts) -> None:
        self.pred: dict = {}
        self.error = ""
        run = facts.iovakit.get("predict")  # iovakit predict --json (schema iovakit.predict/1)
        if run is None:
            self.error = "iovakit was not asked to predict (no 'predict' command in the guest)"
            return
        try:
            self.pred = json.loads(run["out"])
        except ValueError as e:
            self.error = f"iovakit predict output is not JSON: {e}"

    def expect(self, kind: str, key: str, fld: str):
        p = self.pred
        if kind == "group":
            member = key.removesuffix(" (after the probe)")
            for g in p.get("groups", []):
                if member in g.get("devices", []):
                    return g.get(fld)
            return None
        if kind == "kmsg":
            return p.get("kmsg", {}).get(key)
        if kind == "groups":
            return p.get("groups_count")
        if kind == "steps":
            return p.get("steps", {}).get(key)
        if kind == "info":
            n = int(key.split("(#")[1].rstrip(")")) if "(#" in key else 1
            infos = p.get("infos", [p.get("info", {})])
            return infos[n - 1].get(fld) if len(infos) >= n else None
        return None


def _lines_text(lines: list[str]) -> str:
    return "".join(ln + "\n" for ln in lines)


def _int(v) -> int:
    return int(v, 0) if isinstance(v, str) else int(v)


def _occurrence(steps: list[Step], arg: str, n: int) -> Step | None:
    hits = [s for s in steps if s.arg == arg]
    return hits[n - 1] if len(hits) >= n else None


def _outcome_matches(expected: str, observed: str) -> bool:
    """'EINVAL' matches 'EINVAL'; '0 unmapped=0x1000' needs both words."""
    e, o = expected.split(), observed.split()
    return bool(e) and bool(o) and e[0] == o[0] and all(w in o[1:] for w in e[1:])


def _copied(hexbytes: str) -> int:
    """How many leading bytes of a sentinel-filled buffer the kernel wrote."""
    b = bytes.fromhex(hexbytes)
    n = len(b)
    while n > 0 and b[n - 1] == SENTINEL:
        n -= 1
    return n


def observe_info(step: Step | None) -> dict:
    if step is None:
        return {}
    calls = step.info_calls()
    hexes = [ln.fields.get("bytes", "") for ln in step.lines if ln.op == "hex"]
    caps = [[int(ln.fields["off"]), int(ln.fields["id"]), int(ln.fields["version"]), int(ln.fields["next"])]
            for ln in step.lines if ln.op == "cap" and "id" in ln.fields]
    ranges = [[int(ln.fields["start"], 16), int(ln.fields["end"], 16)] for ln in step.lines if ln.op == "iova_range"]
    avail = [int(ln.fields["avail"]) for ln in step.lines if ln.op == "cap" and ln.fields.get("name") == "dma_avail"]
    mig = [ln.fields for ln in step.lines if ln.op == "cap" and ln.fields.get("name") == "migration"]
    return {
        "argsz": [int(c.fields["argsz"]) for c in calls],
        "copied": [_copied(h) for h in hexes[:2]],
        "caps": caps,
        "iova_ranges": ranges,
        "dma_avail": avail[0] if avail else None,
        "pgsizes": int(calls[0].fields["pgsizes"], 16) if calls else None,
        "migration": {k: int(mig[0][k], 16) for k in ("pgsize_bitmap", "max_dirty_bitmap_size")} if mig else None,
    }


def _normalize_info(fld: str, v):
    if v is None:
        return None
    if fld == "iova_ranges":
        return [[_int(a), _int(b)] for a, b in v]
    if fld == "pgsizes":
        return _int(v)
    if fld == "migration":
        return {k: _int(x) for k, x in v.items()}
    return v


class Checker:
    def __init__(self, scn: Scenario, facts: Facts, ctx: Context, override: str | None = None) -> None:
        self.scn, self.f, self.ctx = scn, facts, ctx
        self.override = override
        self.iovakit = IovakitSource(facts)
        self.out: list[Outcome] = []
        self.covered_steps: set[int] = set()
        self.entry: dict = {}  # the expectation being checked

    def sources(self, kind: str) -> list[str]:
        """--expect, else the entry's own `source`, else [expect_source] for the kind, else "auto": both for
        the kinds iovakit predicts when it ran in the guest, reference otherwise."""
        s = self.override if self.override not in (None, "auto") else None
        s = s or self.entry.get("source") or self.scn.expect_source.get(kind, "auto")
        if s == "auto":
            s = "both" if self.ctx.iovakit_in_guest and kind in IOVAKIT_KINDS else "reference"
        if s == "both" and kind not in IOVAKIT_KINDS:
            s = "reference"
        return ["reference", "iovakit"] if s == "both" else [s]

    def compare(self, kind: str, key: str, fld: str, ref, observed, cite: str, eq=None, note: str = "") -> None:
        eq = eq or (lambda a, b: a == b)
        for src in self.sources(kind):
            exp = ref if src == "reference" else self.iovakit.expect(kind, key, fld)
            if src == "iovakit" and exp is None:
                self.out.append(Outcome(kind, f"{key} {fld}", src, False, None, observed, cite,
                                        self.iovakit.error or "no iovakit prediction for this check"))
                continue
            if kind == "info":
                exp = _normalize_info(fld, exp)
            self.out.append(Outcome(kind, f"{key} {fld}".strip(), src, observed is not None and eq(exp, observed),
                                    exp, observed, cite, note))

    # --- one method per check kind -------------------------------------------------
    def check_group(self, e: dict) -> None:
        member = e["member"]
        after = e.get("after_probe", False)
        n = self.f.group_of(member, after)
        g = (self.f.groups_after if after else self.f.groups).get(n) if n is not None else None
        key = f"{member} (after the probe)" if after else member
        if "devices" in e:
            self.compare("group", key, "devices", sorted(e["devices"]), g["devices"] if g else None, e["cite"])
        if "reserved_regions" in e:
            exp = e["reserved_regions"]
            if isinstance(exp, list):
                exp = _lines_text(exp)
            self.compare("group", key, "reserved_regions", exp, g["reserved_regions"] if g else None, e["cite"],
                         eq=lambda a, b: (_lines_text(a) if isinstance(a, list) else a) == b)
        if "type" in e:
            self.compare("group", key, "type", e["type"], g["type"] if g else None, e["cite"])

    def check_groups(self, e: dict) -> None:
        self.compare("groups", "all", "count", e["count"], len(self.f.groups), e["cite"])

    def check_steps(self, e: dict) -> None:
        seen: dict[str, int] = {}
        for item in e["results"]:
            arg, sep, want = item.partition("->")
            arg, want = arg.strip(), want.strip()
            if not sep or not want:
                raise ValueError(f"steps entry {item!r}: expected 'STEP -> OUTCOME'")
            seen[arg] = seen.get(arg, 0) + 1
            step = _occurrence(self.f.steps, arg, seen[arg])
            key = arg if seen[arg] == 1 else f"{arg} (#{seen[arg]})"
            self.compare("steps", key, "", want, step.outcome() if step else None, e["cite"],
                         eq=lambda a, b: _outcome_matches(a, b))
            if step:
                self.covered_steps.add(id(step))

    def check_kmsg(self, e: dict) -> None:
        step = _occurrence(self.f.steps, e["step"], e.get("occurrence", 1))
        got = step.kmsg() if step else None
        self.compare("kmsg", e["step"], "", e["lines"], got, e["cite"],
                     eq=lambda a, b: all(ln in b for ln in a))

    def check_info(self, e: dict) -> None:
        n = e.get("occurrence", 1)
        infos = [s for s in self.f.steps if s.verb == "info"]
        obs = observe_info(infos[n - 1] if len(infos) >= n else None)
        key = "get_info" if n == 1 else f"get_info (#{n})"
        for fld in ("argsz", "copied", "caps", "iova_ranges", "dma_avail", "pgsizes", "migration"):
            if fld in e:
                self.compare("info", key, fld, _normalize_info(fld, e[fld]), obs.get(fld), e["cite"])

    def check_dmesg(self, e: dict) -> None:
        d = self.f.dmesg
        for ln in e.get("lines", []):
            self.compare("dmesg", "line", "", ln, ln if ln in d else None, e["cite"], note="must appear in dmesg")
        if "prefix" in e:
            got = [ln for ln in d if ln.startswith(e["prefix"])]
            self.compare("dmesg", f"lines starting {e['prefix']!r}", "", e.get("prefix_lines", []), got, e["cite"])
        for sub in e.get("absent", []):
            hits = [ln for ln in d if sub in ln]
            self.compare("dmesg", f"absent {sub!r}", "", [], hits, e["cite"])

    # --- coverage and the harness's own checks ------------------------------------------
    def coverage(self, group_checks: list[dict]) -> None:
        for n, g in self.f.groups.items():
            if not any(e["member"] in g["devices"] for e in group_checks):
                self.out.append(Outcome("coverage", f"group {n} {g['devices']}", "harness", False, None,
                                        g["reserved_regions"], note="no [[expect_reference]] group check covers it"))
        for s in self.f.steps:
            if id(s) in self.covered_steps:
                continue
            if s.verb in MUST_EXPECT:
                self.out.append(Outcome("coverage", f"step {s.arg}", "harness", False, None, s.outcome(),
                                        note="no steps expectation covers this probe step"))
            else:  # bind, write, device, info: expected to work
                self.out.append(Outcome("steps", s.arg, "harness", s.outcome().split()[0] == "0", "0", s.outcome(),
                                        note="implicit: this step must succeed"))

    def harness(self) -> None:
        f, ctx = self.f, self.ctx
        self.out.append(Outcome("harness", "kernel release", "harness", f.release == ctx.kernel_release,
                                ctx.kernel_release, f.release))
        bad = [m for m in f.modules if " rc=0" not in m]
        loaded = (not bad and bool(f.modules)) or not self.scn.machine["modules"]
        self.out.append(Outcome("harness", "modules loaded", "harness", loaded, [], bad))
        if self.scn.steps:
            self.out.append(Outcome("harness", "probe ran", "harness", f.probe_rc == 0, 0, f.probe_rc))
        if ctx.dmar_aml is not None:
            upgraded = [ln for ln in f.dmesg if ln.startswith("ACPI: Table Upgrade: override [DMAR-")]
            self.out.append(Outcome("harness", "DMAR override applied", "harness", bool(upgraded),
                                    "ACPI: Table Upgrade: override [DMAR-...]", upgraded,
                                    note="drivers/acpi/tables.c acpi_table_initrd_override"))
            self.out.append(Outcome("harness", "guest DMAR == injected table", "harness",
                                    f.acpi.get("DMAR") == ctx.dmar_aml, len(ctx.dmar_aml), len(f.acpi.get("DMAR", b""))))
        if ctx.iovakit_in_guest:
            for n, g in f.groups.items():
                r = f.iovakit.get(f"resv-{n}")
                ok = r is not None and r["rc"] == 0 and r["out"] == g["reserved_regions"]
                self.out.append(Outcome("iovakit", f"resv --sysfs round trip, group {n}", "iovakit", ok,
                                        g["reserved_regions"], r["out"] if r else None,
                                        note="iovakit parses and reprints the kernel's reserved_regions byte for byte"))

    def run(self) -> list[Outcome]:
        checks = [e for e in self.scn.expect_reference if self.scn.applies(e, self.ctx.kernel_tag)]
        for e in checks:
            self.entry = e
            getattr(self, f"check_{e['check']}")(e)
        self.entry = {}
        self.coverage([e for e in checks if e["check"] == "group" and not e.get("after_probe")])
        self.harness()
        return self.out
