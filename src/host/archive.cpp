#include "iovakit/host/archive.h"

#include <algorithm>
#include <array>
#include <optional>
#include <string>
#include <utility>

#include <fmt/core.h>
#include <zlib.h>

namespace iovakit::host {

namespace {

// ustar header field offsets and sizes (POSIX.1-2001 pax, "ustar Interchange
// Format").
constexpr std::size_t kNameOffset = 0, kNameSize = 100;
constexpr std::size_t kModeOffset = 100;
constexpr std::size_t kUidOffset = 108;
constexpr std::size_t kGidOffset = 116;
constexpr std::size_t kSizeOffset = 124, kSizeSize = 12;
constexpr std::size_t kMtimeOffset = 136;
constexpr std::size_t kChecksumOffset = 148, kChecksumSize = 8;
constexpr std::size_t kTypeOffset = 156;
constexpr std::size_t kLinkOffset = 157, kLinkSize = 100;
constexpr std::size_t kMagicOffset = 257;
constexpr std::size_t kVersionOffset = 263;
constexpr std::size_t kPrefixOffset = 345, kPrefixSize = 155;

using Block = std::span<const std::uint8_t, kTarBlock>;

std::string field_string(Block block, std::size_t offset, std::size_t size) {
  const auto* begin = block.data() + offset;
  const auto* end = std::find(begin, begin + size, std::uint8_t{0});
  return {begin, end};
}

// Octal with optional leading spaces and trailing NUL/space, or GNU base-256
// (high bit of the first byte set).
std::optional<std::uint64_t> parse_number(Block block, std::size_t offset, std::size_t size) {
  const auto* p = block.data() + offset;
  if ((p[0] & 0x80U) != 0) {
    std::uint64_t value = p[0] & 0x7fU;
    for (std::size_t i = 1; i < size; ++i) {
      if (value > (~std::uint64_t{0} >> 8U)) return std::nullopt;
      value = (value << 8U) | p[i];
    }
    return value;
  }
  std::size_t i = 0;
  while (i < size && p[i] == ' ') ++i;
  std::uint64_t value = 0;
  bool any = false;
  for (; i < size && p[i] >= '0' && p[i] <= '7'; ++i) {
    if (value > (~std::uint64_t{0} >> 3U)) return std::nullopt;
    value = value * 8 + (p[i] - '0');
    any = true;
  }
  for (; i < size; ++i) {
    if (p[i] != 0 && p[i] != ' ') return std::nullopt;
  }
  if (!any) return std::uint64_t{0};
  return value;
}

bool checksum_ok(Block block) {
  const auto stored = parse_number(block, kChecksumOffset, kChecksumSize);
  if (!stored) return false;
  std::uint64_t unsigned_sum = 0;
  std::int64_t signed_sum = 0;
  for (std::size_t i = 0; i < kTarBlock; ++i) {
    const bool in_field = i >= kChecksumOffset && i < kChecksumOffset + kChecksumSize;
    const std::uint8_t byte = in_field ? std::uint8_t{' '} : block[i];
    unsigned_sum += byte;
    signed_sum += static_cast<std::int8_t>(byte);
  }
  return *stored == unsigned_sum || static_cast<std::int64_t>(*stored) == signed_sum;
}

bool all_zero(Block block) {
  return std::all_of(block.begin(), block.end(), [](std::uint8_t b) { return b == 0; });
}

// pax extended header records: "<len> <key>=<value>\n".
Status parse_pax(std::string_view data, std::optional<std::string>& path, std::optional<std::string>& linkpath,
                 const std::string& where) {
  while (!data.empty()) {
    std::size_t i = 0;
    std::size_t length = 0;
    while (i < data.size() && data[i] >= '0' && data[i] <= '9' && i < 20) {
      length = length * 10 + static_cast<std::size_t>(data[i] - '0');
      ++i;
    }
    if (i == 0 || i >= data.size() || data[i] != ' ' || length <= i + 1 || length > data.size()) {
      return Error(Errc::kParse, "malformed pax record", Location{where, {}, {}});
    }
    const std::string_view record = data.substr(i + 1, length - i - 1);
    data.remove_prefix(length);
    if (record.empty() || record.back() != '\n') {
      return Error(Errc::kParse, "pax record does not end in a newline", Location{where, {}, {}});
    }
    const std::size_t eq = record.find('=');
    if (eq == std::string_view::npos) return Error(Errc::kParse, "pax record without '='", Location{where, {}, {}});
    const std::string_view key = record.substr(0, eq);
    const std::string_view value = record.substr(eq + 1, record.size() - eq - 2);
    if (key == "path") path = std::string(value);
    if (key == "linkpath") linkpath = std::string(value);
  }
  return {};
}

}  // namespace

Result<FileTree> read_tar(std::span<const std::uint8_t> bytes, std::string_view source, const TarOptions& options) {
  const std::string name = source.empty() ? std::string("<archive>") : std::string(source);
  FileTree tree;
  std::optional<std::string> long_name;
  std::optional<std::string> long_link;
  std::size_t entries = 0;
  std::size_t total = 0;
  std::size_t offset = 0;
  while (offset + kTarBlock <= bytes.size()) {
    const Block block(bytes.data() + offset, kTarBlock);
    const auto where = [&](std::string_view what) {
      return Error(Errc::kParse, std::string(what), Location{name, {}, offset});
    };
    if (all_zero(block)) break;  // end of archive (the second zero block is optional in practice)
    if (options.verify_checksums && !checksum_ok(block)) return where("tar header checksum mismatch");
    if (++entries > options.max_entries) return where(fmt::format("more than {} entries", options.max_entries));
    const auto size = parse_number(block, kSizeOffset, kSizeSize);
    if (!size) return where("tar header size field is not a number");
    const std::size_t data_offset = offset + kTarBlock;
    if (*size > bytes.size() - data_offset) return where(fmt::format("entry of {} bytes passes the end", *size));
    const std::size_t blocks = (static_cast<std::size_t>(*size) + kTarBlock - 1) / kTarBlock;
    const std::string_view data(reinterpret_cast<const char*>(bytes.data() + data_offset),
                                static_cast<std::size_t>(*size));
    const char type = static_cast<char>(block[kTypeOffset]);
    offset = data_offset + blocks * kTarBlock;

    if (type == 'L' || type == 'K') {
      std::string text(data);
      if (const auto nul = text.find('\0'); nul != std::string::npos) text.resize(nul);
      (type == 'L' ? long_name : long_link) = std::move(text);
      continue;
    }
    if (type == 'x') {
      if (auto status = parse_pax(data, long_name, long_link, name); !status) return status.error();
      continue;
    }
    if (type == 'g') continue;

    std::string path;
    if (long_name) {
      path = std::move(*long_name);
    } else {
      path = field_string(block, kNameOffset, kNameSize);
      const std::string magic = field_string(block, kMagicOffset, 6);
      const std::string prefix = field_string(block, kPrefixOffset, kPrefixSize);
      if (magic == "ustar" && !prefix.empty()) path = fmt::format("{}/{}", prefix, path);
    }
    std::string link = long_link ? std::move(*long_link) : field_string(block, kLinkOffset, kLinkSize);
    long_name.reset();
    long_link.reset();

    Status status;
    switch (type) {
      case '0':
      case '\0':
      case '7':  // contiguous file: a regular file to every reader
        total += data.size();
        if (total > options.max_total_bytes) return where("archive content exceeds the size limit");
        status = tree.add_file(path, std::string(data));
        break;
      case '1': {
        auto target = normalize_tree_path(link);
        const FileNode* node = target ? tree.find(*target) : nullptr;
        if (node == nullptr || node->type != NodeType::kFile) {
          return where(fmt::format("hard link '{}' names '{}', which is not an earlier file", path, link));
        }
        total += node->data.size();
        if (total > options.max_total_bytes) return where("archive content exceeds the size limit");
        status = tree.add_file(path, std::string(node->data));
        break;
      }
      case '2': status = tree.add_symlink(path, link); break;
      case '5': status = tree.add_directory(path); break;
      default: break;  // devices, FIFOs, vendor types: nothing a host model reads
    }
    if (!status) return where("entry '" + path + "': " + status.error().message());
  }
  if (offset < bytes.size() && offset + kTarBlock > bytes.size()) {
    const bool trailing_zero = std::all_of(bytes.begin() + static_cast<std::ptrdiff_t>(offset), bytes.end(),
                                           [](std::uint8_t b) { return b == 0; });
    if (!trailing_zero) {
      return Error(Errc::kTruncated, "archive ends inside a tar header", Location{name, {}, offset});
    }
  }
  return tree;
}

namespace {

void put_string(std::array<char, kTarBlock>& block, std::size_t offset, std::string_view text) {
  std::copy(text.begin(), text.end(), block.begin() + static_cast<std::ptrdiff_t>(offset));
}

void put_octal(std::array<char, kTarBlock>& block, std::size_t offset, std::size_t size, std::uint64_t value) {
  // size - 1 octal digits and a NUL, the form GNU tar writes.
  const std::string text = fmt::format("{:0{}o}", value, size - 1);
  put_string(block, offset, text);
}

// "len path=value\n" with the length counting itself.
std::string pax_record(std::string_view key, std::string_view value) {
  const std::size_t body = key.size() + value.size() + 3;  // ' ', '=', '\n'
  std::size_t length = body + 1;
  while (std::to_string(length).size() + body > length) ++length;
  return fmt::format("{} {}={}\n", length, key, value);
}

void append_header(std::string& out, std::string_view name, char type, std::uint64_t size, std::uint32_t mode,
                   std::string_view link) {
  std::array<char, kTarBlock> block{};
  put_string(block, kNameOffset, name.substr(0, kNameSize));
  put_octal(block, kModeOffset, 8, mode);
  put_octal(block, kUidOffset, 8, 0);
  put_octal(block, kGidOffset, 8, 0);
  put_octal(block, kSizeOffset, kSizeSize, size);
  put_octal(block, kMtimeOffset, 12, 0);
  block[kTypeOffset] = type;
  put_string(block, kLinkOffset, link.substr(0, kLinkSize));
  put_string(block, kMagicOffset, std::string_view("ustar\0", 6));
  put_string(block, kVersionOffset, "00");
  std::fill_n(block.begin() + kChecksumOffset, kChecksumSize, ' ');
  unsigned sum = 0;
  for (const char c : block) sum += static_cast<unsigned char>(c);
  const std::string checksum = fmt::format("{:06o}", sum);
  put_string(block, kChecksumOffset, checksum);
  block[kChecksumOffset + 6] = '\0';
  out.append(block.data(), block.size());
}

void append_data(std::string& out, std::string_view data) {
  out.append(data);
  const std::size_t pad = (kTarBlock - data.size() % kTarBlock) % kTarBlock;
  out.append(pad, '\0');
}

}  // namespace

std::string write_tar(const FileTree& tree) {
  std::string out;
  for (const auto& [path, node] : tree.nodes()) {
    if (node.type == NodeType::kOther) continue;
    const std::string name = node.type == NodeType::kDirectory ? path + "/" : path;
    const bool long_link = node.type == NodeType::kSymlink && node.data.size() > kLinkSize;
    if (name.size() > kNameSize || long_link) {
      std::string records = pax_record("path", name);
      if (long_link) records += pax_record("linkpath", node.data);
      append_header(out, "././@PaxHeader", 'x', records.size(), 0644, {});
      append_data(out, records);
    }
    switch (node.type) {
      case NodeType::kDirectory: append_header(out, name, '5', 0, 0755, {}); break;
      case NodeType::kSymlink: append_header(out, name, '2', 0, 0777, node.data); break;
      case NodeType::kFile:
        append_header(out, name, '0', node.data.size(), 0644, {});
        append_data(out, node.data);
        break;
      case NodeType::kOther: break;
    }
  }
  out.append(2 * kTarBlock, '\0');
  return out;
}

bool is_gzip(std::span<const std::uint8_t> bytes) { return bytes.size() >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b; }

Result<std::string> gzip_compress(std::string_view data) {
  z_stream stream{};
  // windowBits 15 + 16: a gzip wrapper with zlib's default header (mtime 0),
  // so the same input gives the same bytes.
  if (deflateInit2(&stream, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    return Error(Errc::kIo, "zlib deflateInit2 failed");
  }
  std::string out;
  out.resize(deflateBound(&stream, static_cast<uLong>(data.size())) + 64);
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  stream.avail_in = static_cast<uInt>(data.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&stream, Z_FINISH);
  const std::size_t produced = stream.total_out;
  deflateEnd(&stream);
  if (rc != Z_STREAM_END) return Error(Errc::kIo, fmt::format("zlib deflate failed ({})", rc));
  out.resize(produced);
  return out;
}

Result<std::string> gzip_decompress(std::span<const std::uint8_t> bytes, std::string_view source,
                                    std::size_t max_bytes) {
  const std::string name = source.empty() ? std::string("<gzip>") : std::string(source);
  std::string out;
  std::size_t consumed = 0;
  while (consumed < bytes.size()) {
    if (consumed > 0 && !is_gzip(bytes.subspan(consumed))) break;  // trailing garbage after a member: ignored
    z_stream stream{};
    if (inflateInit2(&stream, 15 + 16) != Z_OK) return Error(Errc::kIo, "zlib inflateInit2 failed");
    stream.next_in = const_cast<Bytef*>(bytes.data() + consumed);
    stream.avail_in = static_cast<uInt>(std::min<std::size_t>(bytes.size() - consumed, 1U << 30U));
    std::array<char, 65536> chunk{};
    int rc = Z_OK;
    while (rc != Z_STREAM_END) {
      stream.next_out = reinterpret_cast<Bytef*>(chunk.data());
      stream.avail_out = static_cast<uInt>(chunk.size());
      rc = inflate(&stream, Z_NO_FLUSH);
      if (rc != Z_OK && rc != Z_STREAM_END) {
        const std::string why = rc == Z_BUF_ERROR ? "gzip data is truncated"
                                                  : fmt::format("gzip data is corrupt ({})",
                                                                stream.msg != nullptr ? stream.msg : "zlib error");
        inflateEnd(&stream);
        return Error(rc == Z_BUF_ERROR ? Errc::kTruncated : Errc::kParse, why,
                     Location{name, {}, consumed + stream.total_in});
      }
      out.append(chunk.data(), chunk.size() - stream.avail_out);
      if (out.size() > max_bytes) {
        inflateEnd(&stream);
        return Error(Errc::kExhausted, fmt::format("gzip data expands past {} bytes", max_bytes),
                     Location{name, {}, {}});
      }
    }
    consumed += stream.total_in;
    inflateEnd(&stream);
  }
  return out;
}

}  // namespace iovakit::host
