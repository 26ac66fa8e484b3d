#include "iovakit/host/pci_names.h"

#include <array>
#include <utility>

#if IOVAKIT_HAVE_LIBPCI
#include <csetjmp>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>

extern "C" {
#include <pci/pci.h>
}
#endif

namespace iovakit::host {

#if IOVAKIT_HAVE_LIBPCI

namespace {

// libpci's error callback must not return (pci.h: PCI_NONRET); the default
// one exits the process. Ours jumps back into guarded_load(), the only place
// that lets libpci parse the database, and which holds no C++ object whose
// destructor the jump could skip.
thread_local std::jmp_buf* g_error_jump = nullptr;
thread_local std::array<char, 512> g_error_message{};

// GNU attributes, not [[noreturn]]: clang makes noreturn part of the function
// type only in this spelling, and pci_access::error is declared with it
// (PCI_NONRET). format(printf) lets the vsnprintf below take a non-literal.
__attribute__((noreturn, format(printf, 1, 2))) void on_error(char* format, ...) {
  va_list args;
  va_start(args, format);
  // The analyzer does not see va_start through the GNU attributes above.
  // NOLINTNEXTLINE(clang-analyzer-valist.Uninitialized)
  std::vsnprintf(g_error_message.data(), g_error_message.size(), format, args);
  va_end(args);
  if (g_error_jump != nullptr) std::longjmp(*g_error_jump, 1);
  std::abort();  // unreachable: libpci only reports errors while loading, inside guarded_load
}

void on_warning(char* /*format*/, ...) {}
void on_debug(char* /*format*/, ...) {}

// 1 loaded, 0 not found/unreadable, -1 libpci reported a malformed file.
int guarded_load(pci_access* access) {
  std::jmp_buf jump;
  std::jmp_buf* const saved = g_error_jump;
  g_error_jump = &jump;
  int result = -1;
  if (setjmp(jump) == 0) result = pci_load_name_list(access) != 0 ? 1 : 0;
  g_error_jump = saved;
  return result;
}

}  // namespace

struct PciNames::State {
  pci_access* access = nullptr;
  bool loaded = false;
  ~State() {
    if (access != nullptr) pci_cleanup(access);
  }
  State() = default;
  State(const State&) = delete;
  State& operator=(const State&) = delete;
  State(State&&) = delete;
  State& operator=(State&&) = delete;
};

PciNames::PciNames(std::optional<std::string> path) : state_(std::make_unique<State>()) {
  pci_access* access = pci_alloc();
  state_->access = access;
  access->error = on_error;
  access->warning = on_warning;
  access->debug = on_debug;
  // No DNS cache (~/.pciids-cache), no network, no udev hwdb: pci.ids only.
  access->id_lookup_mode = 0;
  if (path) pci_set_name_list_path(access, strdup(path->c_str()), 1);
  path_ = access->id_file_name != nullptr ? access->id_file_name : "";
  const int loaded = guarded_load(access);
  // pci_load_name_list may have switched to the uncompressed name ("pci.ids.gz" -> "pci.ids").
  path_ = access->id_file_name != nullptr ? access->id_file_name : path_;
  if (loaded == 1) {
    state_->loaded = true;
  } else if (loaded == 0) {
    load_error_ = "cannot open " + path_;
  } else {
    std::string message = g_error_message.data();
    while (!message.empty() && message.back() == '\n') message.pop_back();
    load_error_ = "malformed " + path_ + ": " + message;
    pci_free_name_list(access);
  }
}

bool PciNames::available() const { return state_ && state_->loaded; }
bool PciNames::built_with_libpci() { return true; }

namespace {

std::string lookup(pci_access* access, int flags, unsigned a, unsigned b, unsigned c, unsigned d) {
  std::array<char, 512> buffer{};
  const int mode = flags | PCI_LOOKUP_NO_NUMBERS | PCI_LOOKUP_NO_HWDB;
  const char* name = pci_lookup_name(access, buffer.data(), static_cast<int>(buffer.size()), mode, a, b, c, d);
  return name != nullptr ? std::string(name) : std::string();
}

}  // namespace

std::string PciNames::vendor(std::uint16_t vendor) const {
  if (!available()) return {};
  return lookup(state_->access, PCI_LOOKUP_VENDOR, vendor, 0, 0, 0);
}

std::string PciNames::device(std::uint16_t vendor, std::uint16_t device) const {
  if (!available()) return {};
  return lookup(state_->access, PCI_LOOKUP_DEVICE, vendor, device, 0, 0);
}

std::string PciNames::subsystem(std::uint16_t vendor, std::uint16_t device, std::uint16_t subvendor,
                                std::uint16_t subdevice) const {
  if (!available()) return {};
  return lookup(state_->access, PCI_LOOKUP_SUBSYSTEM | PCI_LOOKUP_DEVICE, vendor, device, subvendor, subdevice);
}

#else  // no libpci: names degrade to numeric IDs

struct PciNames::State {};

PciNames::PciNames(std::optional<std::string> path)
    : path_(path.value_or("")), load_error_("this iovakit was built without libpci") {}

bool PciNames::available() const { return false; }
bool PciNames::built_with_libpci() { return false; }
std::string PciNames::vendor(std::uint16_t /*vendor*/) const { return {}; }
std::string PciNames::device(std::uint16_t /*vendor*/, std::uint16_t /*device*/) const { return {}; }
std::string PciNames::subsystem(std::uint16_t /*vendor*/, std::uint16_t /*device*/, std::uint16_t /*subvendor*/,
                                std::uint16_t /*subdevice*/) const {
  return {};
}

#endif

PciNames::PciNames(PciNames&&) noexcept = default;
PciNames& PciNames::operator=(PciNames&&) noexcept = default;
PciNames::~PciNames() = default;

}  // namespace iovakit::host
