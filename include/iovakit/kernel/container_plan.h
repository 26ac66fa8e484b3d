// iovakit/kernel/container_plan.h: the usable IOVA list of a VFIO type1
// container holding the groups of some devices, with the cause of every hole.
//
// Design
// ------
// This is the question `iovakit ranges --device BDF...` answers: "if these
// devices go to one VM, which guest-physical addresses can be DMA-mapped,
// and what is in the way everywhere else?" It replays what a VMM does
// (vfio_type1.h): each distinct group joins one container
// (VFIO_GROUP_SET_CONTAINER, in the order the devices were named), then
// VFIO_SET_IOMMU(VFIO_TYPE1v2_IOMMU). The usable list is then the
// container's own (vfio_iommu_type1_get_info's IOVA range capability), so
// every kernel quirk the container models is in it.
//
// Causes are joined afterwards, hole by hole: the aperture edges of each
// domain (with the vendor model's explanation of the width), and each
// attached group's excluded regions with the devices and firmware
// structures that put them there (DeviceRegion::cause). Relaxable regions
// are listed too, as hazards rather than holes: type1 leaves them usable,
// but the identity mapping firmware asked for is lost while the device is
// assigned.
//
// Before the usable list existed (profile without type1_iova_list) the
// container reports no list; the plan then computes what the list would be
// and marks it as not enforced: maps into holes succeed and fault later.
//
// Thread safety: pure function.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "iovakit/iova/range.h"
#include "iovakit/iova/range_set.h"
#include "iovakit/kernel/errno.h"
#include "iovakit/kernel/platform_prediction.h"

namespace iovakit::kernel {

struct HoleCause {
  enum class Kind : std::uint8_t { kAperture, kRegion };
  Kind kind = Kind::kRegion;
  unsigned group = 0;
  iova::ResvRegion region;           // kRegion: the group's merged region
  std::vector<std::size_t> devices;  // kRegion: the members that contribute it
  std::string text;                  // one sentence, with firmware citations
};

struct PlanHole {
  iova::Range range;
  std::vector<HoleCause> causes;
};

struct ContainerPlan {
  std::vector<unsigned> groups;  // the container's groups, in join order
  std::vector<Outcome> steps;    // each SET_CONTAINER, then SET_IOMMU
  bool attached = false;         // every step succeeded
  bool enforced = true;          // the kernel refuses maps outside the list
  iova::RangeSet usable;
  std::vector<PlanHole> holes;       // the complement of `usable`, in order
  std::vector<HoleCause> relaxable;  // direct-relaxable regions: usable, identity map lost
  std::uint64_t pgsize_bitmap = 0;
  std::vector<std::string> problems;  // devices without a group, refusals, in words
};

ContainerPlan plan_container(const PlatformPrediction& prediction, const pci::Topology& topology,
                             const std::vector<std::size_t>& devices, bool allow_unsafe_interrupts = false);

}  // namespace iovakit::kernel
