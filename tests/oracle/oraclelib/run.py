"""Running one scenario on one kernel, end to end.

  prepare   (the ctest fixture) fetch kernels and busybox, build the probe and
            the base initramfs per kernel; record per kernel whether it is
            usable (status.json) so each test can SKIP with the reason
  run       [dump QEMU's DMAR for this topology] -> inject RMRRs -> assemble
            the initrd -> boot (bounded, one retry after an unrelated crash or
            a hang) -> unpack the guest's tar -> check -> result.json

Work tree (default tests/oracle/work, git-ignored):
  status.json, bin/vfio_probe, initramfs/<kernel>/base.cpio.gz,
  dmar/<topology key>/{qemu.dat,qemu.dsl,machine.txt},
  runs/<scenario>/<kernel>/{initrd.img, dmar.dsl, dmar.aml, qemu.cmd,
      console.log, ttyS1.txt, attempt-N/, guest/ (incl. guest/snapshot/),
      result.json, report.txt}
"""

from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from . import check, dmar, guest, initramfs, qemu
from .common import REPO_DIR, HarnessError, Skip, locked, log, need_tool, write_atomic
from .fetch import KERNEL_SOURCES, Kernel, extract_vmlinux, fetch_busybox, fetch_kernel
from .modules import ModuleIndex
from .scenario import Scenario

BOOT_TIMEOUT = 120.0  # one TCG boot takes 4-8 s here; generous for a loaded 2-core CI machine
RELEVANT_DMESG = re.compile(r"DMAR|RMRR|vfio|VFIO|Firmware Bug|ineligible|Table Upgrade|iommu|IOMMU|VIOT|virtio",
                            re.I)
DEFAULT_IOVAKIT_CMDS = ["version|iovakit --version"]


@dataclass
class Env:
    work: Path
    cache: Path
    iovakit: Path | None = None
    timeout: float = BOOT_TIMEOUT
    iovakit_cmds: list[str] = field(default_factory=list)
    keep_going: bool = False


def predict_command(scn: Scenario) -> str:
    """iovakit's prediction in the guest: firmware tables + topology of the live
    system (never its reserved_regions), and the probe's steps replayed on the
    model."""
    steps = " ".join(f"--step {s}" for s in scn.steps)
    return f"predict|iovakit predict --json {steps}".rstrip()


def find_iovakit(explicit: str | None) -> Path | None:
    """The static iovakit for the guest: --iovakit (must exist), else
    $IOVAKIT_ORACLE_IOVAKIT or build/static/cli/iovakit when built. Without it
    the guest runs no iovakit and only the reference expectations apply."""
    if explicit:
        p = Path(explicit)
        if not p.exists():
            raise HarnessError(f"--iovakit {p}: no such file")
        return p
    p = Path(os.environ.get("IOVAKIT_ORACLE_IOVAKIT", REPO_DIR / "build" / "static" / "cli" / "iovakit"))
    if not p.exists():
        log(f"no static iovakit at {p} (cmake --build --preset static); the guest runs without it")
        return None
    return p


# --- preparation ----------------------------------------------------------------------------
def prepare(env: Env, tags: list[str]) -> dict:
    """The fixture: returns and records {tag: {"ok": bool, "reason"|package...}}."""
    status: dict = {}
    try:
        qv = qemu.qemu_version()
        need_tool("iasl", "acpica-tools")
        busybox = fetch_busybox(env.cache)
        probe = initramfs.build_probe(env.work)
    except Skip as e:
        status = {t: {"ok": False, "reason": str(e)} for t in tags}
        write_atomic(env.work / "status.json", json.dumps(status, indent=1))
        raise
    for t in tags:
        try:
            k = fetch_kernel(env.cache, t, refresh=True)
            with locked(env.cache / "locks" / f"vmlinux-{t}"):
                extract_vmlinux(k)
            initramfs.base_image(env.work, k, busybox, probe, env.iovakit)
            status[t] = {"ok": True, "package": k.package, "version": k.version, "release": k.release, "qemu": qv}
            log(f"kernel {t}: {k.package} {k.version} ({k.release}) ready")
        except Skip as e:
            status[t] = {"ok": False, "reason": str(e)}
            log(f"kernel {t}: SKIPPED: {e}")
    write_atomic(env.work / "status.json", json.dumps(status, indent=1))
    return status


def _kernel(env: Env, tag: str) -> tuple[Kernel, Path]:
    st = env.work / "status.json"
    if st.exists():
        s = json.loads(st.read_text()).get(tag)
        if s is not None and not s["ok"]:
            raise Skip(s["reason"])
    qemu.qemu_version()  # Skip when QEMU is missing
    k = fetch_kernel(env.cache, tag, refresh=False)
    with locked(env.cache / "locks" / f"vmlinux-{tag}"):
        extract_vmlinux(k)
    busybox = fetch_busybox(env.cache)
    probe = initramfs.build_probe(env.work)
    return k, initramfs.base_image(env.work, k, busybox, probe, env.iovakit)


# --- booting --------------------------------------------------------------------------------
def _related(b: qemu.Boot) -> bool:
    """A crash counts as the test's own when it happens while the guest exercises
    VFIO/IOMMU code and the oops text names that code; anything else (a TCG
    flake during boot, say) is retried once."""
    crash = b.crash()
    if not crash or b.stage() not in ("modules", "capture", "iovakit", "probe"):
        return False
    tail = b.console[b.console.find(crash):]
    return bool(re.search(r"vfio|iommu|dmar|intel_|virtio", tail, re.I))


def boot_with_retry(machine: dict, kernel: Kernel, initrd: Path, cmdline: str, run_dir: Path,
                    timeout: float) -> tuple[qemu.Boot, list[str]]:
    notes: list[str] = []
    b = None
    for attempt in (1, 2):
        b = qemu.boot(machine, kernel.boot_image(), initrd, cmdline, run_dir, timeout)
        adir = run_dir / f"attempt-{attempt}"
        adir.mkdir(exist_ok=True)
        for name in ("console.log", "ttyS1.txt", "qemu.cmd"):
            if (run_dir / name).exists():
                shutil.copy(run_dir / name, adir / name)
        if b.payload() is not None:
            if attempt > 1:
                notes.append(f"attempt 1 failed ({notes[-1]}); attempt 2 succeeded")
            return b, notes
        why = (f"guest crashed ({b.crash()!r}) at stage {b.stage()}" if b.crash()
               else f"timed out after {timeout:.0f} s at stage {b.stage()}" if b.timed_out
               else f"QEMU exited {b.returncode} at stage {b.stage()} without results: {b.qemu_stderr.strip()[-500:]}")
        notes.append(why)
        if _related(b):
            notes.append("the crash is in the code under test: not retried")
            break
        log(f"attempt {attempt}: {why}" + ("; retrying once" if attempt == 1 else ""))
    return b, notes


# --- DMAR ----------------------------------------------------------------------------------
def qemu_dmar(env: Env, machine: dict, kernel: Kernel, base: Path) -> tuple[bytes, str]:
    """QEMU's own DMAR for this machine (boot once, cat the table), cached per topology."""
    args = qemu.machine_args(machine)
    key = dmar.topology_key(args, qemu.qemu_version())
    d = env.work / "dmar" / key
    with locked(env.work / "locks" / f"dmar-{key}"):
        if (d / "qemu.dat").exists() and (d / "qemu.dsl").exists():
            return (d / "qemu.dat").read_bytes(), (d / "qemu.dsl").read_text()
        run_archive, _ = initramfs.run_archive(kernel, set(), {"ORACLE_MODE": "dump"}, [], {})
        initrd = initramfs.assemble(d / "initrd.img", [run_archive, base])
        b, notes = boot_with_retry(machine, kernel, initrd, qemu.kernel_cmdline(machine, ["quiet"]), d, env.timeout)
        data = b.payload()
        if data is None:
            raise HarnessError(f"DMAR dump boot failed: {'; '.join(notes)} (console: {d / 'console.log'})")
        dmar.parse(data)  # sanity: a DMAR it can decode
        dsl = dmar.disassemble(data)
        write_atomic(d / "machine.txt", " ".join(args) + "\n")
        write_atomic(d / "qemu.dsl", dsl)
        write_atomic(d / "qemu.dat", data)
        return data, dsl


def injected_dmar(env: Env, scn: Scenario, kernel: Kernel, base: Path, run_dir: Path) -> bytes:
    qemu_dat, qemu_dsl = qemu_dmar(env, scn.machine, kernel, base)
    if scn.drop_drhd_scopes:
        qemu_dsl = dmar.disassemble(dmar.drop_drhd_scopes(qemu_dat, scn.drop_drhd_scopes))
    dsl = dmar.add_rmrrs(qemu_dsl, scn.rmrrs)
    write_atomic(run_dir / "dmar.dsl", dsl)
    aml = dmar.compile_dsl(dsl)
    write_atomic(run_dir / "dmar.aml", aml)
    got = dmar.parse(aml)
    want = [(r["base"], r["end"], [(s["type"], s["bus"], [p.lower() for p in s["path"]]) for s in r["scopes"]])
            for r in scn.rmrrs]
    have = [(r["base"], r["end"], [(s["type"], s["bus"], s["path"]) for s in r["scopes"]]) for r in got["rmrr"]]
    if have != want or not got["checksum_ok"]:
        raise HarnessError(f"iasl produced a DMAR whose RMRRs differ from the scenario: {have} != {want}")
    return aml


# --- one scenario ------------------------------------------------------------------------
def run_scenario(env: Env, scn: Scenario, tag: str, expect: str | None = None) -> int:
    if tag not in scn.kernels:
        raise HarnessError(f"{scn.name} does not run on kernel {tag} (kernels = {scn.kernels})")
    kernel, base = _kernel(env, tag)
    run_dir = env.work / "runs" / scn.name / tag
    if run_dir.exists():
        shutil.rmtree(run_dir)
    run_dir.mkdir(parents=True)

    parts: list[bytes | Path] = []
    aml = None
    if scn.rmrrs or scn.drop_drhd_scopes:
        aml = injected_dmar(env, scn, kernel, base, run_dir)
        parts.append(dmar.override_cpio(aml))
    cmds = DEFAULT_IOVAKIT_CMDS + [predict_command(scn)] + scn.iovakit + env.iovakit_cmds
    config = {"ORACLE_MODE": "run", "ORACLE_PROBE": " ".join(scn.steps), "ORACLE_IOVAKIT": "\n".join(cmds)}
    idx = ModuleIndex(kernel.modules_dir)
    wanted = scn.machine["modules"] + [m for m in scn.machine["optional_modules"] if idx.has(m)]
    archive, load_order = initramfs.run_archive(kernel, initramfs.base_modules(env.work, kernel), config, wanted,
                                                scn.machine.get("module_args", {}))
    parts += [archive, base]
    initrd = initramfs.assemble(run_dir / "initrd.img", parts)
    cmdline = qemu.kernel_cmdline(scn.machine)

    b, notes = boot_with_retry(scn.machine, kernel, initrd, cmdline, run_dir, env.timeout)
    payload = b.payload()
    if payload is None:
        tail = "\n".join(b.console.splitlines()[-40:])
        print(f"FAIL {scn.name} on {tag}: no results from the guest: {'; '.join(notes)}\n--- console tail ---\n{tail}")
        write_atomic(run_dir / "result.json", json.dumps({"scenario": scn.name, "kernel": tag, "ok": False,
                                                          "error": notes}, indent=1))
        return 1
    gdir = run_dir / "guest"
    guest.extract(payload, gdir)
    facts = guest.parse(gdir)
    ctx = check.Context(tag, kernel.release, aml, iovakit_in_guest=env.iovakit is not None, notes=notes)
    outcomes = check.Checker(scn, facts, ctx, expect).run()
    ok = all(o.ok for o in outcomes)
    report = render(scn, tag, kernel, b, notes, outcomes, load_order)
    write_atomic(run_dir / "report.txt", report)
    write_atomic(run_dir / "result.json", json.dumps(result_json(scn, tag, kernel, b, notes, facts, outcomes, aml),
                                                     indent=1))
    print(report, end="")
    return 0 if ok else 1


def render(scn: Scenario, tag: str, kernel: Kernel, b: qemu.Boot, notes: list[str], outcomes: list[check.Outcome],
           load_order: list[str]) -> str:
    fails = [o for o in outcomes if not o.ok]
    out = [f"{scn.name} on {tag} ({kernel.package} {kernel.version}): "
           f"{'PASS' if not fails else 'FAIL'} - {len(outcomes) - len(fails)}/{len(outcomes)} checks, "
           f"boot {b.seconds:.1f} s", f"  {scn.summary}"]
    out += [f"  note: {n}" for n in notes]
    out.append(f"  modules: {' '.join(load_order) or '-'}")
    for o in outcomes:
        out.append("  " + o.line())
        if not o.ok:
            out.append(f"      expected: {_fmt(o.expected)}")
            out.append(f"      observed: {_fmt(o.observed)}")
            if o.cite:
                out.append(f"      cite:     {o.cite}")
            if o.note:
                out.append(f"      note:     {o.note}")
    return "\n".join(out) + "\n"


def _fmt(v) -> str:
    if isinstance(v, str) and "\n" in v:
        return "\n                " + v.rstrip("\n").replace("\n", "\n                ")
    if isinstance(v, list) and v and isinstance(v[0], list) and all(isinstance(x, int) for x in v[0]):
        return "[" + ", ".join("[" + ", ".join(hex(x) for x in r) + "]" for r in v) + "]"
    return repr(v)


def result_json(scn: Scenario, tag: str, kernel: Kernel, b: qemu.Boot, notes: list[str], f: guest.Facts,
                outcomes: list[check.Outcome], aml: bytes | None) -> dict:
    """The structured result: what the kernel did, and every check's outcome."""
    info = next((s for s in f.steps if s.verb == "info"), None)
    return {
        "schema": "iovakit.oracle-result/1",
        "scenario": scn.name,
        "kernel": {"tag": tag, "package": kernel.package, "version": kernel.version, "release": f.release,
                   "proc_version": f.version, "cmdline": f.cmdline},
        "qemu": {"argv": b.argv, "seconds": round(b.seconds, 2), "notes": notes},
        "ok": all(o.ok for o in outcomes),
        "groups": {str(n): {"devices": g["devices"], "type": g["type"],
                            "reserved_regions": g["reserved_regions"].splitlines()} for n, g in f.groups.items()},
        "groups_after_probe": {str(n): {"devices": g["devices"], "reserved_regions": g["reserved_regions"].splitlines()}
                               for n, g in f.groups_after.items()},
        "iommu": f.iommu,
        "pci": {bdf: {**{k: v for k, v in p.items() if k != "config"}, "config": p["config"][:256].hex()}
                for bdf, p in f.pci.items()},
        "dmar": dmar.parse(f.acpi["DMAR"]) if "DMAR" in f.acpi else None,
        "dmar_hex": f.acpi["DMAR"].hex() if "DMAR" in f.acpi else None,
        "dmar_injected": aml is not None,
        "steps": [{"arg": s.arg, "outcome": s.outcome(), "kmsg": s.kmsg()} for s in f.steps],
        "get_info": check.observe_info(info),
        "probe_transcript": f.probe_text.splitlines(),
        "dmesg": [ln for ln in f.dmesg if RELEVANT_DMESG.search(ln)],
        "modules": f.modules,
        "iovakit": f.iovakit,
        "checks": [{"kind": o.kind, "key": o.key, "source": o.source, "ok": o.ok, "expected": o.expected,
                    "observed": o.observed, "cite": o.cite, "note": o.note} for o in outcomes],
    }


def known_kernels() -> list[str]:
    return list(KERNEL_SOURCES)
