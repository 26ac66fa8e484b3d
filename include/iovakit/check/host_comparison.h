// iovakit/check/host_comparison.h: the kernel model's prediction next to what
// the running kernel reported, group by group, and (with a live VFIO probe)
// the usable IOVA list the kernel reports through VFIO next to the predicted
// one.
//
// Design
// ------
// Groups are paired by membership, not number: a reported group is compared
// with the predicted group of its first PCI member, because the kernel
// numbers groups in probe order and a missed device shifts every number
// after it. A difference on a real host is itself a finding: a rule iovakit
// misses, or a kernel or firmware quirk. Groups without a PCI member
// (ACPI platform devices on Arm) are not modelled and never count as a
// difference.
//
// Thread safety: values; probe_vfio opens /dev/vfio (host/vfio_live.h).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "iovakit/host/host.h"
#include "iovakit/iova/range_set.h"
#include "iovakit/kernel/platform_prediction.h"

namespace iovakit::check {

struct GroupComparison {
  unsigned number = 0;  // the kernel's group number (or the predicted id when not reported)
  bool reported = false;
  bool predicted = false;
  bool modelled = true;  // false: no PCI member (platform devices are not modelled)
  std::vector<std::string> reported_devices;
  std::vector<std::string> predicted_devices;
  std::string reported_regions;  // sysfs bytes
  std::string predicted_regions;
  std::string claim;  // the predicted VFIO claim: "ok" or "EPERM (function)"
  std::string claim_log;
  // Filled by --probe-vfio for groups bound to vfio-pci.
  std::optional<iova::RangeSet> live_usable;
  std::optional<iova::RangeSet> predicted_usable;
  std::string live_error;

  [[nodiscard]] bool devices_match() const { return reported && predicted && reported_devices == predicted_devices; }
  [[nodiscard]] bool regions_match() const { return reported && predicted && reported_regions == predicted_regions; }
  [[nodiscard]] bool usable_match() const { return !live_usable || live_usable == predicted_usable; }
  [[nodiscard]] bool matches() const { return !modelled || (devices_match() && regions_match() && usable_match()); }
};

struct HostComparison {
  std::string profile;
  std::vector<GroupComparison> groups;
  std::vector<std::string> unknowns;
  std::vector<std::string> notes;
  [[nodiscard]] std::size_t differences() const;
};

// Pairs each reported group with the predicted group holding the same first
// device (groups are compared by membership, numbers can differ when the
// kernel probed in another order).
HostComparison compare_prediction(const host::Host& host, const kernel::PlatformPrediction& prediction);

// --probe-vfio: for every reported group whose members are all bound to
// vfio-pci, GET_INFO on the live kernel and the predicted container's list.
void probe_vfio(const host::Host& host, const kernel::PlatformPrediction& prediction, HostComparison& comparison);

}  // namespace iovakit::check
