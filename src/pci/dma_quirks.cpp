#include "iovakit/pci/dma_quirks.h"

#include <algorithm>
#include <array>

#include "iovakit/pci/bdf.h"

namespace iovakit::pci {

namespace {

constexpr std::uint16_t kVendorIntel = 0x8086;
constexpr std::uint16_t kVendorRicoh = 0x1180;
constexpr std::uint16_t kVendorGlenfly = 0x6766;
constexpr std::uint16_t kVendorMarvellExt = 0x1b4b;
constexpr std::uint16_t kVendorTti = 0x1103;
constexpr std::uint16_t kVendorJmicron = 0x197b;
constexpr std::uint16_t kVendorLiteOn = 0x1c28;
constexpr std::uint16_t kVendorAdaptec2 = 0x9005;
constexpr std::uint16_t kVendorPlx = 0x10b5;
constexpr std::uint16_t kVendorMicrosemi = 0x11f8;
constexpr std::uint16_t kVendorEfar = 0x1055;
constexpr std::uint16_t kVendorAsmedia = 0x1b21;
constexpr std::uint16_t kVendorTundra = 0x10e3;
constexpr std::uint16_t kVendorIte = 0x1283;
constexpr std::uint16_t kVendorBroadcom = 0x14e4;

constexpr DmaQuirk simple(std::uint16_t vendor, std::uint16_t device, DmaQuirkKind kind, std::string_view function,
                          std::string_view name) {
  return {vendor, device, kAnyId, kAnyId, std::nullopt, kind, 0, function, name};
}

constexpr DmaQuirk func0(std::uint16_t vendor, std::uint16_t device, std::string_view name) {
  return simple(vendor, device, DmaQuirkKind::kFunction0Alias, "quirk_dma_func0_alias", name);
}
constexpr DmaQuirk func1(std::uint16_t vendor, std::uint16_t device, std::string_view name) {
  return simple(vendor, device, DmaQuirkKind::kFunction1Alias, "quirk_dma_func1_alias", name);
}
constexpr DmaQuirk switchtec(std::uint16_t vendor, std::uint16_t device) {
  return {vendor,
          device,
          kAnyId,
          kAnyId,
          std::uint16_t{0x0680},
          DmaQuirkKind::kSwitchtecNtbAlias,
          0,
          "quirk_switchtec_ntb_dma_alias",
          "Microsemi Switchtec NTB"};
}

// clang-format off
constexpr std::array kQuirks{
    func0(kVendorRicoh, 0xe832, "Ricoh (RH bug 605888)"),
    func0(kVendorRicoh, 0xe476, "Ricoh (RH bug 605888)"),
    func0(kVendorGlenfly, 0x3d40, "Glenfly Arise"),
    func0(kVendorGlenfly, 0x3d41, "Glenfly Arise"),
    func1(kVendorMarvellExt, 0x9120, "Marvell 88SE9120"),
    func1(kVendorMarvellExt, 0x9123, "Marvell 88SE9123"),
    func1(kVendorMarvellExt, 0x9125, "Marvell 88SE9125"),
    func1(kVendorMarvellExt, 0x9128, "Marvell 88SE9128"),
    func1(kVendorMarvellExt, 0x9130, "Marvell 88SE9130"),
    func1(kVendorMarvellExt, 0x9170, "Marvell 88SE9170"),
    func1(kVendorMarvellExt, 0x9172, "Marvell 88SE9172"),
    func1(kVendorMarvellExt, 0x917a, "Marvell 88SE917a"),
    func1(kVendorMarvellExt, 0x9182, "Marvell 88SE9182"),
    func1(kVendorMarvellExt, 0x9183, "Marvell 88SE9183"),
    func1(kVendorMarvellExt, 0x91a0, "Marvell 88SE91a0"),
    func1(kVendorMarvellExt, 0x9215, "Marvell 88SE9215"),
    func1(kVendorMarvellExt, 0x9220, "Marvell 88SE9220"),
    func1(kVendorMarvellExt, 0x9230, "Marvell 88SE9230"),
    func1(kVendorMarvellExt, 0x9235, "Marvell 88SE9235"),
    func1(kVendorTti, 0x0642, "HighPoint (TTI)"),
    func1(kVendorTti, 0x0645, "HighPoint (TTI)"),
    func1(kVendorJmicron, 0x2392, "JMicron JMB388 ESD"),
    func1(kVendorLiteOn, 0x0122, "Plextor M6E (Marvell 88SS9183)"),
    DmaQuirk{kVendorAdaptec2, 0x0285, kVendorAdaptec2, 0x02bb, std::nullopt, DmaQuirkKind::kFixedAlias,
             make_devfn(1, 0), "quirk_fixed_dma_alias", "Adaptec 3405"},
    DmaQuirk{kVendorAdaptec2, 0x0285, kVendorAdaptec2, 0x02bc, std::nullopt, DmaQuirkKind::kFixedAlias,
             make_devfn(1, 0), "quirk_fixed_dma_alias", "Adaptec 3805"},
    simple(kVendorIntel, 0x2260, DmaQuirkKind::kMicX200Alias, "quirk_mic_x200_dma_alias", "Intel MIC x200 DMA"),
    simple(kVendorIntel, 0x2264, DmaQuirkKind::kMicX200Alias, "quirk_mic_x200_dma_alias", "Intel MIC x200 DMA"),
    simple(kVendorIntel, 0x2954, DmaQuirkKind::kPexVcaAlias, "quirk_pex_vca_alias", "Intel VCA (PEX 87xx NTB)"),
    simple(kVendorIntel, 0x2955, DmaQuirkKind::kPexVcaAlias, "quirk_pex_vca_alias", "Intel VCA (PEX 87xx NTB)"),
    simple(kVendorIntel, 0x2956, DmaQuirkKind::kPexVcaAlias, "quirk_pex_vca_alias", "Intel VCA (PEX 87xx NTB)"),
    simple(kVendorIntel, 0x2958, DmaQuirkKind::kPexVcaAlias, "quirk_pex_vca_alias", "Intel VCA (PEX 87xx NTB)"),
    simple(kVendorIntel, 0x2959, DmaQuirkKind::kPexVcaAlias, "quirk_pex_vca_alias", "Intel VCA (PEX 87xx NTB)"),
    simple(kVendorIntel, 0x295a, DmaQuirkKind::kPexVcaAlias, "quirk_pex_vca_alias", "Intel VCA (PEX 87xx NTB)"),
    simple(kVendorPlx, 0x87b0, DmaQuirkKind::kPlxNtbAlias, "quirk_plx_ntb_dma_alias", "PLX NTB"),
    simple(kVendorPlx, 0x87b1, DmaQuirkKind::kPlxNtbAlias, "quirk_plx_ntb_dma_alias", "PLX NTB"),
    switchtec(kVendorMicrosemi, 0x8531), switchtec(kVendorMicrosemi, 0x8532), switchtec(kVendorMicrosemi, 0x8533),
    switchtec(kVendorMicrosemi, 0x8534), switchtec(kVendorMicrosemi, 0x8535), switchtec(kVendorMicrosemi, 0x8536),
    switchtec(kVendorMicrosemi, 0x8541), switchtec(kVendorMicrosemi, 0x8542), switchtec(kVendorMicrosemi, 0x8543),
    switchtec(kVendorMicrosemi, 0x8544), switchtec(kVendorMicrosemi, 0x8545), switchtec(kVendorMicrosemi, 0x8546),
    switchtec(kVendorMicrosemi, 0x8551), switchtec(kVendorMicrosemi, 0x8552), switchtec(kVendorMicrosemi, 0x8553),
    switchtec(kVendorMicrosemi, 0x8554), switchtec(kVendorMicrosemi, 0x8555), switchtec(kVendorMicrosemi, 0x8556),
    switchtec(kVendorMicrosemi, 0x8561), switchtec(kVendorMicrosemi, 0x8562), switchtec(kVendorMicrosemi, 0x8563),
    switchtec(kVendorMicrosemi, 0x8564), switchtec(kVendorMicrosemi, 0x8565), switchtec(kVendorMicrosemi, 0x8566),
    switchtec(kVendorMicrosemi, 0x8571), switchtec(kVendorMicrosemi, 0x8572), switchtec(kVendorMicrosemi, 0x8573),
    switchtec(kVendorMicrosemi, 0x8574), switchtec(kVendorMicrosemi, 0x8575), switchtec(kVendorMicrosemi, 0x8576),
    switchtec(kVendorMicrosemi, 0x4000), switchtec(kVendorMicrosemi, 0x4084), switchtec(kVendorMicrosemi, 0x4068),
    switchtec(kVendorMicrosemi, 0x4052), switchtec(kVendorMicrosemi, 0x4036), switchtec(kVendorMicrosemi, 0x4028),
    switchtec(kVendorMicrosemi, 0x4100), switchtec(kVendorMicrosemi, 0x4184), switchtec(kVendorMicrosemi, 0x4168),
    switchtec(kVendorMicrosemi, 0x4152), switchtec(kVendorMicrosemi, 0x4136), switchtec(kVendorMicrosemi, 0x4128),
    switchtec(kVendorMicrosemi, 0x4200), switchtec(kVendorMicrosemi, 0x4284), switchtec(kVendorMicrosemi, 0x4268),
    switchtec(kVendorMicrosemi, 0x4252), switchtec(kVendorMicrosemi, 0x4236), switchtec(kVendorMicrosemi, 0x4228),
    switchtec(kVendorMicrosemi, 0x4352), switchtec(kVendorMicrosemi, 0x4336), switchtec(kVendorMicrosemi, 0x4328),
    switchtec(kVendorMicrosemi, 0x4452), switchtec(kVendorMicrosemi, 0x4436), switchtec(kVendorMicrosemi, 0x4428),
    switchtec(kVendorMicrosemi, 0x4552), switchtec(kVendorMicrosemi, 0x4536), switchtec(kVendorMicrosemi, 0x4528),
    switchtec(kVendorMicrosemi, 0x5000), switchtec(kVendorMicrosemi, 0x5084), switchtec(kVendorMicrosemi, 0x5068),
    switchtec(kVendorMicrosemi, 0x5052), switchtec(kVendorMicrosemi, 0x5036), switchtec(kVendorMicrosemi, 0x5028),
    switchtec(kVendorMicrosemi, 0x5100), switchtec(kVendorMicrosemi, 0x5184), switchtec(kVendorMicrosemi, 0x5168),
    switchtec(kVendorMicrosemi, 0x5152), switchtec(kVendorMicrosemi, 0x5136), switchtec(kVendorMicrosemi, 0x5128),
    switchtec(kVendorMicrosemi, 0x5200), switchtec(kVendorMicrosemi, 0x5284), switchtec(kVendorMicrosemi, 0x5268),
    switchtec(kVendorMicrosemi, 0x5252), switchtec(kVendorMicrosemi, 0x5236), switchtec(kVendorMicrosemi, 0x5228),
    switchtec(kVendorMicrosemi, 0x5300), switchtec(kVendorMicrosemi, 0x5384), switchtec(kVendorMicrosemi, 0x5368),
    switchtec(kVendorMicrosemi, 0x5352), switchtec(kVendorMicrosemi, 0x5336), switchtec(kVendorMicrosemi, 0x5328),
    switchtec(kVendorMicrosemi, 0x5400), switchtec(kVendorMicrosemi, 0x5484), switchtec(kVendorMicrosemi, 0x5468),
    switchtec(kVendorMicrosemi, 0x5452), switchtec(kVendorMicrosemi, 0x5436), switchtec(kVendorMicrosemi, 0x5428),
    switchtec(kVendorMicrosemi, 0x5500), switchtec(kVendorMicrosemi, 0x5584), switchtec(kVendorMicrosemi, 0x5568),
    switchtec(kVendorMicrosemi, 0x5552), switchtec(kVendorMicrosemi, 0x5536), switchtec(kVendorMicrosemi, 0x5528),
    switchtec(kVendorEfar, 0x1001), switchtec(kVendorEfar, 0x1002), switchtec(kVendorEfar, 0x1003),
    switchtec(kVendorEfar, 0x1004), switchtec(kVendorEfar, 0x1005), switchtec(kVendorEfar, 0x1006),
    simple(kVendorAsmedia, 0x1080, DmaQuirkKind::kPcieBridgeAlias, "quirk_use_pcie_bridge_dma_alias", "ASMedia ASM1083/1085"),
    simple(kVendorTundra, 0x8113, DmaQuirkKind::kPcieBridgeAlias, "quirk_use_pcie_bridge_dma_alias", "Tundra 8113"),
    simple(kVendorIte, 0x8892, DmaQuirkKind::kPcieBridgeAlias, "quirk_use_pcie_bridge_dma_alias", "ITE 8892"),
    simple(kVendorIte, 0x8893, DmaQuirkKind::kPcieBridgeAlias, "quirk_use_pcie_bridge_dma_alias", "ITE 8893"),
    simple(kVendorIntel, 0x244e, DmaQuirkKind::kPcieBridgeAlias, "quirk_use_pcie_bridge_dma_alias", "Intel 82801 PCI bridge"),
    simple(kVendorBroadcom, 0x9000, DmaQuirkKind::kBridgeXlateRoot, "quirk_bridge_cavm_thrx2_pcie_root", "Broadcom Vulcan / Cavium ThunderX2 root"),
    simple(kVendorBroadcom, 0x9084, DmaQuirkKind::kBridgeXlateRoot, "quirk_bridge_cavm_thrx2_pcie_root", "Broadcom Vulcan / Cavium ThunderX2 root"),
};
// clang-format on

bool id_matches(std::uint16_t want, std::optional<std::uint16_t> have) {
  return want == kAnyId || (have && *have == want);
}

}  // namespace

std::span<const DmaQuirk> dma_quirks() { return kQuirks; }

std::vector<const DmaQuirk*> match_dma_quirks(std::uint16_t vendor, std::uint16_t device,
                                              std::optional<std::uint16_t> subsystem_vendor,
                                              std::optional<std::uint16_t> subsystem_device, std::uint16_t class16) {
  std::vector<const DmaQuirk*> out;
  for (const auto& quirk : kQuirks) {
    if (quirk.vendor != vendor || quirk.device != device) continue;
    if (!id_matches(quirk.subsystem_vendor, subsystem_vendor) ||
        !id_matches(quirk.subsystem_device, subsystem_device)) {
      continue;
    }
    if (quirk.class16 && *quirk.class16 != class16) continue;
    out.push_back(&quirk);
  }
  return out;
}

std::vector<std::uint8_t> quirk_alias_devfns(const DmaQuirk& quirk, std::uint8_t devfn) {
  std::vector<std::uint8_t> out;
  const unsigned slot = devfn_device(devfn);
  switch (quirk.kind) {
    case DmaQuirkKind::kFunction0Alias:
      if (devfn_function(devfn) != 0) out.push_back(make_devfn(slot, 0));
      break;
    case DmaQuirkKind::kFunction1Alias:
      if (devfn_function(devfn) != 1) out.push_back(make_devfn(slot, 1));
      break;
    case DmaQuirkKind::kFixedAlias: out.push_back(quirk.fixed_devfn); break;
    case DmaQuirkKind::kMicX200Alias: out = {make_devfn(0x10, 0), make_devfn(0x11, 0), make_devfn(0x12, 3)}; break;
    case DmaQuirkKind::kPexVcaAlias:
      for (unsigned s = 0; s <= kMaxDevice; ++s) {
        for (unsigned fn = 0; fn < 5; ++fn) out.push_back(make_devfn(s, fn));
      }
      break;
    case DmaQuirkKind::kPlxNtbAlias:
      for (unsigned d = 0; d < 256; ++d) out.push_back(static_cast<std::uint8_t>(d));
      break;
    case DmaQuirkKind::kSwitchtecNtbAlias:
    case DmaQuirkKind::kPcieBridgeAlias:
    case DmaQuirkKind::kBridgeXlateRoot: break;
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace iovakit::pci
