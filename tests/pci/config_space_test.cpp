#include "iovakit/pci/config_space.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "pci/support/config_builder.h"

namespace iovakit::pci {
namespace {

using testing::ConfigBuilder;

bool has_issue(const ConfigSpace& config, ConfigIssueKind kind) {
  return std::any_of(config.issues().begin(), config.issues().end(), [kind](const auto& i) { return i.kind == kind; });
}

const ConfigIssue& issue(const ConfigSpace& config, ConfigIssueKind kind) {
  return *std::find_if(config.issues().begin(), config.issues().end(),
                       [kind](const auto& i) { return i.kind == kind; });
}

TEST(ConfigSpace, NormalHeaderWithCapabilityChain) {
  const auto config = testing::pcie_endpoint(0x8086, 0x9b41, 0x030000, PcieType::kRcIntegratedEndpoint)
                          .subsystem(0x17aa, 0x22be)
                          .u8(0x08, 0x02)
                          .u16(0x04, 0x0407)
                          .parse();
  EXPECT_EQ(config.vendor_id(), 0x8086);
  EXPECT_EQ(config.device_id(), 0x9b41);
  EXPECT_EQ(config.command(), 0x0407);
  EXPECT_EQ(config.revision(), 0x02);
  EXPECT_EQ(config.class_code(), ClassCode(0x030000));
  EXPECT_EQ(config.kernel_class(), ClassCode(0x030000));
  EXPECT_EQ(config.header_type(), HeaderType::kNormal);
  EXPECT_FALSE(config.is_multifunction());
  EXPECT_EQ(config.subsystem_vendor_id(), 0x17aa);
  EXPECT_EQ(config.subsystem_id(), 0x22be);
  EXPECT_FALSE(config.bus_numbers());
  EXPECT_EQ(config.extent(), ConfigExtent::kExtended);
  EXPECT_TRUE(config.capabilities_known());
  EXPECT_EQ(config.capabilities(), (std::vector<Capability>{{0x01, 0x40}, {0x05, 0x50}, {kCapIdPcie, 0x70}}));
  ASSERT_TRUE(config.pcie());
  EXPECT_EQ(config.pcie()->offset, 0x70);
  EXPECT_EQ(config.pcie()->type(), PcieType::kRcIntegratedEndpoint);
  EXPECT_EQ(config.pcie()->version(), 2U);
  EXPECT_EQ(config.pcie_presence(), Presence::kPresent);
  EXPECT_TRUE(config.extended_capabilities_known());
  EXPECT_EQ(config.extended_capabilities(), (std::vector<ExtendedCapability>{{0x0001, 2, 0x100}}));
  EXPECT_EQ(config.acs_presence(), Presence::kAbsent);
  EXPECT_TRUE(config.issues().empty());
}

TEST(ConfigSpace, BridgeHeaderBusNumbersSsvidAndAcs) {
  const auto config = testing::pcie_bridge(0x8086, 0x02b8, PcieType::kRootPort, 0x00, 0x02, 0x05).parse();
  EXPECT_EQ(config.header_type(), HeaderType::kBridge);
  EXPECT_TRUE(config.is_bridge_header());
  EXPECT_EQ(config.bus_numbers(), (BusNumbers{0x00, 0x02, 0x05}));
  EXPECT_EQ(config.subsystem_vendor_id(), 0x8086);  // from the SSVID capability
  EXPECT_EQ(config.subsystem_id(), 0x1234);
  EXPECT_EQ(config.pcie()->type(), PcieType::kRootPort);
  ASSERT_TRUE(config.acs());
  EXPECT_EQ(config.acs()->offset, 0x140);
  EXPECT_EQ(config.acs()->capabilities, 0x001f);
  EXPECT_EQ(config.acs()->control, 0x001d);
  EXPECT_EQ(acs_flags_string(config.acs()->control), "SV RR CR UF");
  EXPECT_EQ(acs_flags_string(0), "-");
  EXPECT_EQ(config.acs_presence(), Presence::kPresent);
  EXPECT_EQ(config.extended_capabilities(),
            (std::vector<ExtendedCapability>{{0x0001, 2, 0x100}, {kExtCapIdAcs, 1, 0x140}}));
}

TEST(ConfigSpace, CardbusHeaderUsesItsOwnCapabilityPointerAndSubsystemOffsets) {
  ConfigBuilder b(kConfigCardbusUserSize);
  b.ids(0x1180, 0x0476)
      .class_code(0x060700)
      .header(2, true)
      .buses(0x02, 0x03, 0x06)
      .u16(0x40, 0x1028)
      .u16(0x42, 0x0188);
  b.cap_list(0x60, 0x14).cap(0x60, 0x01, 0x00).u8(0x34, 0x99);  // 0x34 is not the list head here
  const auto config = b.parse();
  EXPECT_EQ(config.header_type(), HeaderType::kCardbus);
  EXPECT_TRUE(config.is_multifunction());
  EXPECT_EQ(config.extent(), ConfigExtent::kCardbusHeader);
  EXPECT_EQ(config.bus_numbers(), (BusNumbers{0x02, 0x03, 0x06}));
  EXPECT_EQ(config.subsystem_vendor_id(), 0x1028);
  EXPECT_EQ(config.subsystem_id(), 0x0188);
  EXPECT_EQ(config.capabilities(), (std::vector<Capability>{{0x01, 0x60}}));
  EXPECT_EQ(config.kernel_class(), ClassCode(0x060700));
}

struct MismatchCase {
  std::uint8_t header;
  std::uint32_t class_code;
  std::uint32_t kernel_class;
};

// pci_setup_device: a normal header may not claim PCI-to-PCI bridge class, a
// CardBus header must claim CardBus bridge class; a type 1 header keeps any.
TEST(ConfigSpace, KernelClassAfterHeaderClassCheck) {
  const MismatchCase cases[] = {
      {0, 0x060400, 0x000000}, {0, 0x060401, 0x000000}, {0, 0x068000, 0x068000}, {1, 0x068000, 0x068000},
      {1, 0x060400, 0x060400}, {2, 0x060400, 0x000000}, {2, 0x060700, 0x060700},
  };
  for (const auto& c : cases) {
    ConfigBuilder b(kConfigStandardSize);
    const auto config = b.ids(0x1234, 0x5678).header(c.header).class_code(c.class_code).parse();
    EXPECT_EQ(config.kernel_class(), ClassCode(c.kernel_class)) << int{c.header} << " " << c.class_code;
    EXPECT_EQ(has_issue(config, ConfigIssueKind::kClassHeaderMismatch), c.kernel_class != c.class_code);
  }
  ConfigBuilder b(kConfigStandardSize);
  const auto config = b.ids(0x1234, 0x5678).header(0).class_code(0x060400).parse();
  EXPECT_NE(issue(config, ConfigIssueKind::kClassHeaderMismatch)
                .message.find("ignoring class 0x060400 (doesn't match header type 00)"),
            std::string::npos);
}

TEST(ConfigSpace, CapabilityLoopIsReportedWhereItCloses) {
  ConfigBuilder b(kConfigStandardSize);
  b.ids(0x1234, 0x5678).cap_list(0x40).cap(0x40, 0x01, 0x50).cap(0x50, 0x05, 0x40);
  const auto config = b.parse();
  EXPECT_EQ(config.capabilities(), (std::vector<Capability>{{0x01, 0x40}, {0x05, 0x50}}));
  EXPECT_TRUE(config.capabilities_known());
  ASSERT_TRUE(has_issue(config, ConfigIssueKind::kCapabilityLoop));
  EXPECT_EQ(issue(config, ConfigIssueKind::kCapabilityLoop).offset, 0x51U);
  EXPECT_EQ(config.pcie_presence(), Presence::kAbsent);
}

TEST(ConfigSpace, SelfLoopAndMisalignedPointers) {
  ConfigBuilder b(kConfigStandardSize);
  b.ids(0x1234, 0x5678).cap_list(0x43).cap(0x40, 0x10, 0x40).u16(0x42, 0x0040);
  const auto config = b.parse();
  EXPECT_EQ(config.capabilities(), (std::vector<Capability>{{0x10, 0x40}}));
  EXPECT_TRUE(has_issue(config, ConfigIssueKind::kCapabilityMisaligned));
  EXPECT_EQ(issue(config, ConfigIssueKind::kCapabilityMisaligned).offset, 0x34U);
  EXPECT_TRUE(has_issue(config, ConfigIssueKind::kCapabilityLoop));
  EXPECT_EQ(config.pcie()->type(), PcieType::kRootPort);
}

// Every dword from 0x40 to 0xfc holds a capability: 48 entries, exactly the
// kernel's TTL, and the list still ends properly.
TEST(ConfigSpace, FortyEightCapabilitiesFitTheTtl) {
  ConfigBuilder b(kConfigStandardSize);
  b.ids(0x1234, 0x5678).cap_list(0x40);
  for (std::size_t pos = 0x40; pos <= 0xfc; pos += 4) {
    b.cap(pos, 0x09, static_cast<std::uint8_t>(pos == 0xfc ? 0 : pos + 4));
  }
  const auto config = b.parse();
  EXPECT_EQ(config.capabilities().size(), static_cast<std::size_t>(kFindCapTtl));
  EXPECT_TRUE(config.issues().empty());
}

struct EndCase {
  const char* what;
  std::uint8_t head;
  std::uint8_t first_id;
  bool status_bit;
  std::size_t count;
};

TEST(ConfigSpace, WhereTheCapabilityListEnds) {
  const EndCase cases[] = {
      {"status bit clear: not walked", 0x40, 0x01, false, 0},
      {"head below 0x40", 0x3c, 0x01, true, 0},
      {"head zero", 0x00, 0x01, true, 0},
      {"ID 0xff ends the walk", 0x40, 0xff, true, 0},
      {"one entry", 0x40, 0x01, true, 1},
  };
  for (const auto& c : cases) {
    ConfigBuilder b(kConfigStandardSize);
    b.ids(0x1234, 0x5678).u8(0x34, c.head).cap(0x40, c.first_id, 0);
    if (c.status_bit) b.u16(0x06, 0x0010);
    const auto config = b.parse();
    EXPECT_EQ(config.capabilities().size(), c.count) << c.what;
    EXPECT_TRUE(config.capabilities_known()) << c.what;
  }
}

TEST(ConfigSpace, SixtyFourByteReadKnowsTheHeaderButNotTheCapabilities) {
  const auto full = testing::pcie_bridge(0x8086, 0x02b8, PcieType::kRootPort, 0, 2, 2);
  auto user = full;
  const auto config = user.truncate(kConfigHeaderSize).parse();
  EXPECT_EQ(config.extent(), ConfigExtent::kHeader);
  EXPECT_EQ(config.bus_numbers(), (BusNumbers{0, 2, 2}));
  EXPECT_EQ(config.class_code(), ClassCode(0x060400));
  EXPECT_FALSE(config.capabilities_known());
  EXPECT_EQ(config.pcie_presence(), Presence::kUnknown);
  EXPECT_EQ(config.acs_presence(), Presence::kUnknown);
  EXPECT_FALSE(config.subsystem_vendor_id());  // SSVID lives in the capabilities
  ASSERT_TRUE(has_issue(config, ConfigIssueKind::kCapabilitiesBeyondData));
  EXPECT_EQ(issue(config, ConfigIssueKind::kCapabilitiesBeyondData).offset, 0x40U);
  EXPECT_FALSE(config.read8(0x40));
  EXPECT_FALSE(config.read16(0x3f));
  EXPECT_EQ(config.read16(0x3e), 0);
  EXPECT_FALSE(config.read32(0x3d));
}

TEST(ConfigSpace, TwoHundredFiftySixBytesOfAPcieFunctionLeaveAcsUnknown) {
  const auto config =
      testing::pcie_bridge(0x8086, 0x02b8, PcieType::kRootPort, 0, 2, 2).truncate(kConfigStandardSize).parse();
  EXPECT_EQ(config.pcie_presence(), Presence::kPresent);
  EXPECT_FALSE(config.extended_capabilities_known());
  EXPECT_EQ(config.acs_presence(), Presence::kUnknown);
  ASSERT_TRUE(has_issue(config, ConfigIssueKind::kExtendedUnavailable));
  EXPECT_NE(issue(config, ConfigIssueKind::kExtendedUnavailable).message.find("cfg_size 256"), std::string::npos);
  // A conventional function's 256 bytes are all there is.
  const auto conventional = testing::conventional(0x8086, 0x3a34, 0x0c0300).parse();
  EXPECT_TRUE(conventional.extended_capabilities_known());
  EXPECT_EQ(conventional.acs_presence(), Presence::kAbsent);
  EXPECT_EQ(conventional.pcie_presence(), Presence::kAbsent);
}

TEST(ConfigSpace, ExtendedCapabilityWalk) {
  struct Case {
    const char* what;
    ConfigBuilder builder;
    std::vector<std::uint16_t> offsets;
    std::optional<ConfigIssueKind> issue;
    bool known;
  };
  const auto base = [] {
    ConfigBuilder b;
    b.ids(0x8086, 0x1234).cap_list(0x40).pcie_cap(0x40, PcieType::kEndpoint);
    return b;
  };
  std::vector<Case> cases;
  cases.push_back({"no extended capabilities", base(), {}, std::nullopt, true});
  {
    auto b = base();
    b.ext_cap(0x100, 0x0001, 2, 0x148).ext_cap(0x148, 0x000e, 1, 0x300).ext_cap(0x300, 0x0010, 1, 0);
    cases.push_back({"three entries", b, {0x100, 0x148, 0x300}, std::nullopt, true});
  }
  {
    auto b = base();
    b.ext_cap(0x100, 0x0001, 2, 0x148).ext_cap(0x148, 0x000e, 1, 0x100);
    cases.push_back({"loop", b, {0x100, 0x148}, ConfigIssueKind::kExtendedLoop, true});
  }
  {
    auto b = base();
    b.ext_cap(0x100, 0x0001, 2, 0x0fc);
    cases.push_back({"next below 0x100 ends the list", b, {0x100}, std::nullopt, true});
  }
  {
    auto b = base();
    b.ext_cap(0x100, 0x0001, 2, 0x14b).ext_cap(0x148, 0x000d, 1, 0);
    cases.push_back({"next pointer bits 1:0 are masked", b, {0x100, 0x148}, std::nullopt, true});
  }
  {
    auto b = base();
    b.u32(0x100, 0xffffffffU).u32(0xffc, 0xffffffffU);
    cases.push_back({"all ones loops at 0xffc", b, {0x100, 0xffc}, ConfigIssueKind::kExtendedLoop, true});
  }
  {
    auto b = base();
    b.ext_cap(0x100, 0x0001, 2, 0x180).ext_cap(0x180, 0x000d, 1, 0).truncate(0x180);
    cases.push_back({"list runs past a partial buffer", b, {0x100}, ConfigIssueKind::kCapabilitiesBeyondData, false});
  }
  for (const auto& c : cases) {
    const auto config = c.builder.parse();
    std::vector<std::uint16_t> offsets;
    for (const auto& cap : config.extended_capabilities()) offsets.push_back(cap.offset);
    EXPECT_EQ(offsets, c.offsets) << c.what;
    EXPECT_EQ(config.extended_capabilities_known(), c.known) << c.what;
    if (c.issue) {
      EXPECT_TRUE(has_issue(config, *c.issue)) << c.what;
    }
  }
}

TEST(ConfigSpace, FirstAcsEntryWinsAndTruncatedAcsIsUnknown) {
  auto b = testing::pcie_endpoint(0x8086, 0x1234, 0x020000);
  b.ext_cap(0x100, 0x0001, 2, 0x140).acs(0x140, 0x0001, 0x0001, 0x160).acs(0x160, 0x007f, 0x007f);
  const auto config = b.parse();
  EXPECT_EQ(config.acs()->offset, 0x140);
  EXPECT_EQ(config.acs()->egress_vector_size(), 0U);

  ConfigBuilder partial(0x144);
  partial.ids(0x8086, 0x1234).cap_list(0x40).pcie_cap(0x40, PcieType::kDownstreamPort);
  partial.ext_cap(0x100, 0x0001, 2, 0x140).ext_cap(0x140, kExtCapIdAcs, 1, 0);
  const auto cut = partial.parse();
  EXPECT_EQ(cut.acs_presence(), Presence::kUnknown);
  EXPECT_TRUE(has_issue(cut, ConfigIssueKind::kUnusualSize));
}

TEST(ConfigSpace, PcieTypeNames) {
  const std::pair<PcieType, const char*> cases[] = {
      {PcieType::kEndpoint, "Endpoint"},
      {PcieType::kLegacyEndpoint, "Legacy Endpoint"},
      {PcieType::kRootPort, "Root Port"},
      {PcieType::kUpstreamPort, "Upstream Port"},
      {PcieType::kDownstreamPort, "Downstream Port"},
      {PcieType::kPcieToPciBridge, "PCIe-to-PCI/PCI-X Bridge"},
      {PcieType::kPciToPcieBridge, "PCI/PCI-X-to-PCIe Bridge"},
      {PcieType::kRcIntegratedEndpoint, "Root Complex Integrated Endpoint"},
      {PcieType::kRcEventCollector, "Root Complex Event Collector"},
      {static_cast<PcieType>(0x3), "reserved type 0x3"},
  };
  for (const auto& [type, name] : cases) {
    EXPECT_EQ(pcie_type_name(type), name);
    const auto config = ConfigBuilder().ids(1, 2).cap_list(0x40).pcie_cap(0x40, type).parse();
    EXPECT_EQ(config.pcie()->type(), type) << name;
  }
}

struct FatalCase {
  const char* what;
  ConfigBuilder builder;
  Errc code;
  std::size_t offset;
  const char* reason;
  ConfigParseOptions options;
};

TEST(ConfigSpace, FatalInputsAreErrorsWithOffsets) {
  std::vector<FatalCase> cases;
  cases.push_back({"63 bytes", ConfigBuilder(63).ids(1, 2), Errc::kTruncated, 63, "header is incomplete", {}});
  cases.push_back({"empty", ConfigBuilder(0), Errc::kTruncated, 0, "header is incomplete", {}});
  cases.push_back({"4097 bytes", ConfigBuilder(4097).ids(1, 2), Errc::kParse, 4096, "stops at 4096", {}});
  cases.push_back({"all ones", ConfigBuilder(64).u32(0, 0xffffffffU), Errc::kParse, 0, "no device", {}});
  cases.push_back({"all zero", ConfigBuilder(64), Errc::kParse, 0, "no device", {}});
  cases.push_back({"vendor ffff", ConfigBuilder(64).ids(0xffff, 0x0000), Errc::kParse, 0, "no device", {}});
  cases.push_back({"device ffff", ConfigBuilder(64).ids(0x0000, 0xffff), Errc::kParse, 0, "no device", {}});
  cases.push_back(
      {"header type 3", ConfigBuilder(64).ids(1, 2).header(3), Errc::kUnsupported, 0x0e, "unknown header type 03", {}});
  cases.push_back({"header type 0x7f",
                   ConfigBuilder(64).ids(1, 2).header(0x7f, true),
                   Errc::kUnsupported,
                   0x0e,
                   "unknown header type 7f",
                   {}});
  for (const auto& c : cases) {
    auto config = ConfigSpace::parse(c.builder.bytes(), c.options);
    ASSERT_FALSE(config.ok()) << c.what;
    EXPECT_EQ(config.error().code(), c.code) << c.what;
    EXPECT_EQ(config.error().where().offset, c.offset) << c.what;
    EXPECT_NE(config.error().message().find(c.reason), std::string::npos) << config.error().to_string();
  }
}

TEST(ConfigSpace, VirtualFunctionIdsReadAllOnes) {
  ConfigBuilder vf(kConfigExtendedSize);
  vf.ids(0xffff, 0xffff).class_code(0x020000).cap_list(0x70).pcie_cap(0x70, PcieType::kEndpoint);
  EXPECT_FALSE(ConfigSpace::parse(vf.bytes()).ok());
  const auto config = vf.parse({.virtual_function = true});
  EXPECT_TRUE(config.is_virtual_function());
  EXPECT_EQ(config.vendor_id(), 0xffff);
}

TEST(ConfigSpace, UnusualSizesAreAcceptedWithAnIssue) {
  const auto config = ConfigBuilder(100).ids(1, 2).parse();
  EXPECT_EQ(config.extent(), ConfigExtent::kOther);
  EXPECT_TRUE(has_issue(config, ConfigIssueKind::kUnusualSize));
  EXPECT_EQ(config.size(), 100U);
}

}  // namespace
}  // namespace iovakit::pci
