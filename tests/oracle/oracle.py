#!/usr/bin/env python3
"""iovakit's real-kernel oracle: boot Debian kernels under QEMU (TCG) with an
emulated IOMMU, capture what the kernel really does, and compare it with an
expectation (docs/oracle.md).

  oracle.py prepare [--kernels 6.1,6.12]        fetch kernels, build probe + initramfs (the ctest fixture)
  oracle.py list                                 "<scenario> <kernel>" per test
  oracle.py run SCENARIO [--kernel K] [--expect reference|iovakit|both]
  oracle.py facts                                observed kernel facts of every finished run

Exit codes: 0 pass, 1 a difference (or a harness failure), 77 skipped (QEMU or
a kernel package unavailable; the reason is printed), 64 bad command line.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.dont_write_bytecode = True  # keep __pycache__ out of the source tree
sys.path.insert(0, str(Path(__file__).resolve().parent))

from oraclelib import run as runner  # noqa: E402
from oraclelib import scenario  # noqa: E402
from oraclelib.check import SOURCES  # noqa: E402
from oraclelib.common import EXIT_SKIP, HarnessError, Skip, default_cache_dir, default_work_dir  # noqa: E402


def cmd_prepare(env: runner.Env, a: argparse.Namespace) -> int:
    tags = a.kernels.split(",") if a.kernels else runner.known_kernels()
    status = runner.prepare(env, tags)
    usable = [t for t, s in status.items() if s["ok"]]
    for t, s in status.items():
        print(f"kernel {t}: " + (f"{s['package']} {s['version']}" if s["ok"] else f"SKIPPED: {s['reason']}"))
    if not usable:
        print("SKIPPED: no guest kernel is usable")
        return EXIT_SKIP
    return 0


def cmd_list(env: runner.Env, a: argparse.Namespace) -> int:
    for s in scenario.all_scenarios():
        for k in s.kernels:
            print(f"{s.name} {k}")
    return 0


def cmd_run(env: runner.Env, a: argparse.Namespace) -> int:
    scn = scenario.load(a.scenario)
    kernels = [a.kernel] if a.kernel else scn.kernels
    failed = skipped = 0
    for k in kernels:
        try:
            failed += runner.run_scenario(env, scn, k, a.expect) != 0
        except Skip as e:
            print(f"SKIPPED {scn.name} on {k}: {e}")
            skipped += 1
    if failed:
        return 1
    return EXIT_SKIP if skipped else 0


def cmd_facts(env: runner.Env, a: argparse.Namespace) -> int:
    """A digest of what the kernels did, across every finished run (for docs and reports)."""
    for res in sorted((env.work / "runs").glob("*/*/result.json")):
        r = json.loads(res.read_text())
        if "groups" not in r:
            print(f"== {r['scenario']} on {r['kernel']}: no results ({r.get('error')})")
            continue
        print(f"== {r['scenario']} on {r['kernel']['tag']} ({r['kernel']['release']}): {'PASS' if r['ok'] else 'FAIL'}")
        for n, g in sorted(r["groups"].items(), key=lambda x: int(x[0])):
            print(f"  group {n} {' '.join(g['devices'])} type={g['type']}")
            for ln in g["reserved_regions"]:
                print(f"    {ln}")
        for s in r["steps"]:
            print(f"  step {s['arg']} -> {s['outcome']}")
            for m in s["kmsg"]:
                print(f"    kmsg: {m}")
        gi = r.get("get_info") or {}
        if gi:
            print(f"  get_info argsz={gi.get('argsz')} copied={gi.get('copied')} caps={gi.get('caps')}")
            print("  iova_ranges=" + ", ".join(f"[{s:#x}, {e:#x}]" for s, e in gi.get("iova_ranges", [])))
        for ln in r["dmesg"]:
            if any(w in ln for w in ("RMRR", "Firmware Bug", "Table Upgrade", "ineligible", "1:1", "scope",
                                     "interrupt remapping", "viommu", "virtio_iommu")):
                print(f"  dmesg: {ln}")
    return 0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--work", type=Path, default=default_work_dir(), help="work tree (default tests/oracle/work)")
    p.add_argument("--cache", type=Path, default=default_cache_dir(), help="download cache (~/.cache/iovakit-oracle)")
    p.add_argument("--iovakit", help="static iovakit to put in the guest (default build/static/cli/iovakit if built)")
    p.add_argument("--iovakit-cmd", action="append", default=[], metavar="NAME|COMMAND",
                   help="extra iovakit command run in the guest; output kept as guest/iovakit/NAME.out "
                        "(NAME 'predict' feeds expect_iovakit)")
    p.add_argument("--timeout", type=float, default=runner.BOOT_TIMEOUT, help="seconds per QEMU boot")
    sub = p.add_subparsers(dest="cmd", required=True)
    sp = sub.add_parser("prepare")
    sp.add_argument("--kernels", help="comma-separated kernel tags (default: all)")
    sub.add_parser("list")
    sr = sub.add_parser("run")
    sr.add_argument("scenario")
    sr.add_argument("--kernel", choices=runner.known_kernels())
    sr.add_argument("--expect", choices=SOURCES, help="expectation source for every check (default per scenario)")
    sub.add_parser("facts")
    try:
        a = p.parse_args()
    except SystemExit as e:
        return 64 if e.code else 0
    try:
        env = runner.Env(work=a.work, cache=a.cache, iovakit=runner.find_iovakit(a.iovakit), timeout=a.timeout,
                         iovakit_cmds=a.iovakit_cmd)
        return {"prepare": cmd_prepare, "list": cmd_list, "run": cmd_run, "facts": cmd_facts}[a.cmd](env, a)
    except Skip as e:
        print(f"SKIPPED: {e}")
        return EXIT_SKIP
    except HarnessError as e:
        print(f"oracle: error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
