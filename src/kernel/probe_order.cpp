#include "iovakit/kernel/probe_order.h"

#include <map>
#include <utility>

namespace iovakit::kernel {

namespace {

// pci_bus_add_devices: every device of the bus first, then each bridge's
// subtree in the same order.
void add_bus(const pci::Topology& topology, const std::vector<std::size_t>& bus_devices,
             std::vector<std::size_t>& order, std::vector<bool>& seen) {
  for (std::size_t d : bus_devices) {
    if (seen[d]) continue;  // a broken record set must not loop
    seen[d] = true;
    order.push_back(d);
  }
  for (std::size_t d : bus_devices) {
    const auto& children = topology.children(d);
    if (!children.empty()) add_bus(topology, children, order, seen);
  }
}

}  // namespace

std::vector<std::size_t> probe_order(const pci::Topology& topology) {
  // Devices without a recorded parent start a bus of their own: real root
  // buses, and buses whose bridge is missing from the records.
  std::map<std::pair<std::uint32_t, std::uint8_t>, std::vector<std::size_t>> roots;
  for (std::size_t i = 0; i < topology.size(); ++i) {
    if (!topology.parent(i)) roots[{topology.bdf(i).segment(), topology.bdf(i).bus()}].push_back(i);
  }
  std::vector<std::size_t> order;
  order.reserve(topology.size());
  std::vector<bool> seen(topology.size(), false);
  for (const auto& [bus, devices] : roots) add_bus(topology, devices, order, seen);
  return order;
}

}  // namespace iovakit::kernel
