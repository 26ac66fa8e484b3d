// iovakit/host/pci_names.h: vendor and device names from the pci.ids database.
//
// Design
// ------
// Names are looked up with libpci's pci_lookup_name (pciutils), on the pci.ids
// file only: PCI_LOOKUP_NO_HWDB keeps udev's hardware database out (it belongs
// to the machine iovakit runs on, not to the captured host, and would make
// output differ between machines), PCI_LOOKUP_NETWORK is never set (no DNS
// queries), and PCI_LOOKUP_NO_NUMBERS makes an unknown ID an empty answer so
// the caller prints the number itself. The database is the one libpci was
// built with (Debian: /usr/share/misc/pci.ids, package pci.ids) unless a path
// is given (`--pci-ids FILE`; the tests use a small committed excerpt so their
// expected output does not depend on the installed database's age).
//
// Only IDs are looked up, so the same names come out for a live host and for
// a capture read on another machine. libpci's enumeration is not used: it
// cannot read an archive or an in-memory tree, and sysfs gives every field we
// need (pci_devices.h).
//
// libpci reports a malformed database through its error callback, which must
// not return (pci.h PCI_NONRET) and by default exits the process; the loader
// here catches that case and turns it into "no names", with the message kept
// in load_error(). A missing database is also "no names", never an error.
//
// Builds without libpci (the fully static iovakit of the oracle images:
// Debian ships no libpci.a) compile this class to an empty database: every
// lookup answers "", available() is false, and output shows numeric IDs.
//
// Thread safety: lookups are serialised by the caller (libpci's name cache is
// not thread-safe); one PciNames per thread.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace iovakit::host {

class PciNames {
 public:
  // The default database; `path` overrides it.
  explicit PciNames(std::optional<std::string> path = std::nullopt);
  PciNames(const PciNames&) = delete;
  PciNames& operator=(const PciNames&) = delete;
  PciNames(PciNames&&) noexcept;
  PciNames& operator=(PciNames&&) noexcept;
  ~PciNames();

  // True when the library is built with libpci and the database loaded.
  [[nodiscard]] bool available() const;
  // Why the database is unavailable (missing file, parse error, no libpci).
  [[nodiscard]] const std::string& load_error() const { return load_error_; }
  // The database path libpci uses.
  [[nodiscard]] const std::string& path() const { return path_; }

  [[nodiscard]] std::string vendor(std::uint16_t vendor) const;
  [[nodiscard]] std::string device(std::uint16_t vendor, std::uint16_t device) const;
  [[nodiscard]] std::string subsystem(std::uint16_t vendor, std::uint16_t device, std::uint16_t subvendor,
                                      std::uint16_t subdevice) const;

  // True when this build links libpci.
  static bool built_with_libpci();

 private:
  struct State;
  std::unique_ptr<State> state_;
  std::string path_;
  std::string load_error_;
};

}  // namespace iovakit::host
