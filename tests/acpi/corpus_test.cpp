// Every real table of tests/data/acpi decodes without error, and what the
// decoders say matches the table's iasl disassembly, field by field at the
// same byte offsets. The expected values come from parsing the .dsl published
// with each table (and, for structures that .dsl did not decode, from running
// the local iasl on the .dat); nothing is typed in by hand.
//
// Reserved-memory structures (RMRR and their scopes, IVMD, IORT RMR nodes and
// descriptors) must be confirmed by an oracle. Other structures are compared
// whenever an oracle decoded them; those no oracle decodes (DMAR SATC/SIDP and
// IVHD 0x40 for Debian's iasl 20200925, the undocumented IVRS type 0x51) are
// counted and listed in the test output.
#include <algorithm>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <fmt/core.h>
#include <gtest/gtest.h>

#include "dsl.h"
#include "iasl.h"
#include "iovakit/acpi/table_input.h"
#include "oracle.h"

namespace iovakit::acpi {
namespace {

using testing::compare;
using testing::decodes;
using testing::Dsl;
using testing::Group;

struct CorpusTable {
  std::string name;  // test name
  std::filesystem::path dat;
};

std::vector<CorpusTable> corpus() {
  std::vector<CorpusTable> out;
  for (const char* dir : {"dmar", "ivrs", "iort"}) {
    const auto path = std::filesystem::path(IOVAKIT_TEST_DATA_DIR) / "acpi" / dir;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(path, ec)) {
      if (e.path().extension() != ".dat") continue;
      std::string name = std::string(dir) + "_" + e.path().stem().string();
      std::replace_if(
          name.begin(), name.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) == 0; }, '_');
      out.push_back({name, e.path()});
    }
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  return out;
}

class Corpus : public ::testing::TestWithParam<CorpusTable> {};

TEST_P(Corpus, DecodesAndMatchesItsDisassembly) {
  const auto& table = GetParam();
  const auto bytes = testing::read_bytes(table.dat);
  ASSERT_FALSE(bytes.empty()) << table.dat;
  auto raw = split_tables(bytes, table.dat.string());
  ASSERT_TRUE(raw.ok()) << raw.error().to_string();
  ASSERT_EQ(raw->size(), 1U);
  auto decoded = decode_table(raw->front());
  ASSERT_TRUE(decoded.ok()) << decoded.error().to_string();

  std::vector<Group> groups;
  if (const auto* d = std::get_if<Dmar>(&*decoded)) groups = testing::dmar_groups(*d);
  if (const auto* v = std::get_if<Ivrs>(&*decoded)) groups = testing::ivrs_groups(*v);
  if (const auto* t = std::get_if<Iort>(&*decoded)) groups = testing::iort_groups(*t);

  // The .dat of every corpus table must match its own acpidump text, if any.
  auto txt = table.dat;
  txt.replace_extension(".acpidump.txt");
  if (std::filesystem::exists(txt)) {
    auto from_text = split_tables(testing::read_bytes(txt), txt.string());
    ASSERT_TRUE(from_text.ok()) << from_text.error().to_string();
    ASSERT_EQ(from_text->size(), 1U);
    EXPECT_EQ(from_text->front().bytes, bytes) << "acpidump text and .dat differ";
  }

  auto dsl_path = table.dat;
  dsl_path.replace_extension(".dsl");
  std::vector<Dsl> oracles;
  if (auto published = Dsl::load(dsl_path.string())) oracles.push_back(std::move(*published));
  bool tried_iasl = false;

  std::size_t confirmed = 0;
  std::size_t fields = 0;
  std::vector<std::string> unconfirmed;
  for (const auto& g : groups) {
    const Dsl* oracle = nullptr;
    for (const auto& o : oracles) {
      if (decodes(o, g)) {
        oracle = &o;
        break;
      }
    }
    if (oracle == nullptr && !tried_iasl) {
      tried_iasl = true;
      ASSERT_TRUE(testing::iasl_found()) << "iasl (acpica-tools) is needed to disassemble " << table.dat
                                         << "; run scripts/setup";
      auto local = testing::iasl_disassemble(table.dat);
      ASSERT_TRUE(local.has_value()) << "iasl -d failed on " << table.dat;
      oracles.push_back(std::move(*local));
      if (decodes(oracles.back(), g)) oracle = &oracles.back();
    }
    if (oracle == nullptr) {
      EXPECT_FALSE(g.reserved_memory) << g.what << ": reserved memory that no disassembly confirms";
      unconfirmed.push_back(g.what);
      continue;
    }
    for (const auto& problem : compare(*oracle, g)) ADD_FAILURE() << problem;
    ++confirmed;
    fields += g.nums.size() + g.strs.size();
  }
  EXPECT_GT(confirmed, 0U);
  RecordProperty("structures_confirmed", static_cast<int>(confirmed));
  RecordProperty("fields_compared", static_cast<int>(fields));
  std::cout << fmt::format(
      "{}: {} structure(s), {} field(s) confirmed by iasl; {} not decoded by any iasl available{}\n", table.name,
      confirmed, fields, unconfirmed.size(),
      unconfirmed.empty() ? "" : fmt::format(" (first: {})", unconfirmed.front()));
}

INSTANTIATE_TEST_SUITE_P(Acpi, Corpus, ::testing::ValuesIn(corpus()),
                         [](const ::testing::TestParamInfo<CorpusTable>& p) { return p.param.name; });

TEST(CorpusInventory, HasEveryTable) {
  // 38 DMAR, 16 IVRS and 4 IORT tables (tests/data/acpi/*/PROVENANCE.md).
  const auto all = corpus();
  const auto count = [&all](std::string_view prefix) {
    return std::count_if(all.begin(), all.end(), [prefix](const auto& t) { return t.name.rfind(prefix, 0) == 0; });
  };
  EXPECT_EQ(count("dmar_"), 38);
  EXPECT_EQ(count("ivrs_"), 16);
  EXPECT_EQ(count("iort_"), 4);
}

}  // namespace
}  // namespace iovakit::acpi
