// Helpers for the vendor-model and platform-prediction tests: load a real
// table from tests/data/acpi, run predict_platform, print a group the way
// sysfs does.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

#include "iovakit/acpi/dmar.h"
#include "iovakit/acpi/iort.h"
#include "iovakit/acpi/ivrs.h"
#include "iovakit/kernel/platform_prediction.h"

namespace iovakit::kernel::testing {

inline std::vector<std::uint8_t> corpus_bytes(std::string_view relative) {
  const std::string path = std::string(IOVAKIT_TEST_DATA_DIR) + "/acpi/" + std::string(relative);
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << path;
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

inline acpi::Dmar corpus_dmar(std::string_view name) {
  auto d = acpi::decode_dmar(corpus_bytes(std::string("dmar/") + std::string(name)));
  EXPECT_TRUE(d.ok()) << (d.ok() ? "" : d.error().to_string());
  return std::move(d).value();
}

inline acpi::Ivrs corpus_ivrs(std::string_view name) {
  auto d = acpi::decode_ivrs(corpus_bytes(std::string("ivrs/") + std::string(name)));
  EXPECT_TRUE(d.ok()) << (d.ok() ? "" : d.error().to_string());
  return std::move(d).value();
}

inline acpi::Iort corpus_iort(std::string_view name) {
  auto d = acpi::decode_iort(corpus_bytes(std::string("iort/") + std::string(name)));
  EXPECT_TRUE(d.ok()) << (d.ok() ? "" : d.error().to_string());
  return std::move(d).value();
}

inline PlatformPrediction predict(const PlatformInput& input, std::string_view profile) {
  auto p = resolve_profile(profile);
  EXPECT_TRUE(p.ok());
  auto out = predict_platform(input, p.value());
  EXPECT_TRUE(out.ok()) << (out.ok() ? "" : out.error().to_string());
  return std::move(out).value();
}

// The predicted reserved_regions file of the group holding `device`.
inline std::string group_sysfs(const PlatformPrediction& p, std::size_t device) {
  const GroupModel* g = p.group_of(device);
  return g == nullptr ? std::string("<no group>") : g->sysfs;
}

}  // namespace iovakit::kernel::testing
