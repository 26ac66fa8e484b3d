#include "iovakit/acpi/table_input.h"

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "builder.h"
#include "iasl.h"

namespace iovakit::acpi {
namespace {

std::vector<std::uint8_t> small_dmar() {
  testing::Bytes body;
  body.u8(0x26).u8(0).zeros(10);
  return testing::make_table("DMAR", 1, body);
}

std::span<const std::uint8_t> as_bytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

TEST(TableInput, NamesSysfsFiles) {
  EXPECT_TRUE(is_iommu_table_file_name("DMAR"));
  EXPECT_TRUE(is_iommu_table_file_name("IVRS2"));
  EXPECT_TRUE(is_iommu_table_file_name("IORT10"));
  EXPECT_FALSE(is_iommu_table_file_name("DMARx"));
  EXPECT_FALSE(is_iommu_table_file_name("SSDT1"));
  EXPECT_FALSE(is_iommu_table_file_name("dmar"));
  EXPECT_FALSE(is_iommu_table_file_name("DMA"));
}

TEST(TableInput, SplitsBinaryAndTextAndRejectsTheRest) {
  const auto dmar = small_dmar();
  auto bin = split_tables(dmar, "dmar.dat");
  ASSERT_TRUE(bin.ok());
  EXPECT_EQ(bin->front().signature, "DMAR");
  EXPECT_EQ(bin->front().bytes, dmar);

  auto text = split_tables(as_bytes("APIC @ 0x0\n    0000: 41 50 49 43\n\nIORT @ 0x1\n    0000: 49 4F 52 54\n"), "t");
  ASSERT_TRUE(text.ok()) << text.error().to_string();
  ASSERT_EQ(text->size(), 1U);
  EXPECT_EQ(text->front().source, "t:4");

  struct Case {
    std::string_view content;
    Errc code;
  };
  const Case cases[] = {
      {"FACP\x10\x00\x00\x00", Errc::kUnsupported},
      {"\x01\x02\x03", Errc::kParse},
      {"", Errc::kParse},
      {"APIC @ 0x0\n    0000: 41 50 49 43\n", Errc::kNotFound},
  };
  for (const auto& c : cases) {
    auto r = split_tables(as_bytes(c.content), "x");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code(), c.code) << r.error().to_string();
  }
}

TEST(TableInput, LoadsASysfsStyleFolder) {
  testing::ScratchDir dir;
  ASSERT_FALSE(dir.path().empty());
  const auto dmar = small_dmar();
  for (const char* name : {"DMAR", "DMAR2", "FACP", "SSDT1"}) {
    std::ofstream out(dir.path() / name, std::ios::binary);
    out.write(reinterpret_cast<const char*>(dmar.data()), static_cast<std::streamsize>(dmar.size()));
  }
  auto tables = load_tables(dir.path().string());
  ASSERT_TRUE(tables.ok()) << tables.error().to_string();
  ASSERT_EQ(tables->size(), 2U);
  EXPECT_NE(tables->at(1).source.find("DMAR2"), std::string::npos);
  auto decoded = decode_table(tables->front());
  ASSERT_TRUE(decoded.ok());
  EXPECT_TRUE(std::holds_alternative<Dmar>(*decoded));

  auto empty = load_tables((dir.path() / "missing").string());
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.error().code(), Errc::kIo);
  std::filesystem::remove(dir.path() / "DMAR");
  std::filesystem::remove(dir.path() / "DMAR2");
  auto none = load_tables(dir.path().string());
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().code(), Errc::kNotFound);
}

TEST(TableInput, DecodeErrorsNameTheSource) {
  auto t = small_dmar();
  t.resize(40);
  auto decoded = decode_table({"cut.dat", "DMAR", t});
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.error().where().source, "cut.dat");
  EXPECT_EQ(decoded.error().to_string(),
            "cut.dat: offset 0x28: table Length 0x30 but only 0x28 byte(s) are present: the table is truncated");
}

}  // namespace
}  // namespace iovakit::acpi
