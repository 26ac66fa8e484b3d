#include "iovakit/kernel/vfio_session.h"

#include <fmt/core.h>

#include <charconv>

namespace iovakit::kernel {

namespace {

std::optional<std::uint64_t> parse_number(std::string_view s) {
  int base = 10;
  if (s.starts_with("0x") || s.starts_with("0X")) {
    s.remove_prefix(2);
    base = 16;
  }
  std::uint64_t v = 0;
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v, base);
  if (ec != std::errc() || p != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

std::string errno_word(const Outcome& o) { return o.ok() ? "0" : std::string(o.name()); }

}  // namespace

Result<VfioStep> parse_vfio_step(std::string_view text) {
  VfioStep step;
  step.text = std::string(text);
  const auto eq = text.find('=');
  const std::string_view verb = text.substr(0, eq);
  const std::string_view arg = eq == std::string_view::npos ? std::string_view() : text.substr(eq + 1);
  const auto bad = [&](std::string_view why) {
    return Error(Errc::kInvalidArgument, fmt::format("step \"{}\": {}", text, why));
  };
  if (verb == "bind" || verb == "group" || verb == "unset") {
    step.verb = verb == "bind"    ? VfioStep::Verb::kBind
                : verb == "group" ? VfioStep::Verb::kGroup
                                  : VfioStep::Verb::kUnset;
    auto bdf = pci::Bdf::parse(arg);
    if (!bdf) return bad("expected a PCI address (0000:00:02.0)");
    step.bdf = *bdf;
  } else if (verb == "iommu") {
    step.verb = VfioStep::Verb::kIommu;
    auto n = parse_number(arg);
    if (!n) return bad("expected an IOMMU type number (3 for VFIO_TYPE1v2_IOMMU)");
    step.value = *n;
  } else if (verb == "info") {
    if (eq != std::string_view::npos) return bad("info takes no argument");
    step.verb = VfioStep::Verb::kInfo;
  } else if (verb == "map" || verb == "unmap") {
    step.verb = verb == "map" ? VfioStep::Verb::kMap : VfioStep::Verb::kUnmap;
    const auto comma = arg.find(',');
    auto iova = parse_number(arg.substr(0, comma));
    auto size = comma == std::string_view::npos ? std::nullopt : parse_number(arg.substr(comma + 1));
    if (!iova || !size) return bad("expected IOVA,SIZE (0x100000,0x1000)");
    step.value = *iova;
    step.size = *size;
  } else if (verb == "write") {
    step.verb = VfioStep::Verb::kWrite;
    constexpr std::string_view kParam = "/sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts:";
    if (!arg.starts_with(kParam)) return bad("the model only knows " + std::string(kParam) + "VALUE");
    const std::string_view v = arg.substr(kParam.size());
    if (v != "0" && v != "1" && v != "Y" && v != "N") return bad("expected 0, 1, Y or N");
    step.value = (v == "1" || v == "Y") ? 1 : 0;
  } else {
    return bad("unknown step (bind, group, unset, iommu, info, map, unmap, write)");
  }
  return step;
}

VfioSession::VfioSession(const PlatformPrediction& prediction, const pci::Topology& topology,
                         bool allow_unsafe_interrupts)
    : prediction_(prediction),
      topology_(topology),
      container_(prediction.profile, kDefaultDmaEntryLimit, allow_unsafe_interrupts) {}

VfioStepResult VfioSession::run(const VfioStep& step) {
  VfioStepResult r;
  r.step = step;
  const auto device = [&]() -> std::optional<std::size_t> { return topology_.find(step.bdf); };
  const auto group = [&]() -> const GroupModel* {
    const auto d = device();
    return d ? prediction_.group_of(*d) : nullptr;
  };
  switch (step.verb) {
    case VfioStep::Verb::kBind: {
      if (!device()) {
        r.outcome = Outcome::failure(Errno::kENODEV, "bind_store", "no such PCI device");
        r.result = "ENODEV";
        break;
      }
      // vfio_pci_core_register_device needs an IOMMU group; without one the
      // probe fails and the device stays unbound, though the bind write
      // returns success.
      const bool bound = group() != nullptr;
      r.outcome = Outcome::success("vfio_pci_probe",
                                   bound ? "bound to vfio-pci" : "vfio-pci refused the device: it has no IOMMU group");
      r.result = bound ? "0 driver=vfio-pci" : "0 driver=none";
      break;
    }
    case VfioStep::Verb::kGroup: {
      const GroupModel* g = group();
      if (g == nullptr) {
        r.outcome = Outcome::failure(Errno::kENOENT, "open", "the device has no IOMMU group: no /dev/vfio/N to open");
        break;
      }
      r.outcome = container_.set_container(type1_group_spec(*g, prediction_.profile.features));
      if (!r.outcome.ok() && !g->claim.ok() && !g->claim_log.empty()) r.kmsg.push_back(g->claim_log);
      break;
    }
    case VfioStep::Verb::kUnset: {
      const GroupModel* g = group();
      r.outcome = g == nullptr ? Outcome::failure(Errno::kENOENT, "open", "the device has no IOMMU group")
                               : container_.unset_container(g->id);
      break;
    }
    case VfioStep::Verb::kIommu: {
      const bool was_set = container_.iommu_set();
      r.outcome = container_.set_iommu(static_cast<std::uint32_t>(step.value));
      // Before the claim existed, the driver's refusal came at this attach.
      if (!was_set && !r.outcome.ok()) {
        for (const auto& w : container_.waiting_groups()) {
          if (w.refusal && w.refusal->stage != RefusalStage::kClaimDmaOwner) r.kmsg.push_back(w.refusal->message);
        }
      }
      break;
    }
    case VfioStep::Verb::kInfo: {
      VfioInfoObservation obs;
      const GetInfoReply first = encode_type1_info(container_, 16);
      r.outcome = first.outcome;
      if (first.outcome.ok()) {
        const GetInfoReply second = encode_type1_info(container_, 24);
        const GetInfoReply full = encode_type1_info(container_, std::max<std::uint32_t>(second.argsz, 24));
        obs.argsz = {first.argsz, second.argsz, full.argsz};
        obs.copied = {first.header_bytes, second.header_bytes};
        if (auto decoded = decode_type1_info(full.buffer)) {
          obs.caps = decoded->chain;
          if (decoded->iova_ranges) obs.iova_ranges = *decoded->iova_ranges;
          obs.dma_avail = decoded->dma_avail;
          obs.pgsizes = decoded->iova_pgsizes;
          obs.migration = decoded->migration;
        }
        r.info = obs;
      }
      break;
    }
    case VfioStep::Verb::kMap: {
      DmaMapRequest req;
      req.iova = step.value;
      req.size = step.size;
      req.vaddr = 0x7f0000000000;
      r.outcome = container_.map_dma(req);
      break;
    }
    case VfioStep::Verb::kWrite:
      container_.set_allow_unsafe_interrupts(step.value != 0);
      r.outcome = Outcome::success("param_set_bool", "vfio_iommu_type1.allow_unsafe_interrupts changed");
      break;
    case VfioStep::Verb::kUnmap: {
      DmaUnmapRequest req;
      req.iova = step.value;
      req.size = step.size;
      const DmaUnmapReply reply = container_.unmap_dma(req);
      r.outcome = reply.outcome;
      if (reply.outcome.ok() && reply.size) r.result = fmt::format("0 unmapped={:#x}", *reply.size);
      break;
    }
  }
  if (r.result.empty()) r.result = errno_word(r.outcome);
  return r;
}

}  // namespace iovakit::kernel
