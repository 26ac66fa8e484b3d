#include "iovakit/pci/class_code.h"

#include <fmt/core.h>

#include <array>

namespace iovakit::pci {

namespace {

struct ClassName {
  std::uint16_t class16;
  std::string_view name;
};

// Sub-class names in pci.ids wording, for the classes people meet next to an
// IOMMU: storage, network, display, bridges, USB, system peripherals.
constexpr std::array kClassNames{
    ClassName{0x0000, "Non-VGA unclassified device"},
    ClassName{0x0001, "VGA compatible unclassified device"},
    ClassName{0x0100, "SCSI storage controller"},
    ClassName{0x0101, "IDE interface"},
    ClassName{0x0104, "RAID bus controller"},
    ClassName{0x0106, "SATA controller"},
    ClassName{0x0107, "Serial Attached SCSI controller"},
    ClassName{0x0108, "Non-Volatile memory controller"},
    ClassName{0x0180, "Mass storage controller"},
    ClassName{0x0200, "Ethernet controller"},
    ClassName{0x0207, "Infiniband controller"},
    ClassName{0x0280, "Network controller"},
    ClassName{0x0300, "VGA compatible controller"},
    ClassName{0x0301, "XGA compatible controller"},
    ClassName{0x0302, "3D controller"},
    ClassName{0x0380, "Display controller"},
    ClassName{0x0400, "Multimedia video controller"},
    ClassName{0x0401, "Multimedia audio controller"},
    ClassName{0x0403, "Audio device"},
    ClassName{0x0480, "Multimedia controller"},
    ClassName{0x0500, "RAM memory"},
    ClassName{0x0580, "Memory controller"},
    ClassName{0x0600, "Host bridge"},
    ClassName{0x0601, "ISA bridge"},
    ClassName{0x0604, "PCI bridge"},
    ClassName{0x0607, "CardBus bridge"},
    ClassName{0x0680, "Bridge"},
    ClassName{0x0700, "Serial controller"},
    ClassName{0x0780, "Communication controller"},
    ClassName{0x0805, "SD Host controller"},
    ClassName{0x0806, "IOMMU"},
    ClassName{0x0880, "System peripheral"},
    ClassName{0x0c03, "USB controller"},
    ClassName{0x0c05, "SMBus"},
    ClassName{0x0c80, "Serial bus controller"},
    ClassName{0x0d80, "Wireless controller"},
    ClassName{0x1080, "Encryption controller"},
    ClassName{0x1180, "Signal processing controller"},
    ClassName{0x1200, "Processing accelerators"},
};

constexpr std::array<std::string_view, 0x14> kBaseNames{
    "Unclassified device",
    "Mass storage controller",
    "Network controller",
    "Display controller",
    "Multimedia controller",
    "Memory controller",
    "Bridge",
    "Communication controller",
    "Generic system peripheral",
    "Input device controller",
    "Docking station",
    "Processor",
    "Serial bus controller",
    "Wireless controller",
    "Intelligent controller",
    "Satellite communications controller",
    "Encryption controller",
    "Signal processing controller",
    "Processing accelerators",
    "Non-Essential Instrumentation",
};

std::string_view usb_interface(std::uint8_t prog_if) {
  switch (prog_if) {
    case 0x00: return "UHCI";
    case 0x10: return "OHCI";
    case 0x20: return "EHCI";
    case 0x30: return "xHCI";
    case 0x40: return "USB4";
    default: return {};
  }
}

}  // namespace

std::string_view base_class_name(std::uint8_t base) {
  if (base < kBaseNames.size()) return kBaseNames[base];
  if (base == 0x40) return "Coprocessor";
  if (base == 0xff) return "Unassigned class";
  return "Unknown class";
}

std::string ClassCode::name() const {
  for (const auto& entry : kClassNames) {
    if (entry.class16 != class16()) continue;
    if (is_usb()) {
      const auto interface = usb_interface(prog_if());
      if (!interface.empty()) return fmt::format("{} ({})", entry.name, interface);
    }
    if (is_subtractive_bridge()) return fmt::format("{} (subtractive decode)", entry.name);
    return std::string(entry.name);
  }
  return fmt::format("{} [{:02x}:{:02x}]", base_class_name(base()), base(), sub());
}

std::string ClassCode::to_string() const { return fmt::format("{:#08x}", value_); }

}  // namespace iovakit::pci
