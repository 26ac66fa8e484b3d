#include "iovakit/host/file_tree.h"

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <dirent.h>

namespace iovakit::host {

std::string_view node_type_name(NodeType type) {
  switch (type) {
    case NodeType::kFile: return "file";
    case NodeType::kDirectory: return "directory";
    case NodeType::kSymlink: return "symlink";
    case NodeType::kOther: return "other";
  }
  return "other";
}

Result<std::string> normalize_tree_path(std::string_view path) {
  std::string out;
  std::size_t pos = 0;
  while (pos <= path.size()) {
    std::size_t next = path.find('/', pos);
    if (next == std::string_view::npos) next = path.size();
    const std::string_view part = path.substr(pos, next - pos);
    pos = next + 1;
    if (part.empty() || part == ".") continue;
    if (part == "..") {
      return Error(Errc::kInvalidArgument, "path has a '..' component", Location{std::string(path), {}, {}});
    }
    if (part.find('\0') != std::string_view::npos) {
      return Error(Errc::kInvalidArgument, "path has a NUL byte", Location{std::string(path), {}, {}});
    }
    if (!out.empty()) out += '/';
    out += part;
  }
  return out;
}

namespace {

std::string parent_of(const std::string& path) {
  const std::size_t slash = path.rfind('/');
  return slash == std::string::npos ? std::string() : path.substr(0, slash);
}

std::string name_of(const std::string& path) {
  const std::size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

Error tree_error(const std::string& path, std::string message) {
  return Error(Errc::kInvalidArgument, std::move(message), Location{path, {}, {}});
}

}  // namespace

Status FileTree::make_parents(const std::string& path) {
  const std::string parent = parent_of(path);
  if (parent.empty()) {
    children_[""].insert(name_of(path));
    return {};
  }
  auto it = nodes_.find(parent);
  if (it == nodes_.end()) {
    if (auto status = make_parents(parent); !status) return status;
    nodes_.emplace(parent, FileNode{NodeType::kDirectory, {}});
  } else if (it->second.type != NodeType::kDirectory) {
    return tree_error(
        path, "parent " + parent + " is a " + std::string(node_type_name(it->second.type)) + ", not a directory");
  }
  children_[parent].insert(name_of(path));
  return {};
}

Status FileTree::add(std::string_view raw_path, FileNode node) {
  auto path = normalize_tree_path(raw_path);
  if (!path) return path.error();
  if (path->empty()) {
    if (node.type == NodeType::kDirectory) return {};
    return tree_error(*path, "the root is a directory");
  }
  auto it = nodes_.find(*path);
  if (it != nodes_.end()) {
    const bool existing_dir = it->second.type == NodeType::kDirectory;
    const bool new_dir = node.type == NodeType::kDirectory;
    if (existing_dir && new_dir) return {};
    if (existing_dir != new_dir) {
      return tree_error(*path, "already a " + std::string(node_type_name(it->second.type)));
    }
    if (it->second.type == NodeType::kFile) content_bytes_ -= it->second.data.size();
    if (node.type == NodeType::kFile) content_bytes_ += node.data.size();
    it->second = std::move(node);
    return {};
  }
  if (auto status = make_parents(*path); !status) return status;
  if (node.type == NodeType::kFile) content_bytes_ += node.data.size();
  nodes_.emplace(std::move(*path), std::move(node));
  return {};
}

Status FileTree::add_file(std::string_view path, std::string data) {
  return add(path, FileNode{NodeType::kFile, std::move(data)});
}

Status FileTree::add_symlink(std::string_view path, std::string target) {
  return add(path, FileNode{NodeType::kSymlink, std::move(target)});
}

Status FileTree::add_directory(std::string_view path) { return add(path, FileNode{NodeType::kDirectory, {}}); }

const FileNode* FileTree::find(std::string_view path) const {
  static const FileNode root{NodeType::kDirectory, {}};
  if (path.empty()) return &root;
  auto it = nodes_.find(path);
  return it == nodes_.end() ? nullptr : &it->second;
}

std::vector<std::string> FileTree::children(std::string_view directory) const {
  auto it = children_.find(directory);
  if (it == children_.end()) return {};
  return {it->second.begin(), it->second.end()};
}

namespace {

Error os_error(const std::string& path, std::string_view what) {
  const int err = errno;
  return Error(err == EACCES || err == EPERM ? Errc::kPermission : Errc::kIo,
               std::string(what) + ": " + std::strerror(err), Location{path, {}, {}});
}

Status write_all(int fd, std::string_view data, const std::string& path) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return os_error(path, "write");
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return {};
}

}  // namespace

Status write_tree_to_directory(const FileTree& tree, const std::string& directory) {
  if (::mkdir(directory.c_str(), 0755) != 0 && errno != EEXIST) return os_error(directory, "mkdir");
  if (DIR* dir = ::opendir(directory.c_str()); dir != nullptr) {
    bool empty = true;
    while (const dirent* entry = ::readdir(dir)) {
      const std::string_view name = entry->d_name;
      if (name != "." && name != "..") empty = false;
    }
    ::closedir(dir);
    if (!empty) return Error(Errc::kInvalidArgument, "output folder is not empty", Location{directory, {}, {}});
  } else {
    return os_error(directory, "opendir");
  }
  for (const auto& [path, node] : tree.nodes()) {
    const std::string full = std::string(directory).append("/").append(path);
    switch (node.type) {
      case NodeType::kDirectory:
        if (::mkdir(full.c_str(), 0755) != 0 && errno != EEXIST) return os_error(full, "mkdir");
        break;
      case NodeType::kSymlink:
        if (::symlink(node.data.c_str(), full.c_str()) != 0) return os_error(full, "symlink");
        break;
      case NodeType::kFile: {
        const int fd = ::open(full.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd < 0) return os_error(full, "create");
        Status status = write_all(fd, node.data, full);
        if (::close(fd) != 0 && status) status = os_error(full, "close");
        if (!status) return status;
        break;
      }
      case NodeType::kOther: break;
    }
  }
  return {};
}

}  // namespace iovakit::host
