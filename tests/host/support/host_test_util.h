// Helpers shared by the host-layer tests: build a Host from a fixture in
// memory or on disk, and scratch folders that clean up after themselves.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "host/support/fixtures.h"
#include "iovakit/host/file_source.h"
#include "iovakit/host/host.h"

namespace iovakit::host::testing {

inline Host build(const FileTree& tree, std::string root_name = "fixture") {
  TreeSource source(tree, std::move(root_name));
  auto host = build_host(source);
  EXPECT_TRUE(host.ok()) << (host.ok() ? "" : host.error().to_string());
  return host.ok() ? std::move(*host) : Host{};
}

// A fresh, empty folder below the test temp dir, removed at destruction.
class ScratchDir {
 public:
  explicit ScratchDir(const std::string& name) {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string leaf = "iovakit-host-" + std::string(info->test_suite_name()) + "-" + info->name() + "-" + name;
    std::replace(leaf.begin(), leaf.end(), '/', '_');  // parameterized names: "Suite/Test/param"
    path_ = std::filesystem::temp_directory_path() / leaf;
    std::filesystem::remove_all(path_);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  ScratchDir(ScratchDir&&) = delete;
  ScratchDir& operator=(ScratchDir&&) = delete;
  ~ScratchDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  [[nodiscard]] std::string path() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

}  // namespace iovakit::host::testing
