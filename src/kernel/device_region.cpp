#include "iovakit/kernel/device_region.h"

namespace iovakit::kernel {

std::string_view region_source_name(RegionSource source) {
  switch (source) {
    case RegionSource::kRmrr: return "rmrr";
    case RegionSource::kIsaFloppy: return "isa-floppy";
    case RegionSource::kIoapicMsi: return "ioapic-msi";
    case RegionSource::kIvmd: return "ivmd";
    case RegionSource::kAmdMsi: return "amd-msi";
    case RegionSource::kAmdHtHole: return "amd-ht-hole";
    case RegionSource::kSwMsi: return "sw-msi";
    case RegionSource::kIortRmr: return "iort-rmr";
    case RegionSource::kItsMsi: return "its-msi";
    case RegionSource::kVirtioProbe: return "virtio-probe";
  }
  return "unknown";
}

}  // namespace iovakit::kernel
