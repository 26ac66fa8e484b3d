// Fuzzes the PCI config-space parser. The first input byte picks the options
// (bit 0: SR-IOV VF); the rest is the config space. Properties: an error has a
// message and a byte offset; a parsed config keeps its bytes, every capability
// lies inside them where the kernel would look (standard: dword aligned,
// 0x40..size-2, each once, at most PCI_FIND_CAP_TTL; extended: dword aligned,
// 0x100..size-4, each once, at most 480), the PCIe and ACS capabilities are
// the first of their IDs, and a one-device topology, its DMA aliases and a
// scope match run without failing.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <set>
#include <span>
#include <vector>

#include "iovakit/pci/config_space.h"
#include "iovakit/pci/dma_alias.h"
#include "iovakit/pci/scope_match.h"
#include "iovakit/pci/topology.h"

namespace {

void check(bool condition) {
  if (!condition) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using iovakit::pci::ConfigSpace;
  if (size == 0) return 0;
  const iovakit::pci::ConfigParseOptions options{.virtual_function = (data[0] & 1U) != 0};
  const std::span<const std::uint8_t> bytes(data + 1, size - 1);
  auto parsed = ConfigSpace::parse(bytes, options);
  if (!parsed.ok()) {
    check(!parsed.error().message().empty());
    check(parsed.error().where().offset.has_value());
    check(*parsed.error().where().offset <= iovakit::pci::kConfigExtendedSize);
    return 0;
  }
  const ConfigSpace& config = *parsed;
  check(config.size() == bytes.size());
  check(config.size() >= iovakit::pci::kConfigHeaderSize && config.size() <= iovakit::pci::kConfigExtendedSize);

  std::set<std::uint16_t> seen;
  check(config.capabilities().size() <= static_cast<std::size_t>(iovakit::pci::kFindCapTtl));
  for (const auto& cap : config.capabilities()) {
    check(cap.offset >= 0x40 && cap.offset % 4 == 0 && cap.offset + 1U < config.size());
    check(config.read8(cap.offset) == cap.id);
    check(seen.insert(cap.offset).second);
  }
  seen.clear();
  check(config.extended_capabilities().size() <= static_cast<std::size_t>(iovakit::pci::kFindExtCapTtl));
  for (const auto& cap : config.extended_capabilities()) {
    check(cap.offset >= 0x100 && cap.offset % 4 == 0 && cap.offset + 4U <= config.size());
    check(seen.insert(cap.offset).second);
  }
  if (config.pcie()) check(config.find_capability(iovakit::pci::kCapIdPcie)->offset == config.pcie()->offset);
  if (config.acs()) {
    check(config.find_extended_capability(iovakit::pci::kExtCapIdAcs)->offset == config.acs()->offset);
  }
  for (const auto& issue : config.issues()) check(!issue.message.empty() && issue.offset <= 0x1000);
  // Absent only when the whole list was seen and holds no PCIe entry; a
  // PCIe entry whose flags lie past the data is unknown, not absent.
  const bool pcie_listed = config.find_capability(iovakit::pci::kCapIdPcie).has_value();
  check((config.pcie_presence() == iovakit::pci::Presence::kAbsent) == (config.capabilities_known() && !pcie_listed));
  check((config.pcie_presence() == iovakit::pci::Presence::kPresent) == config.pcie().has_value());

  // The rest of the layer must take whatever parsed.
  std::vector<iovakit::pci::DeviceRecord> records;
  const std::uint8_t bus = 0;
  records.push_back({.bdf = iovakit::pci::Bdf(0, bus, 0, 0), .config = config});
  auto topology = iovakit::pci::Topology::build(std::move(records));
  check(topology.ok());
  const auto aliases = iovakit::pci::dma_aliases(*topology, 0);
  check(!aliases.aliases.empty() || !aliases.complete);
  const std::vector<iovakit::pci::DeviceScope> scopes = {
      {iovakit::pci::kScopeBridge, bus, {{0, 0}}},
      {iovakit::pci::kScopeEndpoint, bus, {{0, 0}}},
  };
  const auto unit = iovakit::pci::resolve_unit(*topology, 0, scopes);
  check(unit.slots.size() + unit.rejections.size() <= 1);
  return 0;
}
