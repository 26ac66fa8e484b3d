#include "iovakit/kernel/acs_quirks.h"

#include <algorithm>
#include <array>

namespace iovakit::kernel {

namespace {

// include/linux/pci_ids.h.
constexpr std::uint16_t kVendorAti = 0x1002;
constexpr std::uint16_t kVendorAmd = 0x1022;
constexpr std::uint16_t kVendorSolarflare = 0x1924;
constexpr std::uint16_t kVendorIntel = 0x8086;
constexpr std::uint16_t kVendorQcom = 0x17cb;
constexpr std::uint16_t kVendorHxt = 0x1dbf;
constexpr std::uint16_t kVendorCavium = 0x177d;
constexpr std::uint16_t kVendorAmcc = 0x10e8;
constexpr std::uint16_t kVendorAmpere = 0x1def;
constexpr std::uint16_t kVendorBroadcom = 0x14e4;
constexpr std::uint16_t kVendorLoongson = 0x0014;
constexpr std::uint16_t kVendorAmazon = 0x1c36;
constexpr std::uint16_t kVendorZhaoxin = 0x1d17;
constexpr std::uint16_t kVendorNxp = 0x1957;
constexpr std::uint16_t kVendorWangxun = 0x8088;

// pci_dev_acs_enabled[] (drivers/pci/quirks.c, 6.18.y and late 6.1.y), row
// for row and in order; the comments of the kernel table name the parts.
constexpr AcsQuirk kQuirks[] = {
    {kVendorAti, 0x4385, AcsQuirkKind::kAmdSouthbridge, AcsQuirkEra::kIn6614, "SBx00 SMBus controller"},
    {kVendorAti, 0x439c, AcsQuirkKind::kAmdSouthbridge, AcsQuirkEra::kIn6614, "SB7x0/SB8x0/SB9x0 IDE controller"},
    {kVendorAti, 0x4383, AcsQuirkKind::kAmdSouthbridge, AcsQuirkEra::kIn6614, "SBx00 Azalia (Intel HDA)"},
    {kVendorAti, 0x439d, AcsQuirkKind::kAmdSouthbridge, AcsQuirkEra::kIn6614, "SB7x0/SB8x0/SB9x0 LPC host controller"},
    {kVendorAti, 0x4384, AcsQuirkKind::kAmdSouthbridge, AcsQuirkEra::kIn6614, "SBx00 PCI to PCI bridge"},
    {kVendorAti, 0x4399, AcsQuirkKind::kAmdSouthbridge, AcsQuirkEra::kIn6614, "SB7x0/SB8x0/SB9x0 USB OHCI2 controller"},
    {kVendorAmd, 0x780f, AcsQuirkKind::kAmdSouthbridge, AcsQuirkEra::kIn6614, "FCH PCI bridge"},
    {kVendorAmd, 0x7809, AcsQuirkKind::kAmdSouthbridge, AcsQuirkEra::kIn6614, "FCH USB OHCI controller"},
    {kVendorSolarflare, 0x0903, AcsQuirkKind::kMultifunctionEndpoint, AcsQuirkEra::kIn6614, "Solarflare NIC"},
    {kVendorSolarflare, 0x0923, AcsQuirkKind::kMultifunctionEndpoint, AcsQuirkEra::kIn6614, "Solarflare NIC"},
    {kVendorSolarflare, 0x0a03, AcsQuirkKind::kMultifunctionEndpoint, AcsQuirkEra::kIn6614, "Solarflare NIC"},
    {kVendorIntel, 0x10c6, AcsQuirkKind::kMultifunctionEndpoint, AcsQuirkEra::kIn6614,
     "Intel 10GbE (82598/82599/X540 family)"},
    {kVendorIntel, 0x10db, AcsQuirkKind::kMultifunctionEndpoint, AcsQuirkEra::kIn6614,
     "Intel 10GbE (82598/82599/X540 family)"},
    {kVendorIntel, 0x10dd, AcsQuirkKind::kMultifunctionEndpoint, AcsQuirkEra::kIn6614,
     "Intel 10GbE (82598/82599/X540 family)"},
    {kVendorIntel, 0x10e1, AcsQuirkKind::kMultifunctionEndpoint, AcsQuirkEra::kIn6614,
     "Intel 10GbE (82598/82599/X540 family)"},
    {kVendorIntel, 0x10f1, AcsQuirkKind::kMultifunctionEndpoint, AcsQuirkEra::kIn6614,
     "Intel 10GbE (82598/82599/X540 family)"},
    {kVendorIntel, 0x10f7, AcsQuirkKind::kMultifunctionEndpoint, AcsQuirkEra::kIn6614,
     "Intel 10GbE (82598/82599/X540 family)"},
    {kVendorIntel, 0x10f8, AcsQuirkKind::kMultifunctionEndpoint, AcsQuirkEra::kIn6614,
     "Intel 10GbE (82598/82599/X540 family)"},
    {kVendorIntel, 0x10f9, AcsQuirkKind::kMultifunctionEndpoint, AcsQuirkEra::kIn6614,
     "Intel 10GbE (82598/82599/X540 family)"},
    {kVendorIntel, 0x10fa, AcsQuirkKind::kMultifunctionEndpoint, AcsQuirkEra::kIn6614,
     "Intel 10GbE (82598/82599/X540 family)"},
    {kVendorIntel, 0x10fb, AcsQuirkKind::kMultifunctionEndpoint, AcsQuirkEra::kIn6614,
     "Intel 10GbE (82598/82599/X540 family)"},
    {kVendorIntel, 0x10fc, AcsQuirkKind::kMultifunctionEndpoint, AcsQuirkEra::kIn6614,
     "Intel 10GbE (82598/82599/X540 family)"},
    {kVendorIntel, 0x1507, AcsQuirkKind::kMultifunctionEndpoint, AcsQuirkEra::kIn6614,
     "Intel 10GbE (82598/82599/X540 family)"},
    {kVendorIntel, 0x1514, AcsQuirkKind::kMultifunctionEndpoint, AcsQuirkEra::kIn6614,
     "Intel 10GbE (82598/82599/X540 family)"},
    {kVendorIntel, 0x151c, AcsQuirkKind::kMultifunctionEndpoint, AcsQuirkEra::kIn6614,
     "Intel 10GbE (82598/82599/X540 family)"},
    {kVendorIntel, 0x1529, AcsQuirkKind::kMultifunctionEndpoint, AcsQuirkEra::kIn6614,
     "Intel 10GbE (82598/82599/X540 family)"},
    {kVendorIntel, 0x152a, AcsQuirkKind::kMultifunctionEndpoint, AcsQuirkEra::kIn6614,
     "Intel 10GbE (82598/82599/X540 family)"},
    {kVendorIntel, 0x154d, AcsQuirkKind::kMultifunctionEndpoint, AcsQuirkEra::kIn6614,
     "Intel 10GbE (82598/82599/X540 family)"},
    {kVendorIntel, 0x154f, AcsQuirkKind::kMultifunctionEndpoint, AcsQuirkEra::kIn6614,
     "Intel 10GbE (82598/82599/X540 family)"},
    {kVendorIntel, 0x1551, AcsQuirkKind::kMultifunctionEndpoint, AcsQuirkEra::kIn6614,
     "Intel 10GbE (82598/82599/X540 family)"},
    {kVendorIntel, 0x1558, AcsQuirkKind::kMultifunctionEndpoint, AcsQuirkEra::kIn6614,
     "Intel 10GbE (82598/82599/X540 family)"},
    {kVendorIntel, 0x1509, AcsQuirkKind::kMultifunctionEndpoint, AcsQuirkEra::kIn6614, "Intel 82580"},
    {kVendorIntel, 0x150e, AcsQuirkKind::kMultifunctionEndpoint, AcsQuirkEra::kIn6614, "Intel 82580"},
    {kVendorIntel, 0x150f, AcsQuirkKind::kMultifunctionEndpoint, AcsQuirkEra::kIn6614, "Intel 82580"},
    {kVendorIntel, 0x1510, AcsQuirkKind::kMultifunctionEndpoint, AcsQuirkEra::kIn6614, "Intel 82580"},
    {kVendorIntel, 0x1511, AcsQuirkKind::kMultifunctionEndpoint, AcsQuirkEra::kIn6614, "Intel 82580"},
    {kVendorIntel, 0x1516, AcsQuirkKind::kMultifunctionEndpoint, AcsQuirkEra::kIn6614, "Intel 82580"},
    {kVendorIntel, 0x1527, AcsQuirkKind::kMultifunctionEndpoint, AcsQuirkEra::kIn6614, "Intel 82580"},
    {kVendorIntel, 0x10c9, AcsQuirkKind::kMultifunctionEndpoint, AcsQuirkEra::kIn6614, "Intel 82576"},
    {kVendorIntel, 0x10e6, AcsQuirkKind::kMultifunctionEndpoint, AcsQuirkEra::kIn6614, "Intel 82576"},
    {kVendorIntel, 0x10e7, AcsQuirkKind::kMultifunctionEndpoint, AcsQuirkEra::kIn6614, "Intel 82576"},
    {kVendorIntel, 0x10e8, AcsQuirkKind::kMultifunctionEndpoint, AcsQuirkEra::kIn6614, "Intel 82576"},
    {kVendorIntel, 0x150a, AcsQuirkKind::kMultifunctionEndpoint, AcsQuirkEra::kIn6614, "Intel 82576"},
    {kVendorIntel, 0x150d, AcsQuirkKind::kMultifunctionEndpoint, AcsQuirkEra::kIn6614, "Intel 82576"},
    {kVendorIntel, 0x1518, AcsQuirkKind::kMultifunctionEndpoint, AcsQuirkEra::kIn6614, "Intel 82576"},
    {kVendorIntel, 0x1526, AcsQuirkKind::kMultifunctionEndpoint, AcsQuirkEra::kIn6614, "Intel 82576"},
    {kVendorIntel, 0x10a7, AcsQuirkKind::kMultifunctionEndpoint, AcsQuirkEra::kIn6614, "Intel 82575"},
    {kVendorIntel, 0x10a9, AcsQuirkKind::kMultifunctionEndpoint, AcsQuirkEra::kIn6614, "Intel 82575"},
    {kVendorIntel, 0x10d6, AcsQuirkKind::kMultifunctionEndpoint, AcsQuirkEra::kIn6614, "Intel 82575"},
    {kVendorIntel, 0x1521, AcsQuirkKind::kMultifunctionEndpoint, AcsQuirkEra::kIn6614, "Intel I350"},
    {kVendorIntel, 0x1522, AcsQuirkKind::kMultifunctionEndpoint, AcsQuirkEra::kIn6614, "Intel I350"},
    {kVendorIntel, 0x1523, AcsQuirkKind::kMultifunctionEndpoint, AcsQuirkEra::kIn6614, "Intel I350"},
    {kVendorIntel, 0x1524, AcsQuirkKind::kMultifunctionEndpoint, AcsQuirkEra::kIn6614, "Intel I350"},
    {kVendorIntel, 0x105e, AcsQuirkKind::kMultifunctionEndpoint, AcsQuirkEra::kIn6614,
     "Intel 82571 (quads omitted: non-ACS switch)"},
    {kVendorIntel, 0x105f, AcsQuirkKind::kMultifunctionEndpoint, AcsQuirkEra::kIn6614,
     "Intel 82571 (quads omitted: non-ACS switch)"},
    {kVendorIntel, 0x1060, AcsQuirkKind::kMultifunctionEndpoint, AcsQuirkEra::kIn6614,
     "Intel 82571 (quads omitted: non-ACS switch)"},
    {kVendorIntel, 0x10d9, AcsQuirkKind::kMultifunctionEndpoint, AcsQuirkEra::kIn6614,
     "Intel 82571 (quads omitted: non-ACS switch)"},
    {kVendorIntel, 0x15b7, AcsQuirkKind::kMultifunctionEndpoint, AcsQuirkEra::kIn6614, "Intel I219"},
    {kVendorIntel, 0x15b8, AcsQuirkKind::kMultifunctionEndpoint, AcsQuirkEra::kIn6614, "Intel I219"},
    {kVendorIntel, kPciAnyId, AcsQuirkKind::kIntelRciep, AcsQuirkEra::kIn6614,
     "Intel root complex integrated endpoint"},
    {kVendorQcom, 0x0400, AcsQuirkKind::kQcomRootPort, AcsQuirkEra::kIn6614, "Qualcomm QDF2xxx root port"},
    {kVendorQcom, 0x0401, AcsQuirkKind::kQcomRootPort, AcsQuirkEra::kIn6614, "Qualcomm QDF2xxx root port"},
    {kVendorQcom, 0x0115, AcsQuirkKind::kQcomRootPort, AcsQuirkEra::kAfter6614, "Qualcomm SA8775P root port"},
    {kVendorHxt, 0x0401, AcsQuirkKind::kQcomRootPort, AcsQuirkEra::kIn6614, "HXT SD4800 root port"},
    {kVendorIntel, kPciAnyId, AcsQuirkKind::kIntelPch, AcsQuirkEra::kIn6614, "Intel PCH root port"},
    {kVendorIntel, kPciAnyId, AcsQuirkKind::kIntelSptPch, AcsQuirkEra::kIn6614,
     "Intel Sunrise/Union Point PCH root port"},
    {0x19a2, 0x0710, AcsQuirkKind::kMultifunctionEndpoint, AcsQuirkEra::kIn6614, "Emulex BE3-R"},
    {0x10df, 0x0720, AcsQuirkKind::kMultifunctionEndpoint, AcsQuirkEra::kIn6614, "Emulex Skyhawk-R"},
    {kVendorCavium, kPciAnyId, AcsQuirkKind::kCavium, AcsQuirkEra::kIn6614, "Cavium ThunderX root port"},
    {kVendorCavium, 0xa026, AcsQuirkKind::kMultifunctionEndpoint, AcsQuirkEra::kIn6614, "Cavium multi-function device"},
    {kVendorCavium, 0xa059, AcsQuirkKind::kMultifunctionEndpoint, AcsQuirkEra::kIn6614, "Cavium multi-function device"},
    {kVendorCavium, 0xa060, AcsQuirkKind::kMultifunctionEndpoint, AcsQuirkEra::kIn6614, "Cavium multi-function device"},
    {kVendorAmcc, 0xe004, AcsQuirkKind::kXgene, AcsQuirkEra::kIn6614, "APM X-Gene root port"},
    {kVendorAmpere, 0xe005, AcsQuirkKind::kXgene, AcsQuirkEra::kIn6614, "Ampere Computing root port"},
    {kVendorAmpere, 0xe006, AcsQuirkKind::kXgene, AcsQuirkEra::kIn6614, "Ampere Computing root port"},
    {kVendorAmpere, 0xe007, AcsQuirkKind::kXgene, AcsQuirkEra::kIn6614, "Ampere Computing root port"},
    {kVendorAmpere, 0xe008, AcsQuirkKind::kXgene, AcsQuirkEra::kIn6614, "Ampere Computing root port"},
    {kVendorAmpere, 0xe009, AcsQuirkKind::kXgene, AcsQuirkEra::kIn6614, "Ampere Computing root port"},
    {kVendorAmpere, 0xe00a, AcsQuirkKind::kXgene, AcsQuirkEra::kIn6614, "Ampere Computing root port"},
    {kVendorAmpere, 0xe00b, AcsQuirkKind::kXgene, AcsQuirkEra::kIn6614, "Ampere Computing root port"},
    {kVendorAmpere, 0xe00c, AcsQuirkKind::kXgene, AcsQuirkEra::kIn6614, "Ampere Computing root port"},
    {kVendorBroadcom, 0x16d7, AcsQuirkKind::kMultifunctionEndpoint, AcsQuirkEra::kIn6614,
     "Broadcom multi-function NIC"},
    {kVendorBroadcom, 0x1750, AcsQuirkKind::kMultifunctionEndpoint, AcsQuirkEra::kIn6614,
     "Broadcom multi-function NIC"},
    {kVendorBroadcom, 0x1751, AcsQuirkKind::kMultifunctionEndpoint, AcsQuirkEra::kIn6614,
     "Broadcom multi-function NIC"},
    {kVendorBroadcom, 0x1752, AcsQuirkKind::kMultifunctionEndpoint, AcsQuirkEra::kIn6614,
     "Broadcom multi-function NIC"},
    {kVendorBroadcom, 0x1760, AcsQuirkKind::kMultifunctionEndpoint, AcsQuirkEra::kAfter6614,
     "Broadcom multi-function NIC"},
    {kVendorBroadcom, 0x1761, AcsQuirkKind::kMultifunctionEndpoint, AcsQuirkEra::kAfter6614,
     "Broadcom multi-function NIC"},
    {kVendorBroadcom, 0x1762, AcsQuirkKind::kMultifunctionEndpoint, AcsQuirkEra::kAfter6614,
     "Broadcom multi-function NIC"},
    {kVendorBroadcom, 0x1763, AcsQuirkKind::kMultifunctionEndpoint, AcsQuirkEra::kAfter6614,
     "Broadcom multi-function NIC"},
    {kVendorBroadcom, 0xd714, AcsQuirkKind::kBroadcomRootPort, AcsQuirkEra::kIn6614, "Broadcom iProc PAXB root port"},
    {kVendorLoongson, 0x3c09, AcsQuirkKind::kLoongsonRootPort, AcsQuirkEra::kAfter6614, "Loongson PCIe root port"},
    {kVendorLoongson, 0x3c19, AcsQuirkKind::kLoongsonRootPort, AcsQuirkEra::kAfter6614, "Loongson PCIe root port"},
    {kVendorLoongson, 0x3c29, AcsQuirkKind::kLoongsonRootPort, AcsQuirkEra::kAfter6614, "Loongson PCIe root port"},
    {kVendorLoongson, 0x7a09, AcsQuirkKind::kLoongsonRootPort, AcsQuirkEra::kAfter6614, "Loongson PCIe root port"},
    {kVendorLoongson, 0x7a19, AcsQuirkKind::kLoongsonRootPort, AcsQuirkEra::kAfter6614, "Loongson PCIe root port"},
    {kVendorLoongson, 0x7a29, AcsQuirkKind::kLoongsonRootPort, AcsQuirkEra::kAfter6614, "Loongson PCIe root port"},
    {kVendorLoongson, 0x7a39, AcsQuirkKind::kLoongsonRootPort, AcsQuirkEra::kAfter6614, "Loongson PCIe root port"},
    {kVendorLoongson, 0x7a49, AcsQuirkKind::kLoongsonRootPort, AcsQuirkEra::kAfter6614, "Loongson PCIe root port"},
    {kVendorLoongson, 0x7a59, AcsQuirkKind::kLoongsonRootPort, AcsQuirkEra::kAfter6614, "Loongson PCIe root port"},
    {kVendorLoongson, 0x7a69, AcsQuirkKind::kLoongsonRootPort, AcsQuirkEra::kAfter6614, "Loongson PCIe root port"},
    {kVendorAmazon, 0x0031, AcsQuirkKind::kAnnapurnaRootPort, AcsQuirkEra::kIn6614, "Amazon Annapurna Labs root port"},
    {kVendorZhaoxin, 0x3038, AcsQuirkKind::kMultifunctionEndpoint, AcsQuirkEra::kIn6614,
     "Zhaoxin multi-function device"},
    {kVendorZhaoxin, 0x3104, AcsQuirkKind::kMultifunctionEndpoint, AcsQuirkEra::kIn6614,
     "Zhaoxin multi-function device"},
    {kVendorZhaoxin, 0x9083, AcsQuirkKind::kMultifunctionEndpoint, AcsQuirkEra::kIn6614,
     "Zhaoxin multi-function device"},
    {kVendorNxp, 0x8d81, AcsQuirkKind::kNxpRootPort, AcsQuirkEra::kIn6614, "NXP LX2xx0A root port"},
    {kVendorNxp, 0x8da1, AcsQuirkKind::kNxpRootPort, AcsQuirkEra::kIn6614, "NXP LX2xx0A root port"},
    {kVendorNxp, 0x8d83, AcsQuirkKind::kNxpRootPort, AcsQuirkEra::kIn6614, "NXP LX2xx0A root port"},
    {kVendorNxp, 0x8d80, AcsQuirkKind::kNxpRootPort, AcsQuirkEra::kIn6614, "NXP LX2xx0C root port"},
    {kVendorNxp, 0x8da0, AcsQuirkKind::kNxpRootPort, AcsQuirkEra::kIn6614, "NXP LX2xx0C root port"},
    {kVendorNxp, 0x8d82, AcsQuirkKind::kNxpRootPort, AcsQuirkEra::kIn6614, "NXP LX2xx0C root port"},
    {kVendorNxp, 0x8d90, AcsQuirkKind::kNxpRootPort, AcsQuirkEra::kIn6614, "NXP LX2xx0E root port"},
    {kVendorNxp, 0x8db0, AcsQuirkKind::kNxpRootPort, AcsQuirkEra::kIn6614, "NXP LX2xx0E root port"},
    {kVendorNxp, 0x8d92, AcsQuirkKind::kNxpRootPort, AcsQuirkEra::kIn6614, "NXP LX2xx0E root port"},
    {kVendorNxp, 0x8d91, AcsQuirkKind::kNxpRootPort, AcsQuirkEra::kIn6614, "NXP LX2xx0N root port"},
    {kVendorNxp, 0x8db1, AcsQuirkKind::kNxpRootPort, AcsQuirkEra::kIn6614, "NXP LX2xx0N root port"},
    {kVendorNxp, 0x8d93, AcsQuirkKind::kNxpRootPort, AcsQuirkEra::kIn6614, "NXP LX2xx0N root port"},
    {kVendorNxp, 0x8d89, AcsQuirkKind::kNxpRootPort, AcsQuirkEra::kIn6614, "NXP LX2xx2A root port"},
    {kVendorNxp, 0x8da9, AcsQuirkKind::kNxpRootPort, AcsQuirkEra::kIn6614, "NXP LX2xx2A root port"},
    {kVendorNxp, 0x8d8b, AcsQuirkKind::kNxpRootPort, AcsQuirkEra::kIn6614, "NXP LX2xx2A root port"},
    {kVendorNxp, 0x8d88, AcsQuirkKind::kNxpRootPort, AcsQuirkEra::kIn6614, "NXP LX2xx2C root port"},
    {kVendorNxp, 0x8da8, AcsQuirkKind::kNxpRootPort, AcsQuirkEra::kIn6614, "NXP LX2xx2C root port"},
    {kVendorNxp, 0x8d8a, AcsQuirkKind::kNxpRootPort, AcsQuirkEra::kIn6614, "NXP LX2xx2C root port"},
    {kVendorNxp, 0x8d98, AcsQuirkKind::kNxpRootPort, AcsQuirkEra::kIn6614, "NXP LX2xx2E root port"},
    {kVendorNxp, 0x8db8, AcsQuirkKind::kNxpRootPort, AcsQuirkEra::kIn6614, "NXP LX2xx2E root port"},
    {kVendorNxp, 0x8d9a, AcsQuirkKind::kNxpRootPort, AcsQuirkEra::kIn6614, "NXP LX2xx2E root port"},
    {kVendorNxp, 0x8d99, AcsQuirkKind::kNxpRootPort, AcsQuirkEra::kIn6614, "NXP LX2xx2N root port"},
    {kVendorNxp, 0x8db9, AcsQuirkKind::kNxpRootPort, AcsQuirkEra::kIn6614, "NXP LX2xx2N root port"},
    {kVendorNxp, 0x8d9b, AcsQuirkKind::kNxpRootPort, AcsQuirkEra::kIn6614, "NXP LX2xx2N root port"},
    {kVendorZhaoxin, kPciAnyId, AcsQuirkKind::kZhaoxinPorts, AcsQuirkEra::kIn6614, "Zhaoxin root/downstream port"},
    {kVendorWangxun, kPciAnyId, AcsQuirkKind::kWangxunNic, AcsQuirkEra::kIn6614, "Wangxun NIC"},
};

// pci_quirk_intel_pch_acs_ids[] (drivers/pci/quirks.c, unchanged from 4.x
// through 6.18.y), sorted here for binary search.
constexpr auto kIntelPchAcsIds = [] {
  std::array<std::uint16_t, 119> ids = {
      // Ibex Peak
      0x3b42, 0x3b43, 0x3b44, 0x3b45, 0x3b46, 0x3b47, 0x3b48, 0x3b49, 0x3b4a, 0x3b4b, 0x3b4c, 0x3b4d, 0x3b4e, 0x3b4f,
      0x3b50, 0x3b51,
      // Cougar Point
      0x1c10, 0x1c11, 0x1c12, 0x1c13, 0x1c14, 0x1c15, 0x1c16, 0x1c17, 0x1c18, 0x1c19, 0x1c1a, 0x1c1b, 0x1c1c, 0x1c1d,
      0x1c1e, 0x1c1f,
      // Panther Point
      0x1e10, 0x1e11, 0x1e12, 0x1e13, 0x1e14, 0x1e15, 0x1e16, 0x1e17, 0x1e18, 0x1e19, 0x1e1a, 0x1e1b, 0x1e1c, 0x1e1d,
      0x1e1e, 0x1e1f,
      // Lynx Point-H
      0x8c10, 0x8c11, 0x8c12, 0x8c13, 0x8c14, 0x8c15, 0x8c16, 0x8c17, 0x8c18, 0x8c19, 0x8c1a, 0x8c1b, 0x8c1c, 0x8c1d,
      0x8c1e, 0x8c1f,
      // Lynx Point-LP
      0x9c10, 0x9c11, 0x9c12, 0x9c13, 0x9c14, 0x9c15, 0x9c16, 0x9c17, 0x9c18, 0x9c19, 0x9c1a, 0x9c1b,
      // Wildcat Point
      0x9c90, 0x9c91, 0x9c92, 0x9c93, 0x9c94, 0x9c95, 0x9c96, 0x9c97, 0x9c98, 0x9c99, 0x9c9a, 0x9c9b,
      // Patsburg (X79)
      0x1d10, 0x1d12, 0x1d14, 0x1d16, 0x1d18, 0x1d1a, 0x1d1c, 0x1d1e,
      // Wellsburg (X99)
      0x8d10, 0x8d11, 0x8d12, 0x8d13, 0x8d14, 0x8d15, 0x8d16, 0x8d17, 0x8d18, 0x8d19, 0x8d1a, 0x8d1b, 0x8d1c, 0x8d1d,
      0x8d1e,
      // Lynx Point (9 series)
      0x8c90, 0x8c92, 0x8c94, 0x8c96, 0x8c98, 0x8c9a, 0x8c9c, 0x8c9e};
  std::sort(ids.begin(), ids.end());
  return ids;
}();

constexpr bool in(std::uint16_t value, std::uint16_t first, std::uint16_t last) {
  return first <= value && value <= last;
}

}  // namespace

std::string_view acs_quirk_function(AcsQuirkKind kind) {
  switch (kind) {
    case AcsQuirkKind::kAmdSouthbridge: return "pci_quirk_amd_sb_acs";
    case AcsQuirkKind::kMultifunctionEndpoint: return "pci_quirk_mf_endpoint_acs";
    case AcsQuirkKind::kIntelRciep: return "pci_quirk_rciep_acs";
    case AcsQuirkKind::kQcomRootPort: return "pci_quirk_qcom_rp_acs";
    case AcsQuirkKind::kIntelPch: return "pci_quirk_intel_pch_acs";
    case AcsQuirkKind::kIntelSptPch: return "pci_quirk_intel_spt_pch_acs";
    case AcsQuirkKind::kCavium: return "pci_quirk_cavium_acs";
    case AcsQuirkKind::kXgene: return "pci_quirk_xgene_acs";
    case AcsQuirkKind::kBroadcomRootPort: return "pci_quirk_brcm_acs";
    case AcsQuirkKind::kLoongsonRootPort: return "pci_quirk_loongson_acs";
    case AcsQuirkKind::kAnnapurnaRootPort: return "pci_quirk_al_acs";
    case AcsQuirkKind::kNxpRootPort: return "pci_quirk_nxp_rp_acs";
    case AcsQuirkKind::kZhaoxinPorts: return "pci_quirk_zhaoxin_pcie_ports_acs";
    case AcsQuirkKind::kWangxunNic: return "pci_quirk_wangxun_nic_acs";
  }
  return "unknown";
}

std::span<const AcsQuirk> acs_quirks() { return kQuirks; }

bool intel_pch_acs_id(std::uint16_t device) {
  return std::binary_search(kIntelPchAcsIds.begin(), kIntelPchAcsIds.end(), device);
}

bool intel_spt_pch_acs_id(std::uint16_t device) {
  return in(device, 0xa110, 0xa11f) || in(device, 0xa167, 0xa16a) || in(device, 0xa290, 0xa29f) ||
         in(device, 0xa2e7, 0xa2ee) || in(device, 0x9d10, 0x9d1b);
}

bool cavium_acs_id(std::uint16_t device) { return in(device, 0xa000, 0xa7ff) || device == 0xaf84 || device == 0xb884; }

bool zhaoxin_acs_id(std::uint16_t device) {
  return in(device, 0x0710, 0x071e) || device == 0x0721 || in(device, 0x0723, 0x0752);
}

bool wangxun_acs_id(std::uint16_t device, bool include_after_6_6_14) {
  if (in(device, 0x0100, 0x010f) || device == 0x1001 || device == 0x2001) return true;
  if (!include_after_6_6_14) return false;
  switch (device) {
    case 0x5010:
    case 0x5025:
    case 0x5040:
    case 0x5110:
    case 0x5125:
    case 0x5140: return true;
    default: return false;
  }
}

}  // namespace iovakit::kernel
