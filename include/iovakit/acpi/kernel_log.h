// iovakit/acpi/kernel_log.h: firmware reservations reconstructed from kernel logs.
//
// Design
// ------
// Users often have a pasted `dmesg` or journal but no root access to the
// tables. parse_kernel_log() finds the lines that carry reserved-memory facts,
// across the formats of several kernel eras, and returns one record per
// line with its 1-based line number. What each format is and which kernels
// print it: shared/reference/acpi-iommu-tables.md s.6 and
// linux-iommu-semantics.md s.6-8; the printk sites are named per kind below.
//
// Matching is by a fixed message fragment searched anywhere in the line, so
// any prefix is tolerated: "[    0.012345] ", syslog/journal prefixes
// ("Jan 01 host kernel: "), the "DMAR:" / "ACPI DMAR:" / "IOMMU:" /
// "AMD-Vi:" / "ACPI: IORT:" prefixes of the different eras, and a device
// name before the message ("vfio-pci 0000:01:00.1: "). Numbers are read with
// or without "0x" and of any width, so the kernel's "%#016Lx" form ("0x" + 14
// digits, "0x00000000000000" for zero) and glibc-style forms both parse.
// Quoted-printable soft line breaks ("=" at the end of a line, from mailed
// reports) are joined first, and "=3D" is decoded, before matching; a record
// carries the number of the first physical line.
//
// No regular expressions: a hand-written scanner over string_views runs in
// time linear in the input and cannot recurse, whatever a fuzzer feeds it.
//
// The records are facts as printed. The IVMD dump prints Linux's
// page-aligned values (init_unity_map_range prints address_start =
// PAGE_ALIGN(start) and the exclusive address_end), so `range` is
// [range_start, range_end - 1]; `raw_end` keeps the printed exclusive end.
//
// Thread safety: pure function.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "iovakit/iova/range.h"
#include "iovakit/result.h"

namespace iovakit::acpi {

enum class LogKind : std::uint8_t {
  // Intel dmar.c dmar_table_print_dmar_entry: "RMRR base: %#016Lx end: %#016Lx"
  // (all eras; "ACPI DMAR:" / "DMAR:" prefix before 3.x pr_fmt "DMAR: ").
  kRmrr,
  // iommu.c rmrr_sanity_check (5.5+): "[Firmware Bug]: Your BIOS is broken; bad RMRR [%#018Lx-%#018Lx]".
  kBadRmrr,
  // x86 arch_rmrr_sanity_check (5.5+): "No firmware reserved region can cover this RMRR [..-..]".
  kRmrrNotReserved,
  // intel-iommu.c iommu_prepare_identity_map (<= ~5.x): "Setting identity map for device %s [0x%Lx - 0x%Lx]",
  // and the later "<dev>: DMAR: Setting identity map [0x%Lx - 0x%Lx]". End inclusive.
  kIdentityMap,
  // "Ignoring identity map for HW passthrough device %s [0x%Lx - 0x%Lx]" (4.x-5.x).
  kIdentityMapIgnored,
  // "Prepare 0-16MiB unity mapping for LPC" (floppy workaround, <= ~5.x): [0, 16 MiB - 1] for the ISA bridge.
  kLpcUnityMap,
  // intel_iommu_attach_device (3.17-6.5): "Device is ineligible for IOMMU domain attach due to platform RMRR
  // requirement.  Contact your platform vendor."
  kIneligibleDevice,
  // iommu.c __iommu_device_set_domain (6.6+): "Firmware has requested this device have a 1:1 IOMMU mapping, ...".
  kDirectMappingRequired,
  // dmar.c dmar_fault_do_one: "[DMA Read NO_PASID] Request device [00:02.0] fault addr 0x... [fault reason 0x06] ..."
  // and the older "[DMA Read] Request device [00:02.0] PASID ffffffff fault addr 9c000000 [fault reason 06] ...".
  kDmarFault,
  // "Host address width %d" (parse_dmar_table).
  kHostAddressWidth,
  // "DRHD base: %#016Lx flags: %#x" (dmar_table_print_dmar_entry).
  kDrhd,
  // amd/init.c init_unity_map_range DUMP_printk (amd_iommu_dump): "IVMD_TYPEi devid_start: 00:14.0 devid_end: ...
  // range_start: %016llx range_end: %016llx flags: %x"; 5.19+ prints "0000:00:14.0".
  kIvmd,
  // arm64/iort.c iort_rmr_alloc (6.0+): "[Firmware Bug]: RMR descriptor[0x%llx - 0x%llx] not aligned to 64K,
  // continue with [0x%llx - 0x%llx]".
  kRmrUnaligned,
};

// "rmrr", "bad-rmrr", "rmrr-not-reserved", "identity-map", "identity-map-ignored", "lpc-unity-map",
// "ineligible-device", "direct-mapping-required", "dmar-fault", "host-address-width", "drhd", "ivmd",
// "rmr-unaligned".
std::string_view log_kind_name(LogKind kind);

struct LogRecord {
  std::size_t line = 0;  // 1-based, of the first physical line
  LogKind kind = LogKind::kRmrr;
  std::string message;  // the line from the matched fragment on (prefix and timestamp dropped)
  std::string device;   // device as printed ("0000:00:14.0", "00:02.0"), when the line names one
  // The reserved range as the line states it, inclusive, when it has one.
  std::optional<iova::Range> range;
  std::uint64_t raw_start = 0;  // the numbers as printed
  std::uint64_t raw_end = 0;    // inclusive for Intel lines; exclusive for kIvmd; the realigned end for kRmrUnaligned
  std::optional<std::uint64_t> fault_address;  // kDmarFault
  std::optional<unsigned> fault_reason;        // kDmarFault
  std::string fault_type;                      // kDmarFault: "DMA Read NO_PASID", "DMA Write", ...
  std::string ivmd_type;                       // kIvmd: "IVMD_TYPEi", "IVMD_TYPE_ALL", "IVMD_TYPE_RANGE"
  std::string devid_end;                       // kIvmd: devid_end as printed (device holds devid_start)
  std::optional<std::uint64_t> value;          // kHostAddressWidth: width; kDrhd: base; kIvmd: flags
  std::optional<std::uint64_t> flags;          // kDrhd: flags
};

struct KernelLog {
  std::size_t lines = 0;  // physical lines read
  std::vector<LogRecord> records;
};

// Errors only for input that is not text (a NUL byte), with its offset.
Result<KernelLog> parse_kernel_log(std::string_view text, std::string_view source = {});

}  // namespace iovakit::acpi
