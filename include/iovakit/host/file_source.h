// iovakit/host/file_source.h: read-only access to a sysfs root, live or captured.
//
// Design
// ------
// Everything the host layer knows comes through a FileSource: the live system
// (`/`), a captured folder, or a captured .tar.gz held in memory. Callers pass
// paths relative to the root ("sys/bus/pci/devices"); the source answers
// read_file, read_link, list_dir, exists and resolve, and every Error names
// the path as the user would type it ("/sys/.../config" live,
// "capture/sys/.../config" for a folder, "host.tar.gz:sys/.../config" for an
// archive).
//
// Symlinks are resolved by the source itself, component by component, the
// same way for a folder and for an archive, and always inside the root, like
// a chroot: ".." at the root stays at the root and an absolute target
// ("/sys/devices/...") is taken relative to the root. sysfs is full of
// relative links (/sys/bus/pci/devices/* -> ../../../devices/pci0000:00/...,
// drivers/base/core.c device_add_class_symlinks and bus.c bus_add_device), and
// a captured tree keeps them as they are, so they resolve identically;
// a hostile capture cannot make iovakit read /etc through a link. At most
// kMaxSymlinkHops (40, Linux's MAXSYMLINKS) links are followed per lookup;
// more is an Error ("too many levels of symbolic links"), as is a dangling
// link (kNotFound) or a path through a file (kIo, "not a directory").
//
// Reads are bounded (max_bytes, default 16 MiB): sysfs files report a size of
// 4096 whatever they hold, so a read loops to end of file instead of trusting
// st_size, and a file beyond the bound is an Error rather than an allocation.
// A read refused by the OS keeps the class: EACCES/EPERM give
// Errc::kPermission (ACPI tables are 0400 root, drivers/acpi/sysfs.c), so the
// host readers can say "run as root or pass a dump" and go on.
//
// Snapshots record what was read: attach an AccessLog and every file read,
// link followed or read, and directory listed is appended to it, with resolved
// paths. The snapshot writer replays exactly that, which is how `iovakit
// snapshot` captures the files the host model reads and nothing else.
//
// Complexity: a lookup is O(components) lstat()s (folder) or map lookups
// (archive); the folder source caches lstat results, so the many reads below
// one device directory resolve it once.
// Thread safety: not thread-safe (the lstat cache and the access log are
// mutable state); use one source per thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "iovakit/host/file_tree.h"
#include "iovakit/result.h"

namespace iovakit::host {

inline constexpr int kMaxSymlinkHops = 40;                                  // MAXSYMLINKS, include/linux/namei.h
inline constexpr std::size_t kDefaultMaxFileBytes = std::size_t{16} << 20;  // 16 MiB

struct Access {
  NodeType type = NodeType::kFile;  // kFile read, kSymlink followed or read, kDirectory listed
  std::string path;                 // resolved, root-relative (for a symlink: the link's own path)
  std::string data;                 // the file content or the link target
};

// What a source handed out, in order (duplicates possible).
struct AccessLog {
  std::vector<Access> entries;
};

class FileSource {
 public:
  FileSource() = default;
  FileSource(const FileSource&) = delete;
  FileSource& operator=(const FileSource&) = delete;
  FileSource(FileSource&&) = delete;
  FileSource& operator=(FileSource&&) = delete;
  virtual ~FileSource() = default;

  // The root as given ("/", "examples/hosts/x", "host.tar.gz").
  [[nodiscard]] const std::string& root_name() const { return root_name_; }
  // True for the running system's own root: a folder source at "/".
  [[nodiscard]] bool is_live() const { return kind_ == RootKind::kLive; }
  // A root-relative path the way a user would find it.
  [[nodiscard]] std::string display(std::string_view path) const;

  // The content of a file, following links. Bounded by max_bytes.
  [[nodiscard]] Result<std::string> read_file(std::string_view path,
                                              std::size_t max_bytes = kDefaultMaxFileBytes) const;
  // The target of the symlink at `path` as written (its parents are resolved).
  [[nodiscard]] Result<std::string> read_link(std::string_view path) const;
  // Entry names of a directory, sorted (kernfs lists in name-hash order,
  // fs/kernfs/dir.c kernfs_name_compare, which carries no meaning).
  [[nodiscard]] Result<std::vector<std::string>> list_dir(std::string_view path) const;
  // True when `path` resolves to anything.
  [[nodiscard]] bool exists(std::string_view path) const;
  // The root-relative path with every link resolved.
  [[nodiscard]] Result<std::string> resolve(std::string_view path) const;
  // The type of the node at `path` after following links.
  [[nodiscard]] Result<NodeType> type_of(std::string_view path) const;
  // The type of the node at `path` itself (lstat: a last-component link is
  // kSymlink); its parents are resolved.
  [[nodiscard]] Result<NodeType> entry_type(std::string_view path) const;

  // Starts (or, with nullptr, stops) recording accesses.
  void record_to(AccessLog* log) const { log_ = log; }

 protected:
  enum class RootKind : std::uint8_t { kFolder, kLive, kArchive };
  FileSource(std::string root_name, RootKind kind) : root_name_(std::move(root_name)), kind_(kind) {}

  struct RawNode {
    NodeType type = NodeType::kOther;
    std::string link_target;
  };
  // lstat() of a path whose parents contain no symlinks.
  [[nodiscard]] virtual Result<RawNode> raw_lstat(const std::string& path) const = 0;
  [[nodiscard]] virtual Result<std::string> raw_read(const std::string& path, std::size_t max_bytes) const = 0;
  [[nodiscard]] virtual Result<std::vector<std::string>> raw_list(const std::string& path) const = 0;

 private:
  // Resolves every component; the last one only when follow_last.
  [[nodiscard]] Result<std::string> resolve_path(std::string_view path, bool follow_last) const;
  [[nodiscard]] Result<RawNode> cached_lstat(const std::string& path) const;
  void record(NodeType type, std::string path, std::string data) const;

  std::string root_name_;
  RootKind kind_ = RootKind::kFolder;
  mutable std::map<std::string, RawNode, std::less<>> lstat_cache_;
  mutable AccessLog* log_ = nullptr;
};

// A folder on disk ("/" for the live system).
class DirectorySource final : public FileSource {
 public:
  // Fails when `root` is not a readable directory.
  static Result<std::unique_ptr<DirectorySource>> open(const std::string& root);

 private:
  DirectorySource(std::string root_name, std::string prefix, bool live)
      : FileSource(std::move(root_name), live ? RootKind::kLive : RootKind::kFolder), prefix_(std::move(prefix)) {}
  [[nodiscard]] std::string full(const std::string& path) const;
  [[nodiscard]] Result<RawNode> raw_lstat(const std::string& path) const override;
  [[nodiscard]] Result<std::string> raw_read(const std::string& path, std::size_t max_bytes) const override;
  [[nodiscard]] Result<std::vector<std::string>> raw_list(const std::string& path) const override;

  std::string prefix_;  // the root without a trailing '/', "" for "/"
};

// A tree in memory (a captured archive, a test fixture, a fuzz input).
class TreeSource final : public FileSource {
 public:
  explicit TreeSource(FileTree tree, std::string root_name = "<memory>")
      : FileSource(std::move(root_name), RootKind::kArchive), tree_(std::move(tree)) {}

  [[nodiscard]] const FileTree& tree() const { return tree_; }

 private:
  [[nodiscard]] Result<RawNode> raw_lstat(const std::string& path) const override;
  [[nodiscard]] Result<std::string> raw_read(const std::string& path, std::size_t max_bytes) const override;
  [[nodiscard]] Result<std::vector<std::string>> raw_list(const std::string& path) const override;

  FileTree tree_;
};

// `--root PATH`: a folder, or a .tar / .tar.gz archive (detected by content).
// Errors name the path: missing, unreadable, or not a folder or archive.
Result<std::unique_ptr<FileSource>> open_root(const std::string& path);

}  // namespace iovakit::host
