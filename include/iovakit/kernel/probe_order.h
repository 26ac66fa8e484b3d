// iovakit/kernel/probe_order.h: the order in which the kernel adds PCI
// devices, which is the order every per-device pass at boot sees them.
//
// Design
// ------
// pci_bus_add_devices (drivers/pci/bus.c, 6.1 and 7.0) registers every device
// of a bus in the bus's list order (devfn order, as pci_scan_child_bus found
// them), and only then recurses into the buses below each bridge, bridge by
// bridge in the same order. Root buses are added in host-bridge order (segment,
// then bus number). bus_for_each_dev and for_each_pci_dev walk devices in that
// registration order, so the IOMMU probe, DMAR scope insertion and IOMMU group
// creation all see devices in this order. It decides group numbering and the
// order of scope slots; it never changes which devices share a group.
//
// Complexity: O(n log n). Thread safety: pure function.
#pragma once

#include <cstddef>
#include <vector>

#include "iovakit/pci/topology.h"

namespace iovakit::kernel {

// Topology indexes in registration order.
std::vector<std::size_t> probe_order(const pci::Topology& topology);

}  // namespace iovakit::kernel
