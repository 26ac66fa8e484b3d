#include "iovakit/acpi/kernel_log.h"

#include <gtest/gtest.h>

namespace iovakit::acpi {
namespace {

struct Line {
  const char* text;
  LogKind kind;
  const char* device;
  std::uint64_t first;  // expected inclusive range; first > last means "no range"
  std::uint64_t last;
};

// One line per format and era (shared/reference/acpi-iommu-tables.md s.6),
// with the prefixes real logs carry.
const Line kLines[] = {
    {"[    0.012345] DMAR: RMRR base: 0x0000009c000000 end: 0x000000a07fffff", LogKind::kRmrr, "", 0x9c000000,
     0xa07fffff},
    {"[    0.000000] DMAR: RMRR base: 0x00000000000000 end: 0x00000000000fff", LogKind::kRmrr, "", 0, 0xfff},
    {"ACPI DMAR:RMRR base: 0x000000007f600000 end: 0x000000007fffffff", LogKind::kRmrr, "", 0x7f600000, 0x7fffffff},
    {"Jan 12 10:00:01 host kernel: DMAR:RMRR base: 0x00000000bf7ec000 end: 0x00000000bf7fffff", LogKind::kRmrr, "",
     0xbf7ec000, 0xbf7fffff},
    {"kernel: DMAR: [Firmware Bug]: Your BIOS is broken; bad RMRR [0x00000000bf7ec000-0x00000000bf7fffff]",
     LogKind::kBadRmrr, "", 0xbf7ec000, 0xbf7fffff},
    {"DMAR: [Firmware Bug]: No firmware reserved region can cover this RMRR [0x00000000bf7ec000-0x00000000bf7fffff], "
     "contact BIOS vendor for fixes",
     LogKind::kRmrrNotReserved, "", 0xbf7ec000, 0xbf7fffff},
    {"[    1.1] IOMMU: Setting identity map for device 0000:00:02.0 [0xdb800000 - 0xdf9fffff]", LogKind::kIdentityMap,
     "0000:00:02.0", 0xdb800000, 0xdf9fffff},
    {"[    1.2] DMAR: Setting identity map for device 0000:00:14.0 [0xbdea8000 - 0xbdeb6fff]", LogKind::kIdentityMap,
     "0000:00:14.0", 0xbdea8000, 0xbdeb6fff},
    {"[    1.3] pci 0000:00:1a.0: DMAR: Setting identity map [0xbdea8000 - 0xbdeb6fff]", LogKind::kIdentityMap,
     "0000:00:1a.0", 0xbdea8000, 0xbdeb6fff},
    {"DMAR: Ignoring identity map for HW passthrough device 0000:00:02.0 [0xdb800000 - 0xdf9fffff]",
     LogKind::kIdentityMapIgnored, "0000:00:02.0", 0xdb800000, 0xdf9fffff},
    {"[    1.4] IOMMU: Prepare 0-16MiB unity mapping for LPC", LogKind::kLpcUnityMap, "", 0, 0xffffff},
    {"vfio-pci 0000:04:00.1: DMAR: Device is ineligible for IOMMU domain attach due to platform RMRR requirement.  "
     "Contact your platform vendor.",
     LogKind::kIneligibleDevice, "0000:04:00.1", 1, 0},
    {"vfio-pci 0000:01:00.1: Device is ineligible for IOMMU domain attach due to platform RMRR requirement. Contact "
     "your platform vendor.",
     LogKind::kIneligibleDevice, "0000:01:00.1", 1, 0},
    {"vfio-pci 0000:00:14.0: Firmware has requested this device have a 1:1 IOMMU mapping, rejecting configuring the "
     "device without a 1:1 mapping. Contact your platform vendor.",
     LogKind::kDirectMappingRequired, "0000:00:14.0", 1, 0},
    {"DMAR: [DMA Read NO_PASID] Request device [00:02.0] fault addr 0x9c000000 [fault reason 0x06] PTE Read access "
     "is not set",
     LogKind::kDmarFault, "00:02.0", 1, 0},
    {"DMAR: [DMA Read] Request device [00:02.0] PASID ffffffff fault addr 9c000000 [fault reason 06] PTE Read "
     "access is not set",
     LogKind::kDmarFault, "00:02.0", 1, 0},
    {"DMAR: Host address width 39", LogKind::kHostAddressWidth, "", 1, 0},
    {"DMAR: DRHD base: 0x000000fed91000 flags: 0x1", LogKind::kDrhd, "", 1, 0},
    {"AMD-Vi: IVMD_TYPEi\t\t\t devid_start: 00:14.0 devid_end: 00:14.0 range_start: 00000000ccd42000 range_end: "
     "00000000ccd68000 flags: 8",
     LogKind::kIvmd, "00:14.0", 0xccd42000, 0xccd67fff},
    {"AMD-Vi: IVMD_TYPE_RANGE\t\t devid_start: 0000:00:00.0 devid_end: 0000:0f:1f.7 range_start: 000000009618e000 "
     "range_end: 000000009618f000 flags: 8",
     LogKind::kIvmd, "0000:00:00.0", 0x9618e000, 0x9618efff},
    {"ACPI: IORT: [Firmware Bug]: RMR descriptor[0x84801000 - 0x84801fff] not aligned to 64K, continue with "
     "[0x84801000 - 0x84801fff]",
     LogKind::kRmrUnaligned, "", 0x84801000, 0x84801fff},
};

TEST(KernelLog, ReadsEveryFormatOfEveryEra) {
  for (const auto& l : kLines) {
    auto log = parse_kernel_log(l.text, "log");
    ASSERT_TRUE(log.ok());
    ASSERT_EQ(log->records.size(), 1U) << l.text;
    const auto& r = log->records[0];
    EXPECT_EQ(r.kind, l.kind) << l.text;
    EXPECT_EQ(r.line, 1U);
    EXPECT_EQ(r.device, l.device) << l.text;
    if (l.first <= l.last) {
      EXPECT_EQ(r.range, iova::Range(l.first, l.last)) << l.text;
    } else {
      EXPECT_FALSE(r.range.has_value()) << l.text;
    }
  }
}

TEST(KernelLog, KeepsTheDetailsOfEachKind) {
  const std::string text = std::string(kLines[14].text) + "\n" + kLines[15].text + "\n" + kLines[16].text + "\n" +
                           kLines[17].text + "\n" + kLines[18].text + "\n" + kLines[20].text + "\n";
  auto log = parse_kernel_log(text);
  ASSERT_TRUE(log.ok());
  ASSERT_EQ(log->records.size(), 6U);
  EXPECT_EQ(log->records[0].fault_type, "DMA Read NO_PASID");
  EXPECT_EQ(log->records[0].fault_address, 0x9c000000U);
  EXPECT_EQ(log->records[0].fault_reason, 6U);
  EXPECT_EQ(log->records[1].fault_type, "DMA Read");
  EXPECT_EQ(log->records[1].fault_address, 0x9c000000U);
  EXPECT_EQ(log->records[2].value, 39U);
  EXPECT_EQ(log->records[3].value, 0xfed91000U);
  EXPECT_EQ(log->records[3].flags, 1U);
  EXPECT_EQ(log->records[4].ivmd_type, "IVMD_TYPEi");
  EXPECT_EQ(log->records[4].raw_end, 0xccd68000U);  // exclusive, as printed
  EXPECT_EQ(log->records[4].value, 8U);
  EXPECT_EQ(log->records[5].raw_start, 0x84801000U);
  EXPECT_EQ(log->records[5].line, 6U);
  EXPECT_EQ(log->lines, 6U);
}

TEST(KernelLog, JoinsQuotedPrintableSoftBreaksAndKeepsTheFirstLine) {
  const std::string text =
      "hello\r\n"
      "[    0.1] DMAR: RMRR base: 0x0000009c000000 e=\r\n"
      "nd: 0x000000a07fffff\r\n"
      "AMD-Vi: Event logged [IO_PAGE_FAULT domain=3D0x000d address=3D0xcfd51ad0]\n"
      "DMAR: Host address width 3=\n"
      "9\n";
  auto log = parse_kernel_log(text);
  ASSERT_TRUE(log.ok());
  ASSERT_EQ(log->records.size(), 2U);
  EXPECT_EQ(log->records[0].line, 2U);
  EXPECT_EQ(log->records[0].range, iova::Range(0x9c000000, 0xa07fffff));
  EXPECT_EQ(log->records[1].line, 5U);
  EXPECT_EQ(log->records[1].value, 39U);
}

TEST(KernelLog, IgnoresLookalikesAndRejectsBinary) {
  const char* lookalikes[] = {
      "DMAR: RMRR base: garbage",
      "DMAR: RMRR base: 0x1000 end:",
      "Setting identity map for device 0000:00:02.0 [0x1000 0x2000]",
      "Request device [zz:02.0] fault addr 0x1000",
      "IVMD_TYPEi devid_start: 00:14.0",
      "RMR descriptor[0x1 - 0x2] not aligned",
      "random text about RMRR and IVMD",
      "DMAR: RMRR base: 0x11112222333344445 end: 0x1",
  };
  for (const char* l : lookalikes) {
    auto log = parse_kernel_log(l);
    ASSERT_TRUE(log.ok());
    EXPECT_TRUE(log->records.empty()) << l;
  }
  auto bin = parse_kernel_log(std::string_view("ab\0cd", 5), "x.bin");
  ASSERT_FALSE(bin.ok());
  EXPECT_EQ(bin.error().where().offset, 2U);
  auto empty = parse_kernel_log("");
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->lines, 0U);
}

TEST(KernelLog, KindNames) {
  EXPECT_EQ(log_kind_name(LogKind::kRmrr), "rmrr");
  EXPECT_EQ(log_kind_name(LogKind::kRmrUnaligned), "rmr-unaligned");
  EXPECT_EQ(log_kind_name(LogKind::kDirectMappingRequired), "direct-mapping-required");
}

}  // namespace
}  // namespace iovakit::acpi
