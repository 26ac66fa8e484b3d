// iovakit/host/file_tree.h: an in-memory file tree (files, directories, symlinks).
//
// Design
// ------
// The host layer reads sysfs through a FileSource (file_source.h). Three
// things need a tree that lives in memory rather than on disk: a captured host
// read from a .tar.gz (archive.h), the snapshot writer assembling exactly the
// files it will write, and the fuzz target and test fixtures, which build
// trees without touching the disk. FileTree is that tree, nothing more.
//
// Paths are relative to the tree's root, '/'-separated, without "." or ".."
// components and without empty components: normalize_tree_path() turns
// "./sys//bus/" into "sys/bus" and rejects "..", which is how an archive
// entry could otherwise escape its root. Adding a node creates its missing
// parent directories; a node whose parent is a file or a symlink is an Error
// (Errc::kInvalidArgument, naming the path). Adding a file or symlink over an
// existing file or symlink replaces it (tar semantics: the later entry wins);
// over a directory it is an Error, as is a directory over a file.
//
// Symlink targets are stored as written ("../../../devices/pci0000:00/..."),
// never resolved here: resolution is the FileSource's job, with the same rules
// for a tree in memory and a folder on disk.
//
// Complexity: add/find are O(log n) (std::map); children() is O(log n + k).
// Memory: one map node per path plus the file contents.
// Thread safety: a value; const methods may be called concurrently.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "iovakit/result.h"

namespace iovakit::host {

enum class NodeType : std::uint8_t { kFile, kDirectory, kSymlink, kOther };

// "file", "directory", "symlink", "other".
std::string_view node_type_name(NodeType type);

struct FileNode {
  NodeType type = NodeType::kFile;
  std::string data;  // file content, or the symlink target as written
  friend bool operator==(const FileNode&, const FileNode&) = default;
};

// "sys/bus" for "./sys//bus/"; "" for the root itself ("", ".", "/").
// Errors (kInvalidArgument) for a ".." component or a NUL byte.
Result<std::string> normalize_tree_path(std::string_view path);

class FileTree {
 public:
  Status add_file(std::string_view path, std::string data);
  Status add_symlink(std::string_view path, std::string target);
  Status add_directory(std::string_view path);

  // The node at a normalized path; nullptr when absent. The root ("") is a
  // directory that always exists.
  [[nodiscard]] const FileNode* find(std::string_view path) const;
  // Names of the entries of a directory, sorted; empty for a missing path.
  [[nodiscard]] std::vector<std::string> children(std::string_view directory) const;
  // Every node by path, sorted: a directory always precedes its contents.
  [[nodiscard]] const std::map<std::string, FileNode, std::less<>>& nodes() const { return nodes_; }
  [[nodiscard]] std::size_t size() const { return nodes_.size(); }
  // Sum of the file contents' sizes.
  [[nodiscard]] std::size_t content_bytes() const { return content_bytes_; }

  friend bool operator==(const FileTree& a, const FileTree& b) { return a.nodes_ == b.nodes_; }

 private:
  Status add(std::string_view path, FileNode node);
  Status make_parents(const std::string& path);

  std::map<std::string, FileNode, std::less<>> nodes_;
  std::map<std::string, std::set<std::string, std::less<>>, std::less<>> children_;
  std::size_t content_bytes_ = 0;
};

// Writes the tree below `directory` (created if missing): directories,
// files (mode 0644) and symlinks (targets as stored). Refuses to write into a
// directory that already has entries, so a snapshot never mixes with old
// files. Errors name the path that failed.
Status write_tree_to_directory(const FileTree& tree, const std::string& directory);

}  // namespace iovakit::host
