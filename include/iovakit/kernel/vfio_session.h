// iovakit/kernel/vfio_session.h: what a VFIO user program would see, step by
// step, on a platform the kernel model predicted.
//
// Design
// ------
// A VfioSession is a PlatformPrediction (which groups exist, their regions,
// geometry and the claim's answer) plus one type1 container
// (vfio_type1.h). It answers the operations a VMM or a test program makes,
// in the same step language as the oracle's guest probe
// (tests/oracle/probe/vfio_probe.c), so a prediction and a real kernel's
// transcript compare line for line:
//
//   bind=BDF        bind to vfio-pci: "0 driver=vfio-pci", or "0 driver=none"
//                   when the device has no IOMMU group (vfio_pci_probe ->
//                   vfio_iommu_group_get fails and the write itself succeeds)
//   group=BDF       open the device's group and VFIO_GROUP_SET_CONTAINER:
//                   ENOENT without a group (no /dev/vfio/N), else the
//                   container's answer (the claim's refusal, or attach errors
//                   once the IOMMU is set)
//   unset=BDF       VFIO_GROUP_UNSET_CONTAINER
//   iommu=TYPE      VFIO_SET_IOMMU
//   info            VFIO_IOMMU_GET_INFO three times, argsz 16, 24, then the
//                   size the kernel asked for (the argsz protocol)
//   map=IOVA,SIZE   VFIO_IOMMU_MAP_DMA (read/write)
//   unmap=IOVA,SIZE VFIO_IOMMU_UNMAP_DMA: "0 unmapped=0x..." on success
//   write=/sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts:V
//                   set the module parameter (the only file the model knows)
//
// Every result keeps the Outcome (errno, deciding kernel function, sentence)
// and the kernel messages the step prints (the claim's dev_warn).
//
// Thread safety: none; one session per thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "iovakit/kernel/platform_prediction.h"
#include "iovakit/kernel/vfio_get_info.h"
#include "iovakit/kernel/vfio_type1.h"
#include "iovakit/pci/bdf.h"
#include "iovakit/result.h"

namespace iovakit::kernel {

struct VfioStep {
  enum class Verb : std::uint8_t { kBind, kGroup, kUnset, kIommu, kInfo, kMap, kUnmap, kWrite };
  Verb verb = Verb::kInfo;
  std::string text;         // as given: "map=0x100000,0x1000"
  pci::Bdf bdf;             // bind, group, unset
  std::uint64_t value = 0;  // iommu type; map/unmap iova
  std::uint64_t size = 0;   // map/unmap
};

// Parses one step; errors name the step and what is wrong with it.
Result<VfioStep> parse_vfio_step(std::string_view text);

// What GET_INFO's three calls return, in the form the oracle observes.
struct VfioInfoObservation {
  std::vector<std::uint32_t> argsz;   // argsz after each call
  std::vector<std::uint32_t> copied;  // bytes written for the argsz 16 and 24 calls
  std::vector<DecodedCap> caps;       // the chain of the full call
  std::vector<VfioIovaRange> iova_ranges;
  std::optional<std::uint32_t> dma_avail;
  std::optional<std::uint64_t> pgsizes;
  std::optional<MigrationCap> migration;
};

struct VfioStepResult {
  VfioStep step;
  Outcome outcome;
  std::string result;             // "0", "EINVAL", "0 unmapped=0x1000", "0 driver=vfio-pci"
  std::vector<std::string> kmsg;  // kernel messages printed during the step
  std::optional<VfioInfoObservation> info;
};

class VfioSession {
 public:
  // `prediction` must outlive the session.
  VfioSession(const PlatformPrediction& prediction, const pci::Topology& topology,
              bool allow_unsafe_interrupts = false);

  VfioStepResult run(const VfioStep& step);
  [[nodiscard]] const Type1Container& container() const { return container_; }

 private:
  const PlatformPrediction& prediction_;
  const pci::Topology& topology_;
  Type1Container container_;
};

}  // namespace iovakit::kernel
