#include "iovakit/kernel/arm_resv.h"

#include <fmt/core.h>

namespace iovakit::kernel {

namespace {

constexpr std::uint8_t kNodeRootComplex = 2;
constexpr std::uint8_t kNodeSmmu = 3;
constexpr std::uint8_t kNodeSmmuV3 = 4;
constexpr std::uint8_t kNodeRmr = 6;
constexpr std::uint64_t k64K = 0x10000;

bool is_smmu(const acpi::IortNode& node) { return node.type == kNodeSmmu || node.type == kNodeSmmuV3; }

// iort_id_map: the output ID of `id` through one mapping, if it applies.
std::optional<std::uint32_t> map_id(const acpi::IdMapping& m, std::uint32_t id) {
  if (m.single()) return m.output_base;
  if (id < m.input_base || id - m.input_base > m.id_count) return std::nullopt;
  return m.output_base + (id - m.input_base);
}

std::optional<std::size_t> node_index(const acpi::Iort& iort, std::size_t offset) {
  for (std::size_t i = 0; i < iort.nodes.size(); ++i) {
    if (iort.nodes[i].offset == offset) return i;
  }
  return std::nullopt;
}

}  // namespace

std::optional<ArmStreamTarget> arm_stream_target(const pci::Topology& topology, const acpi::Iort& iort,
                                                 std::size_t device) {
  const pci::Bdf& bdf = topology.bdf(device);
  for (const acpi::IortNode& node : iort.nodes) {
    if (node.type != kNodeRootComplex || !node.root_complex || node.root_complex->segment != bdf.segment()) continue;
    for (const acpi::IdMapping& m : node.mappings) {
      if (m.single()) continue;  // single mappings of a root complex carry its own MSIs
      const auto sid = map_id(m, bdf.rid());
      if (!sid) continue;
      const auto target = node_index(iort, m.output_reference);
      if (target && is_smmu(iort.nodes[*target])) return ArmStreamTarget{*target, *sid};
    }
  }
  return std::nullopt;
}

ArmResvResult arm_resv_regions(const pci::Topology& topology, const acpi::Iort& iort, const ArmBootOptions& options,
                               std::size_t device) {
  ArmResvResult out;
  DeviceRegion sw;
  sw.region = {kArmSwMsiBase, kArmSwMsiSize, iova::ResvType::kSwMsi,
               iova::prot::kWrite | iova::prot::kNoExec | iova::prot::kMmio};
  sw.cause.source = RegionSource::kSwMsi;
  sw.cause.detail = "the SMMU driver's software MSI window (MSI_IOVA_BASE)";
  out.regions.push_back(std::move(sw));

  const auto target = arm_stream_target(topology, iort, device);
  if (!target) return out;
  const acpi::IortNode& smmu = iort.nodes[target->smmu_node];
  if (smmu.smmu_v3 && smmu.smmu_v3->model == 1) {
    out.unknowns.emplace_back(
        "HiSilicon Hi161x SMMUv3: the kernel adds one MSI page per ITS at its base + 64 KiB; "
        "the ITS addresses are in MADT, not IORT");
  }
  if (iort.header.revision < 5) return out;  // iort_find_rmrs: E.d onwards only
  if (!options.preserve_config) {
    bool any_rmr = false;
    for (const auto& n : iort.nodes) any_rmr = any_rmr || n.type == kNodeRmr;
    if (any_rmr) {
      out.unknowns.emplace_back(
          "IORT RMRs apply to PCI devices only when the host bridge has preserve_config "
          "(_DSM #5 in the DSDT); assumed absent");
    }
    return out;
  }
  for (std::size_t n = 0; n < iort.nodes.size(); ++n) {
    const acpi::IortNode& node = iort.nodes[n];
    if (node.type != kNodeRmr || !node.rmr) continue;
    bool has_dev = false;
    for (const acpi::IdMapping& m : node.mappings) {
      if (m.output_reference != smmu.offset) continue;
      // iort_rmr_has_dev: [output_base, output_base + id_count] inclusive.
      if (target->stream_id >= m.output_base && target->stream_id - m.output_base <= m.id_count) has_dev = true;
    }
    if (!has_dev) continue;
    const acpi::Rmr& rmr = *node.rmr;
    std::uint32_t prot = iova::prot::kRead | iova::prot::kWrite;
    if (rmr.privileged()) prot |= iova::prot::kPriv;
    if (rmr.access_attributes() <= 0x03) prot |= iova::prot::kMmio;
    if (rmr.access_attributes() == 0x05) prot |= iova::prot::kCache;
    for (const acpi::RmrDescriptor& d : rmr.descriptors) {
      std::uint64_t base = d.base;
      std::uint64_t length = d.length;
      if (base % k64K != 0 || length % k64K != 0) {
        const std::uint64_t offset_in_page = base % options.page_size;
        base -= offset_in_page;
        length = (length + offset_in_page + options.page_size - 1) & ~(options.page_size - 1);
        out.kernel_log.push_back(
            fmt::format("ACPI: IORT: [Firmware Bug]: RMR descriptor[{:#x} - {:#x}] not aligned to 64K, continue with "
                        "[{:#x} - {:#x}]",
                        d.base, d.base + d.length - 1, base, base + length - 1));
      }
      DeviceRegion r;
      r.region = {base, length, rmr.remapping_permitted() ? iova::ResvType::kDirectRelaxable : iova::ResvType::kDirect,
                  prot};
      r.cause.source = RegionSource::kIortRmr;
      r.cause.table_index = n;
      r.cause.table_offset = d.offset;
      r.cause.detail = fmt::format(
          "IORT RMR node at offset {:#x}, descriptor at {:#x}: StreamID {:#x} on the "
          "SMMU at offset {:#x}{}",
          node.offset, d.offset, target->stream_id, smmu.offset,
          rmr.remapping_permitted() ? " (remapping permitted)" : "");
      out.regions.push_back(std::move(r));
    }
  }
  return out;
}

}  // namespace iovakit::kernel
