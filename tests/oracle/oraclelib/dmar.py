"""Firmware reserved memory for the guest: QEMU's own DMAR plus injected RMRRs.

Flow (acpi-iommu-tables.md sections 2 and 7):
  1. QEMU builds the DMAR from the machine's devices: QEMU 7.2 lists every
     root-bus device in the DRHD scope (endpoints as type 1, root ports and
     bridges as type 2) instead of setting INCLUDE_PCI_ALL, so the table
     depends on the topology and is dumped once per distinct device set
     (boot, cat /sys/firmware/acpi/tables/DMAR, cached by a key of the
     QEMU arguments).
  2. `iasl -d` disassembles it; the RMRR subtables are appended in iasl's data
     table syntax; `iasl` recompiles. iasl rewrites the creator id/revision and
     the checksum; it does not compute subtable or scope lengths (a 0 length
     makes the 20200925 compiler loop forever), so they are written here.
  3. The OEM revision is raised by one: the initrd override only replaces a
     table whose OEM revision is lower (drivers/acpi/tables.c,
     acpi_table_initrd_override).
  4. The .aml goes into an uncompressed cpio as kernel/firmware/acpi/dmar.aml,
     placed before the main initramfs (CONFIG_ACPI_TABLE_UPGRADE).
"""

from __future__ import annotations

import hashlib
import re
import struct
import tempfile
from pathlib import Path

from .common import HarnessError, need_tool, run
from .cpio import CpioWriter

SCOPE_TYPES = {"endpoint": 1, "bridge": 2, "ioapic": 3, "hpet": 4, "namespace": 5}
SCOPE_NAMES = {v: k for k, v in SCOPE_TYPES.items()}
SCOPE_LABELS = {1: "PCI Endpoint Device", 2: "PCI Bridge Device", 3: "IOAPIC Device",
                4: "Message-capable HPET Device", 5: "Namespace Device"}


def parse_path(elem: str) -> tuple[int, int]:
    """'1c.0' -> (0x1c, 0)."""
    m = re.fullmatch(r"([0-9a-fA-F]{1,2})\.([0-7])", elem)
    if not m:
        raise HarnessError(f"device scope path element {elem!r} is not DD.F (hex device, function 0-7)")
    return int(m.group(1), 16), int(m.group(2))


def rmrr_dsl(rmrr: dict) -> str:
    """One RMRR subtable in iasl data-table syntax, lengths computed."""
    scopes = rmrr["scopes"]
    length = 24 + sum(6 + 2 * len(s["path"]) for s in scopes)
    lines = [
        "[0002]                      Subtable Type : 0001 [Reserved Memory Region]",
        f"[0002]                             Length : {length:04X}",
        f"[0002]                           Reserved : {rmrr.get('reserved', 0):04X}",
        f"[0002]                 PCI Segment Number : {rmrr.get('segment', 0):04X}",
        f"[0008]                       Base Address : {rmrr['base']:016X}",
        f"[0008]                End Address (limit) : {rmrr['end']:016X}",
        "",
    ]
    for s in scopes:
        t = SCOPE_TYPES[s["type"]]
        lines += [
            f"[0001]                  Device Scope Type : {t:02X} [{SCOPE_LABELS[t]}]",
            f"[0001]                       Entry Length : {6 + 2 * len(s['path']):02X}",
            "[0002]                           Reserved : 0000",
            f"[0001]                     Enumeration ID : {s.get('enumeration_id', 0):02X}",
            f"[0001]                     PCI Bus Number : {s['bus']:02X}",
        ]
        for elem in s["path"]:
            d, f = parse_path(elem)
            lines.append(f"[0002]                           PCI Path : {d:02X},{f:02X}")
        lines.append("")
    return "\n".join(lines) + "\n"


def disassemble(dat: bytes) -> str:
    need_tool("iasl", "acpica-tools")
    with tempfile.TemporaryDirectory(prefix="oracle-iasl-") as d:
        Path(d, "dmar.dat").write_bytes(dat)
        run(["iasl", "-d", "dmar.dat"], cwd=Path(d), timeout=60)
        return Path(d, "dmar.dsl").read_text()


def compile_dsl(dsl: str) -> bytes:
    need_tool("iasl", "acpica-tools")
    with tempfile.TemporaryDirectory(prefix="oracle-iasl-") as d:
        Path(d, "dmar.dsl").write_text(dsl)
        # A timeout because a malformed data table can make this iasl spin.
        run(["iasl", "dmar.dsl"], cwd=Path(d), timeout=60)
        return Path(d, "dmar.aml").read_bytes()


def add_rmrrs(qemu_dsl: str, rmrrs: list[dict]) -> str:
    """QEMU's disassembled DMAR with the RMRRs appended and the OEM revision raised."""
    body = qemu_dsl.split("\nRaw Table Data", 1)[0]  # the hex dump is not source

    def bump(m: re.Match) -> str:
        return f"{m.group(1)}{int(m.group(2), 16) + 1:08X}"

    body, n = re.subn(r"(Oem Revision : )([0-9A-Fa-f]{8})", bump, body, count=1)
    if n != 1:
        raise HarnessError("iasl -d output has no 'Oem Revision' field")
    return body.rstrip() + "\n\n" + "\n".join(rmrr_dsl(r) for r in rmrrs)


def drop_drhd_scopes(data: bytes, drops: list[dict]) -> bytes:
    """QEMU's DMAR with some DRHD device scopes removed (a device no unit
    covers), lengths and checksum fixed. Done on the bytes, before `iasl -d`,
    because the DSL's lengths are not recomputed by iasl."""
    want = {(SCOPE_TYPES[d["type"]], d["bus"], tuple(parse_path(p) for p in d["path"])) for d in drops}
    out = bytearray(data[:48])
    off, length, removed = 48, struct.unpack_from("<I", data, 4)[0], set()
    while off + 4 <= length:
        typ, ln = struct.unpack_from("<HH", data, off)
        sub = bytearray(data[off:off + ln])
        if typ == 0:
            kept, so = bytearray(sub[:16]), 16
            while so + 6 <= ln:
                st, sl, _, _, bus = struct.unpack_from("<BBHBB", sub, so)
                path = tuple((sub[q], sub[q + 1]) for q in range(so + 6, so + sl - 1, 2))
                if (st, bus, path) in want:
                    removed.add((st, bus, path))
                else:
                    kept += sub[so:so + sl]
                so += sl
            struct.pack_into("<H", kept, 2, len(kept))
            sub = kept
        out += sub
        off += ln
    if removed != want:
        raise HarnessError(f"drop_drhd_scopes: not in QEMU's DRHD: {sorted(want - removed)}")
    struct.pack_into("<I", out, 4, len(out))
    out[9] = 0
    out[9] = (-sum(out)) % 256
    return bytes(out)


def override_cpio(aml: bytes) -> bytes:
    """The early cpio of the initrd table override (Documentation/admin-guide/acpi/initrd_table_override.rst)."""
    w = CpioWriter()
    w.add_file("kernel/firmware/acpi/dmar.aml", aml)
    return w.finish()


def parse(data: bytes) -> dict:
    """Decodes a DMAR table (header, DRHDs, RMRRs with scopes) for checks and reports.
    Bounds-checked; an inconsistent table raises HarnessError."""
    if len(data) < 48 or data[:4] != b"DMAR":
        raise HarnessError("not a DMAR table")
    length = struct.unpack_from("<I", data, 4)[0]
    if length > len(data):
        raise HarnessError(f"DMAR length {length} > {len(data)} bytes")
    out = {
        "length": length,
        "revision": data[8],
        "checksum_ok": sum(data[:length]) % 256 == 0,
        "oem_id": data[10:16].decode("latin1"),
        "oem_table_id": data[16:24].decode("latin1"),
        "oem_revision": struct.unpack_from("<I", data, 24)[0],
        "creator_id": data[28:32].decode("latin1"),
        "host_address_width": data[36] + 1,
        "flags": data[37],
        "drhd": [],
        "rmrr": [],
        "other": [],
    }
    off = 48
    while off + 4 <= length:
        typ, ln = struct.unpack_from("<HH", data, off)
        if ln < 4 or off + ln > length:
            raise HarnessError(f"DMAR subtable at {off:#x} has length {ln}")
        if typ == 0:
            flags, _, seg, base = struct.unpack_from("<BBHQ", data, off + 4)
            out["drhd"].append({"offset": off, "flags": flags, "segment": seg, "base": base,
                                "scopes": _scopes(data, off + 16, off + ln)})
        elif typ == 1:
            res, seg, base, end = struct.unpack_from("<HHQQ", data, off + 4)
            out["rmrr"].append({"offset": off, "reserved": res, "segment": seg, "base": base, "end": end,
                                "scopes": _scopes(data, off + 24, off + ln)})
        else:
            out["other"].append({"offset": off, "type": typ, "length": ln})
        off += ln
    return out


def _scopes(data: bytes, off: int, end: int) -> list[dict]:
    scopes = []
    while off + 6 <= end:
        typ, ln, _, enum_id, bus = struct.unpack_from("<BBHBB", data, off)
        if ln < 6 or off + ln > end:
            raise HarnessError(f"DMAR device scope at {off:#x} has length {ln}")
        path = [f"{data[p]:02x}.{data[p + 1]:x}" for p in range(off + 6, off + ln - 1, 2)]
        scopes.append({"type": SCOPE_NAMES.get(typ, str(typ)), "enumeration_id": enum_id, "bus": bus, "path": path})
        off += ln
    return scopes


def topology_key(machine_args: list[str], qemu_version: str) -> str:
    h = hashlib.sha256("\0".join([qemu_version, *machine_args]).encode()).hexdigest()
    return h[:16]
