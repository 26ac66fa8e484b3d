// iovakit/pci/sysfs_path.h: where a PCI function sits, from its sysfs device path.
//
// Design
// ------
// Linux registers every PCI function as a child of the bridge that owns its bus
// (pci_dev->dev.parent is bus->bridge, the upstream bridge's device, or the
// root bus's host bridge), so the real path of a device directory spells the
// hierarchy: /sys/devices/pci0000:00/0000:00:1c.0/0000:02:00.0 is 02:00.0
// below the bridge 00:1c.0 on root bus 0000:00. That is exactly the chain
// dmar_alloc_pci_notify_info walks with tmp = tmp->bus->self, so the host layer
// (which knows the path; this layer reads no files) can hand it over and the
// topology need not guess parents from bus-number ranges.
//
// Accepted: any path (absolute, or relative like the /sys/bus/pci/devices/*
// link targets "../../../devices/...") that contains a root-bus component
// "pci<segment>:<bus>" ("pci0000:00", VMD's "pci10000:e0") followed only by
// function components "<segment>:<bus>:<dev>.<fn>". When several root
// components appear, the last one wins: a VMD endpoint (0000:00:0e.0) owns a
// root bus of its own (pci10000:e0), and the function just before that root
// component is kept as host_device(): pci_real_dma_dev() on x86 makes DMA
// from devices in a VMD domain appear as the VMD endpoint's. Every function
// after the root must be in the root's segment, the first on the root bus; a
// trailing '/' is allowed.
//
// Complexity: O(length). Thread safety: a plain value.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "iovakit/pci/bdf.h"
#include "iovakit/result.h"

namespace iovakit::pci {

struct SysfsDevicePath {
  std::uint32_t segment = 0;  // from "pciSSSS:BB"
  std::uint8_t root_bus = 0;  // from "pciSSSS:BB"
  // Root-most first; back() is the device itself. Never empty.
  std::vector<Bdf> chain;
  // The function whose child the root bus is (VMD), when there is one.
  std::optional<Bdf> host_device;

  [[nodiscard]] const Bdf& device() const { return chain.back(); }
  // chain[size-2], the upstream bridge; nullopt on the root bus.
  [[nodiscard]] std::optional<Bdf> parent() const;

  friend bool operator==(const SysfsDevicePath&, const SysfsDevicePath&) = default;
};

Result<SysfsDevicePath> parse_sysfs_device_path(std::string_view path);

}  // namespace iovakit::pci
