// The input format of fuzz_host_sysfs: a file tree as compact records, so a
// whole sysfs root fits in a few KiB and mutations land in file contents
// and link targets rather than in 512-byte tar headers. Each record:
//   'f' path '\n' len:u16le data[len]                 a file
//   'F' path '\n' count:u16le len:u16le data[len]     a file of `data` repeated
//                                                     count times (long files:
//                                                     10,000-line reserved_regions)
//   'l' path '\n' len:u16le target[len]               a symlink
//   'd' path '\n'                                     a directory
// A record cut short by the end of the input is dropped; an unknown type
// byte ends the tree. Shared by the fuzzer (decode) and host_write_fixture
// --seeds (encode).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "iovakit/host/file_tree.h"

namespace iovakit::fuzz {

inline host::FileTree decode_tree(std::span<const std::uint8_t> in) {
  host::FileTree tree;
  std::size_t i = 0;
  const auto u16 = [&in, &i](std::size_t& out) {
    if (i + 2 > in.size()) return false;
    out = in[i] | (std::size_t{in[i + 1]} << 8U);
    i += 2;
    return true;
  };
  while (i < in.size()) {
    const char type = static_cast<char>(in[i++]);
    std::string path;
    while (i < in.size() && in[i] != '\n') path += static_cast<char>(in[i++]);
    if (i++ >= in.size()) break;
    std::size_t count = 1;
    std::size_t length = 0;
    if (type == 'd') {
      (void)tree.add_directory(path);
      continue;
    }
    if (type != 'f' && type != 'F' && type != 'l') break;
    if ((type == 'F' && !u16(count)) || !u16(length) || i + length > in.size()) break;
    const std::string data(reinterpret_cast<const char*>(in.data() + i), length);
    i += length;
    if (type == 'l') {
      (void)tree.add_symlink(path, data);
      continue;
    }
    std::string content;
    content.reserve(data.size() * count);
    for (std::size_t k = 0; k < count; ++k) content += data;
    (void)tree.add_file(path, std::move(content));  // bad paths ("..", parent a file) are skipped
  }
  return tree;
}

inline std::string encode_tree(const host::FileTree& tree) {
  std::string out;
  const auto u16 = [&out](std::size_t v) {
    out += static_cast<char>(v & 0xffU);
    out += static_cast<char>((v >> 8U) & 0xffU);
  };
  for (const auto& [path, node] : tree.nodes()) {
    switch (node.type) {
      case host::NodeType::kDirectory: out += 'd' + path + '\n'; break;
      case host::NodeType::kSymlink:
        out += 'l' + path + '\n';
        u16(node.data.size());
        out += node.data;
        break;
      case host::NodeType::kFile: {
        // The shortest repeating unit of a long file, when there is one.
        std::size_t unit = node.data.size();
        if (node.data.size() > 0xffff) {
          const std::size_t line = node.data.find('\n') + 1;
          if (line > 0 && node.data.size() % line == 0 && node.data.size() / line <= 0xffff) unit = line;
        }
        if (unit != node.data.size()) {
          out += 'F' + path + '\n';
          u16(node.data.size() / unit);
        } else {
          out += 'f' + path + '\n';
        }
        u16(std::min<std::size_t>(unit, 0xffff));
        out += node.data.substr(0, std::min<std::size_t>(unit, 0xffff));
        break;
      }
      case host::NodeType::kOther: break;
    }
  }
  return out;
}

}  // namespace iovakit::fuzz
