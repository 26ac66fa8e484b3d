#include "iovakit/host/vfio_live.h"

#include <fcntl.h>
#include <linux/vfio.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/core.h>

namespace iovakit::host {

namespace {

// Closes on scope exit, so the group always leaves the container.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  [[nodiscard]] int get() const { return fd_; }

 private:
  int fd_;
};

Error os_error(const std::string& what) {
  const int err = errno;
  return {Errc::kIo, fmt::format("{}: {} ({})", what, std::strerror(err), err)};
}

}  // namespace

Result<LiveVfioInfo> read_live_vfio_info(unsigned group) {
  Fd container(::open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC));
  if (container.get() < 0) return os_error("open /dev/vfio/vfio");
  if (::ioctl(container.get(), VFIO_GET_API_VERSION) != VFIO_API_VERSION) {
    return Error(Errc::kUnsupported, "/dev/vfio/vfio speaks another VFIO API version");
  }
  if (::ioctl(container.get(), VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU) <= 0) {
    return Error(Errc::kUnsupported, "the kernel has no VFIO type1v2 IOMMU driver");
  }
  const std::string path = fmt::format("/dev/vfio/{}", group);
  Fd g(::open(path.c_str(), O_RDWR | O_CLOEXEC));
  if (g.get() < 0) return os_error("open " + path);
  vfio_group_status status{};
  status.argsz = sizeof status;
  if (::ioctl(g.get(), VFIO_GROUP_GET_STATUS, &status) != 0) return os_error("VFIO_GROUP_GET_STATUS " + path);
  if ((status.flags & VFIO_GROUP_FLAGS_VIABLE) == 0) {
    return Error(Errc::kInvalidArgument,
                 fmt::format("group {} is not viable: bind every member to vfio-pci (or unbind it) first", group));
  }
  int fd = container.get();
  if (::ioctl(g.get(), VFIO_GROUP_SET_CONTAINER, &fd) != 0) return os_error("VFIO_GROUP_SET_CONTAINER " + path);
  if (::ioctl(container.get(), VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU) != 0) return os_error("VFIO_SET_IOMMU");

  // The argsz protocol: ask with the bare struct, then with what the kernel
  // says it needs.
  std::vector<std::uint8_t> buf(sizeof(vfio_iommu_type1_info), 0);
  auto* info =
      reinterpret_cast<vfio_iommu_type1_info*>(buf.data());  // NOLINT(cppcoreguidelines-pro-type-reinterpret-cast)
  info->argsz = static_cast<std::uint32_t>(buf.size());
  if (::ioctl(container.get(), VFIO_IOMMU_GET_INFO, info) != 0) return os_error("VFIO_IOMMU_GET_INFO");
  const std::uint32_t need = info->argsz;
  if (need > buf.size()) {
    if (need > (1U << 20)) return Error(Errc::kInvalidArgument, fmt::format("GET_INFO asks for {} bytes", need));
    buf.assign(need, 0);
    info = reinterpret_cast<vfio_iommu_type1_info*>(buf.data());  // NOLINT(cppcoreguidelines-pro-type-reinterpret-cast)
    info->argsz = need;
    if (::ioctl(container.get(), VFIO_IOMMU_GET_INFO, info) != 0) return os_error("VFIO_IOMMU_GET_INFO");
  }
  auto decoded = kernel::decode_type1_info(buf);
  if (!decoded) return decoded.error();
  return LiveVfioInfo{std::move(buf), std::move(*decoded)};
}

}  // namespace iovakit::host
