// iovakit/host/archive.h: tar archives and gzip, in memory.
//
// Design
// ------
// A captured host travels as one file (`iovakit snapshot -o host.tar.gz`,
// attached to a bug report) and is read back without unpacking it
// (`iovakit --root host.tar.gz host`). Both directions work on a FileTree in
// memory; a snapshot is a few hundred kilobytes to a few megabytes.
//
// Reading (read_tar) accepts the POSIX ustar format and the extensions GNU tar,
// bsdtar and Python's tarfile write for long names: the ustar `prefix` field,
// GNU 'L'/'K' long-name entries and pax 'x' records ("path", "linkpath"), and
// GNU base-256 sizes. Entry types: regular files ('0', NUL), symlinks ('2'),
// directories ('5'); hard links ('1') become a copy of the file they name
// when it came earlier, device nodes and FIFOs are skipped, pax global
// headers ('g') are ignored. Every header's checksum is verified (unsigned
// sum, or the historic signed one) unless TarOptions::verify_checksums is off
// (the fuzz target turns it off to reach the parser behind it). The archive
// ends at two zero blocks or at the end of the data. Errors name the entry
// ("archive offset 0x200: entry 'sys/x': ...") and never read past the
// buffer; limits on entry count and total size bound the memory a hostile
// archive can make us use.
//
// Writing (write_tar) produces a deterministic ustar archive: entries in path
// order (directories before their contents), mode 0755/0644/0777, uid and gid
// 0, mtime 0, names longer than the ustar fields carried in pax 'x' records.
// The same tree always gives the same bytes.
//
// gzip uses zlib (RFC 1952 members; gunzip also accepts concatenated members
// and stops with an Error past TarOptions::max_total_bytes, so a small bomb
// cannot exhaust memory).
//
// Thread safety: pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "iovakit/host/file_tree.h"
#include "iovakit/result.h"

namespace iovakit::host {

inline constexpr std::size_t kTarBlock = 512;

struct TarOptions {
  bool verify_checksums = true;
  std::size_t max_entries = 1'000'000;
  std::size_t max_total_bytes = std::size_t{1} << 30;  // sum of file sizes, and of gunzip output
};

// `source` names the archive in errors.
Result<FileTree> read_tar(std::span<const std::uint8_t> bytes, std::string_view source = {},
                          const TarOptions& options = {});
std::string write_tar(const FileTree& tree);

// True when the bytes start with the gzip magic 1f 8b.
bool is_gzip(std::span<const std::uint8_t> bytes);
Result<std::string> gzip_compress(std::string_view data);
Result<std::string> gzip_decompress(std::span<const std::uint8_t> bytes, std::string_view source = {},
                                    std::size_t max_bytes = std::size_t{1} << 30);

}  // namespace iovakit::host
