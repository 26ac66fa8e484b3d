#include "io.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

#include <sys/stat.h>

namespace iovakit::cli {

Result<std::string> read_input(const std::string& path) {
  if (path == "-") {
    std::ostringstream buffer;
    buffer << std::cin.rdbuf();
    return buffer.str();
  }
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    const int err = errno;
    return Error(err == EACCES ? Errc::kPermission : Errc::kIo, std::strerror(err), Location{path, {}, {}});
  }
  if (S_ISDIR(st.st_mode)) return Error(Errc::kIo, "is a directory, not a file", Location{path, {}, {}});
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Error(Errc::kIo, std::strerror(errno), Location{path, {}, {}});
  }
  std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return Error(Errc::kIo, "read error", Location{path, {}, {}});
  return data;
}

}  // namespace iovakit::cli
