// Test support: runs Debian's iasl (acpica-tools) in a scratch directory.
//
// IOVAKIT_IASL is the path CMake found at configure time, or
// "IOVAKIT_IASL-NOTFOUND"; a test that needs iasl fails (never skips) when it
// is missing, with the reason.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

#include "dsl.h"

namespace iovakit::acpi::testing {

inline std::string iasl_path() { return IOVAKIT_IASL; }
inline bool iasl_found() { return iasl_path().find("NOTFOUND") == std::string::npos && !iasl_path().empty(); }

class ScratchDir {
 public:
  ScratchDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "iovakit-iasl-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) != nullptr) path_ = tmpl;
  }
  ~ScratchDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  [[nodiscard]] const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

inline std::vector<std::uint8_t> read_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// `iasl ARGS FILE` inside `dir`; true on exit status 0. Bounded in time:
// Debian's iasl 20200925 loops forever on a subtable Length of 0.
inline bool run_iasl(const std::filesystem::path& dir, const std::string& args, const std::string& file) {
  const std::string cmd =
      "cd '" + dir.string() + "' && timeout 120 '" + iasl_path() + "' " + args + " '" + file + "' >iasl.log 2>&1";
  return std::system(cmd.c_str()) == 0;  // NOLINT(cert-env33-c): a test running a fixed tool
}

// Disassembles a binary table with the local iasl.
inline std::optional<Dsl> iasl_disassemble(const std::filesystem::path& dat) {
  ScratchDir dir;
  if (dir.path().empty()) return std::nullopt;
  std::filesystem::copy_file(dat, dir.path() / "table.dat");
  if (!run_iasl(dir.path(), "-d", "table.dat")) return std::nullopt;
  return Dsl::load((dir.path() / "table.dsl").string());
}

// Compiles an ASL data-table source with the local iasl; the .aml bytes.
inline std::optional<std::vector<std::uint8_t>> iasl_compile(const std::filesystem::path& source,
                                                             std::string* log = nullptr) {
  ScratchDir dir;
  if (dir.path().empty()) return std::nullopt;
  const std::string name = "table" + source.extension().string();
  std::filesystem::copy_file(source, dir.path() / name);
  const bool ok = run_iasl(dir.path(), "", name);
  if (log != nullptr) {
    std::ifstream in(dir.path() / "iasl.log");
    log->assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  if (!ok) return std::nullopt;
  return read_bytes(dir.path() / "table.aml");
}

}  // namespace iovakit::acpi::testing
