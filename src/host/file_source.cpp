#include "iovakit/host/file_source.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <deque>
#include <string>
#include <utility>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <dirent.h>
#include <fmt/core.h>

#include "iovakit/host/archive.h"

namespace iovakit::host {

namespace {

std::vector<std::string> split_path(std::string_view path) {
  std::vector<std::string> parts;
  std::size_t pos = 0;
  while (pos <= path.size()) {
    std::size_t next = path.find('/', pos);
    if (next == std::string_view::npos) next = path.size();
    if (next > pos) parts.emplace_back(path.substr(pos, next - pos));
    pos = next + 1;
  }
  return parts;
}

std::string join(const std::vector<std::string>& parts) {
  std::string out;
  for (const auto& p : parts) {
    if (!out.empty()) out += '/';
    out += p;
  }
  return out;
}

Error errno_error(int err, std::string location) {
  const Errc code = err == EACCES || err == EPERM ? Errc::kPermission : err == ENOENT ? Errc::kNotFound : Errc::kIo;
  return Error(code, std::strerror(err), Location{std::move(location), {}, {}});
}

}  // namespace

std::string FileSource::display(std::string_view path) const {
  if (kind_ == RootKind::kLive) return "/" + std::string(path);
  if (root_name_.empty()) return std::string(path);
  if (kind_ == RootKind::kArchive) return root_name_ + ":" + std::string(path);
  std::string root = root_name_;
  while (root.size() > 1 && root.back() == '/') root.pop_back();
  return root == "/" ? "/" + std::string(path) : root + "/" + std::string(path);
}

void FileSource::record(NodeType type, std::string path, std::string data) const {
  if (log_ != nullptr) log_->entries.push_back(Access{type, std::move(path), std::move(data)});
}

Result<FileSource::RawNode> FileSource::cached_lstat(const std::string& path) const {
  if (auto it = lstat_cache_.find(path); it != lstat_cache_.end()) return it->second;
  auto node = raw_lstat(path);
  if (!node) return node;
  lstat_cache_.emplace(path, *node);
  return node;
}

Result<std::string> FileSource::resolve_path(std::string_view path, bool follow_last) const {
  std::deque<std::string> pending;
  for (auto& part : split_path(path)) pending.push_back(std::move(part));
  std::vector<std::string> done;
  int hops = 0;
  while (!pending.empty()) {
    std::string part = std::move(pending.front());
    pending.pop_front();
    if (part == ".") continue;
    if (part == "..") {
      if (!done.empty()) done.pop_back();
      continue;
    }
    done.push_back(std::move(part));
    const bool last = pending.empty();
    if (last && !follow_last) break;
    const std::string current = join(done);
    auto node = cached_lstat(current);
    if (!node) {
      const Error& error = node.error();
      return Error(error.code(), error.message(), Location{display(path), {}, {}});
    }
    if (node->type == NodeType::kSymlink) {
      if (++hops > kMaxSymlinkHops) {
        return Error(Errc::kIo, "too many levels of symbolic links", Location{display(path), {}, {}});
      }
      record(NodeType::kSymlink, current, node->link_target);
      done.pop_back();
      if (!node->link_target.empty() && node->link_target.front() == '/') done.clear();
      auto target = split_path(node->link_target);
      // Reverse iterators: clang 14 cannot use ranges::reverse_view with libstdc++ 12.
      // NOLINTNEXTLINE(modernize-loop-convert)
      for (auto it = target.rbegin(); it != target.rend(); ++it) pending.push_front(std::move(*it));
      continue;
    }
    if (!last && node->type != NodeType::kDirectory) {
      return Error(Errc::kIo, fmt::format("{} is a {}, not a directory", current, node_type_name(node->type)),
                   Location{display(path), {}, {}});
    }
  }
  return join(done);
}

Result<std::string> FileSource::resolve(std::string_view path) const { return resolve_path(path, true); }

Result<NodeType> FileSource::type_of(std::string_view path) const {
  auto resolved = resolve_path(path, true);
  if (!resolved) return resolved.error();
  if (resolved->empty()) return NodeType::kDirectory;
  auto node = cached_lstat(*resolved);
  if (!node) return node.error();
  return node->type;
}

Result<NodeType> FileSource::entry_type(std::string_view path) const {
  auto resolved = resolve_path(path, false);
  if (!resolved) return resolved.error();
  if (resolved->empty()) return NodeType::kDirectory;
  auto node = cached_lstat(*resolved);
  if (!node) return Error(node.error().code(), node.error().message(), Location{display(path), {}, {}});
  return node->type;
}

bool FileSource::exists(std::string_view path) const { return resolve_path(path, true).ok(); }

Result<std::string> FileSource::read_file(std::string_view path, std::size_t max_bytes) const {
  auto resolved = resolve_path(path, true);
  if (!resolved) return resolved.error();
  auto node = resolved->empty() ? Result<RawNode>(RawNode{NodeType::kDirectory, {}}) : cached_lstat(*resolved);
  if (!node) return Error(node.error().code(), node.error().message(), Location{display(path), {}, {}});
  if (node->type != NodeType::kFile) {
    return Error(Errc::kIo, fmt::format("is a {}, not a file", node_type_name(node->type)),
                 Location{display(path), {}, {}});
  }
  auto data = raw_read(*resolved, max_bytes);
  if (!data) return Error(data.error().code(), data.error().message(), Location{display(path), {}, {}});
  record(NodeType::kFile, *resolved, *data);
  return data;
}

Result<std::string> FileSource::read_link(std::string_view path) const {
  auto resolved = resolve_path(path, false);
  if (!resolved) return resolved.error();
  if (resolved->empty()) return Error(Errc::kIo, "the root is not a symlink", Location{display(path), {}, {}});
  auto node = cached_lstat(*resolved);
  if (!node) return Error(node.error().code(), node.error().message(), Location{display(path), {}, {}});
  if (node->type != NodeType::kSymlink) {
    return Error(Errc::kIo, fmt::format("is a {}, not a symlink", node_type_name(node->type)),
                 Location{display(path), {}, {}});
  }
  record(NodeType::kSymlink, *resolved, node->link_target);
  return node->link_target;
}

Result<std::vector<std::string>> FileSource::list_dir(std::string_view path) const {
  auto resolved = resolve_path(path, true);
  if (!resolved) return resolved.error();
  if (!resolved->empty()) {
    auto node = cached_lstat(*resolved);
    if (!node) return Error(node.error().code(), node.error().message(), Location{display(path), {}, {}});
    if (node->type != NodeType::kDirectory) {
      return Error(Errc::kIo, fmt::format("is a {}, not a directory", node_type_name(node->type)),
                   Location{display(path), {}, {}});
    }
  }
  auto names = raw_list(*resolved);
  if (!names) return Error(names.error().code(), names.error().message(), Location{display(path), {}, {}});
  std::sort(names->begin(), names->end());
  record(NodeType::kDirectory, *resolved, {});
  return names;
}

// --- DirectorySource

Result<std::unique_ptr<DirectorySource>> DirectorySource::open(const std::string& root) {
  struct stat st {};
  if (::stat(root.c_str(), &st) != 0) return errno_error(errno, root);
  if (!S_ISDIR(st.st_mode)) return Error(Errc::kIo, "not a directory", Location{root, {}, {}});
  std::array<char, PATH_MAX> real{};
  const bool live = ::realpath(root.c_str(), real.data()) != nullptr && std::string_view(real.data()) == "/";
  std::string prefix = root;
  while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
  return std::unique_ptr<DirectorySource>(new DirectorySource(root, prefix, live));
}

std::string DirectorySource::full(const std::string& path) const {
  if (path.empty()) return prefix_.empty() ? "/" : prefix_;
  return prefix_ + "/" + path;
}

Result<FileSource::RawNode> DirectorySource::raw_lstat(const std::string& path) const {
  const std::string name = full(path);
  struct stat st {};
  if (::lstat(name.c_str(), &st) != 0) return errno_error(errno, name);
  RawNode node;
  if (S_ISREG(st.st_mode)) {
    node.type = NodeType::kFile;
  } else if (S_ISDIR(st.st_mode)) {
    node.type = NodeType::kDirectory;
  } else if (S_ISLNK(st.st_mode)) {
    node.type = NodeType::kSymlink;
    std::array<char, 4096> buffer{};
    const ssize_t n = ::readlink(name.c_str(), buffer.data(), buffer.size());
    if (n < 0) return errno_error(errno, name);
    if (static_cast<std::size_t>(n) >= buffer.size())
      return Error(Errc::kIo, "symlink target too long", Location{name, {}, {}});
    node.link_target.assign(buffer.data(), static_cast<std::size_t>(n));
  }
  return node;
}

Result<std::string> DirectorySource::raw_read(const std::string& path, std::size_t max_bytes) const {
  const std::string name = full(path);
  const int fd = ::open(name.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  if (fd < 0) return errno_error(errno, name);
  std::string data;
  std::array<char, 65536> buffer{};
  while (true) {
    const ssize_t n = ::read(fd, buffer.data(), buffer.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      return errno_error(err, name);
    }
    if (n == 0) break;
    data.append(buffer.data(), static_cast<std::size_t>(n));
    if (data.size() > max_bytes) {
      ::close(fd);
      return Error(Errc::kExhausted, fmt::format("larger than the {}-byte limit", max_bytes), Location{name, {}, {}});
    }
  }
  ::close(fd);
  return data;
}

Result<std::vector<std::string>> DirectorySource::raw_list(const std::string& path) const {
  const std::string name = full(path);
  DIR* dir = ::opendir(name.c_str());
  if (dir == nullptr) return errno_error(errno, name);
  std::vector<std::string> names;
  while (const dirent* entry = ::readdir(dir)) {
    const std::string_view n = entry->d_name;
    if (n != "." && n != "..") names.emplace_back(n);
  }
  ::closedir(dir);
  return names;
}

// --- TreeSource

Result<FileSource::RawNode> TreeSource::raw_lstat(const std::string& path) const {
  const FileNode* node = tree_.find(path);
  if (node == nullptr) return Error(Errc::kNotFound, std::strerror(ENOENT), Location{path, {}, {}});
  return RawNode{node->type, node->type == NodeType::kSymlink ? node->data : std::string()};
}

Result<std::string> TreeSource::raw_read(const std::string& path, std::size_t max_bytes) const {
  const FileNode* node = tree_.find(path);
  if (node == nullptr) return Error(Errc::kNotFound, std::strerror(ENOENT), Location{path, {}, {}});
  if (node->data.size() > max_bytes) {
    return Error(Errc::kExhausted, fmt::format("larger than the {}-byte limit", max_bytes), Location{path, {}, {}});
  }
  return node->data;
}

Result<std::vector<std::string>> TreeSource::raw_list(const std::string& path) const { return tree_.children(path); }

// --- open_root

Result<std::unique_ptr<FileSource>> open_root(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return errno_error(errno, path);
  if (S_ISDIR(st.st_mode)) {
    auto dir = DirectorySource::open(path);
    if (!dir) return dir.error();
    return std::unique_ptr<FileSource>(std::move(*dir));
  }
  if (!S_ISREG(st.st_mode)) return Error(Errc::kIo, "neither a folder nor an archive", Location{path, {}, {}});
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno_error(errno, path);
  std::string bytes;
  std::array<char, 65536> buffer{};
  while (true) {
    const ssize_t n = ::read(fd, buffer.data(), buffer.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      return errno_error(err, path);
    }
    if (n == 0) break;
    bytes.append(buffer.data(), static_cast<std::size_t>(n));
  }
  ::close(fd);
  const auto as_bytes = [](const std::string& s) {
    return std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(s.data()), s.size());
  };
  if (is_gzip(as_bytes(bytes))) {
    auto unpacked = gzip_decompress(as_bytes(bytes), path);
    if (!unpacked) return unpacked.error();
    bytes = std::move(*unpacked);
  }
  if (bytes.size() < kTarBlock) {
    return Error(Errc::kParse, "neither a folder nor a tar archive (too short)", Location{path, {}, {}});
  }
  auto tree = read_tar(as_bytes(bytes), path);
  if (!tree) return tree.error();
  return std::unique_ptr<FileSource>(std::make_unique<TreeSource>(std::move(*tree), path));
}

}  // namespace iovakit::host
