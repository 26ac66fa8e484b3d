#include "iovakit/pci/class_code.h"

#include <gtest/gtest.h>

namespace iovakit::pci {
namespace {

struct ClassCase {
  std::uint32_t value;
  bool display, vga, usb, isa_bridge, pci_bridge, host_bridge, bridge, other_bridge, cardbus;
  const char* name;
};

// Predicates in the kernel's terms (include/linux/pci_ids.h), one row per class.
TEST(ClassCode, PredicatesAndNamesPerClass) {
  const ClassCase cases[] = {
      // value     disp   vga    usb    isa    pci    host   bridge other  cardbus
      {0x030000, true, true, false, false, false, false, false, false, false, "VGA compatible controller"},
      {0x038000, true, false, false, false, false, false, false, false, false, "Display controller"},
      {0x030200, true, false, false, false, false, false, false, false, false, "3D controller"},
      {0x000100, false, true, false, false, false, false, false, false, false, "VGA compatible unclassified device"},
      {0x0c0330, false, false, true, false, false, false, false, false, false, "USB controller (xHCI)"},
      {0x0c0320, false, false, true, false, false, false, false, false, false, "USB controller (EHCI)"},
      {0x0c0300, false, false, true, false, false, false, false, false, false, "USB controller (UHCI)"},
      {0x0c03fe, false, false, true, false, false, false, false, false, false, "USB controller"},
      {0x060100, false, false, false, true, false, false, true, false, false, "ISA bridge"},
      {0x060400, false, false, false, false, true, false, true, false, false, "PCI bridge"},
      {0x060401, false, false, false, false, true, false, true, false, false, "PCI bridge (subtractive decode)"},
      {0x060000, false, false, false, false, false, true, true, false, false, "Host bridge"},
      {0x068000, false, false, false, false, false, false, true, true, false, "Bridge"},
      {0x060700, false, false, false, false, false, false, true, false, true, "CardBus bridge"},
      {0x020000, false, false, false, false, false, false, false, false, false, "Ethernet controller"},
      {0x010802, false, false, false, false, false, false, false, false, false, "Non-Volatile memory controller"},
      {0x0c0500, false, false, false, false, false, false, false, false, false, "SMBus"},
      {0x088000, false, false, false, false, false, false, false, false, false, "System peripheral"},
      {0x0d1100, false, false, false, false, false, false, false, false, false, "Wireless controller [0d:11]"},
      {0xff0000, false, false, false, false, false, false, false, false, false, "Unassigned class [ff:00]"},
      {0x420000, false, false, false, false, false, false, false, false, false, "Unknown class [42:00]"},
  };
  for (const auto& c : cases) {
    const ClassCode cls(c.value);
    SCOPED_TRACE(cls.to_string());
    EXPECT_EQ(cls.is_display(), c.display);
    EXPECT_EQ(cls.is_vga(), c.vga);
    EXPECT_EQ(cls.is_usb(), c.usb);
    EXPECT_EQ(cls.is_isa_bridge(), c.isa_bridge);
    EXPECT_EQ(cls.is_pci_bridge(), c.pci_bridge);
    EXPECT_EQ(cls.is_host_bridge(), c.host_bridge);
    EXPECT_EQ(cls.is_bridge(), c.bridge);
    EXPECT_EQ(cls.is_other_bridge(), c.other_bridge);
    EXPECT_EQ(cls.is_cardbus_bridge(), c.cardbus);
    EXPECT_EQ(cls.name(), c.name);
  }
}

TEST(ClassCode, FieldsAndSysfsForm) {
  const ClassCode cls(0xff0c0330);  // only 24 bits are kept
  EXPECT_EQ(cls.value(), 0x0c0330U);
  EXPECT_EQ(cls.base(), 0x0c);
  EXPECT_EQ(cls.sub(), 0x03);
  EXPECT_EQ(cls.prog_if(), 0x30);
  EXPECT_EQ(cls.class16(), 0x0c03);
  EXPECT_EQ(cls.to_string(), "0x0c0330");
  EXPECT_EQ(ClassCode(0x060400).to_string(), "0x060400");
  EXPECT_TRUE(ClassCode(0x010802).is_nvme());
  EXPECT_TRUE(ClassCode(0x010802).is_storage());
  EXPECT_TRUE(ClassCode(0x040300).is_hd_audio());
  EXPECT_TRUE(ClassCode(0x020000).is_network());
  EXPECT_EQ(base_class_name(0x03), "Display controller");
  EXPECT_EQ(base_class_name(0x40), "Coprocessor");
}

}  // namespace
}  // namespace iovakit::pci
