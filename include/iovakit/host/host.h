// iovakit/host/host.h: everything the kernel model needs to know about one host.
//
// Design
// ------
// A Host is a plain value built once from a sysfs root (build_host): the live
// system or a capture, through a FileSource. It holds what the machine *is*
// (PCI functions and their topology, IOMMU units and their registers, the
// firmware's DMAR/IVRS/IORT, the kernel version and command line) next to
// what the running kernel *reported* (IOMMU groups with their members, types
// and reserved_regions). Keeping both is the point: the kernel model
// (include/iovakit/kernel) predicts groups and regions from the first half
// and compares with the second.
//
// How the model consumes it:
//   topology        pci::Topology over `devices` (same indexes, BDF order);
//                   dma_aliases(), resolve_unit(), bus ranges, paths
//   firmware        decoded tables (firmware.dmar()/ivrs()/iort()) with
//                   their sources for citations
//   reservations()  map_firmware_reservations(): each RMRR/IVMD/RMR joined
//                   to the devices it names, with offsets and the scope that
//                   matched (firmware_reservations.h)
//   units           Intel cap/ecap (mgaw, sagaw, FL/SL), AMD EFR (HATS)
//   kernel          KernelVersion for profile_for_version(), the command line
//                   (iommu=pt, intel_iommu=igfx_off, relax_rmrr, ...)
//   groups          what the kernel says: compare prediction with
//                   groups[i].regions / reserved_regions (raw bytes)
//
// What the host layer decides: nothing about kernel policy. It reports the
// problems it met while reading as `issues` (each an Error naming a path):
// a device skipped, an attribute that did not parse, a table it may not
// read. build_host() itself fails only when the root has no "sys" directory
// at all (not a sysfs root; exit 2 in the CLI).
//
// Without root on a live system: PCI config is 64 bytes (the pci layer says
// what that leaves unknown), the ACPI tables are unreadable (issues, and
// firmware.permission_denied), everything else in this model is
// world-readable.
//
// Thread safety: a value; build_host uses the source single-threaded.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "iovakit/acpi/kernel_log.h"
#include "iovakit/host/file_source.h"
#include "iovakit/host/firmware_tables.h"
#include "iovakit/host/iommu_groups.h"
#include "iovakit/host/iommu_units.h"
#include "iovakit/host/kernel_info.h"
#include "iovakit/host/pci_devices.h"
#include "iovakit/host/pci_names.h"
#include "iovakit/pci/bdf.h"
#include "iovakit/pci/topology.h"
#include "iovakit/result.h"

namespace iovakit::host {

struct HostOptions {
  // Names from pci.ids; nullptr leaves the names empty.
  const PciNames* names = nullptr;
  // A kernel log to parse (`--dmesg FILE`): its text and its name for messages.
  std::optional<std::string> dmesg_text;
  std::string dmesg_source;
};

struct Host {
  std::string root;  // the root as given ("/", "examples/hosts/x", "host.tar.gz")
  bool live = false;
  KernelInfo kernel;
  std::vector<PciDevice> devices;         // BDF order
  std::optional<pci::Topology> topology;  // same indexes as devices; nullopt if it could not be built
  std::vector<IommuGroup> groups;         // by number
  std::vector<IommuUnit> units;           // by name
  FirmwareTables firmware;
  std::optional<acpi::KernelLog> dmesg;  // --dmesg, or a capture's top-level "dmesg"
  std::string dmesg_source;
  std::vector<Error> issues;

  [[nodiscard]] std::optional<std::size_t> find_device(const pci::Bdf& bdf) const;
  [[nodiscard]] const IommuGroup* find_group(unsigned number) const;
  [[nodiscard]] const IommuUnit* find_unit(std::string_view name) const;
};

// Reads a whole host. Fails only when `source` has no sys/ directory.
Result<Host> build_host(const FileSource& source, const HostOptions& options = {});

// True when two hosts hold the same facts, ignoring where they were read
// from (root names, display paths in issue locations): the snapshot round
// trip's equality.
bool same_host(const Host& a, const Host& b);

// The name a captured tree gives the kernel log (`snapshot --dmesg FILE`).
inline constexpr std::string_view kCapturedDmesg = "dmesg";

}  // namespace iovakit::host
