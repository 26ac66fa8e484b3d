// iovakit/kernel/errno.h: what a modelled kernel call answered, and why.
//
// Design
// ------
// The models of VFIO type1 and iommufd answer the way the kernel does: an
// errno (0 on success) decided by one named check in one named kernel
// function. An Outcome carries exactly that, plus one sentence for people, so
// that a caller (the CLI, a report, a test) can print "EINVAL from
// vfio_iommu_type1_attach_group: ..." without knowing the model's internals.
//
// Errno holds the Linux x86_64/arm64 numbers (asm-generic/errno-base.h and
// errno.h), so value() is what the ioctl would have returned negated, and
// errno_name() is the symbolic name a kernel developer greps for.
//
// Outcome is not Result<T>: a refused MAP_DMA is not an error of iovakit's
// input, it is the predicted answer of the kernel.
//
// Thread safety: values.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace iovakit::kernel {

enum class Errno : std::int32_t {
  kOk = 0,
  kEPERM = 1,
  kENOENT = 2,
  kEIO = 5,
  kE2BIG = 7,
  kENOMEM = 12,
  kEFAULT = 14,
  kEBUSY = 16,
  kEEXIST = 17,
  kENODEV = 19,
  kEINVAL = 22,
  kENOTTY = 25,
  kENOSPC = 28,
  kEOVERFLOW = 75,
  kEMSGSIZE = 90,
  kEOPNOTSUPP = 95,
  kEADDRINUSE = 98,
};

// "EINVAL", "EADDRINUSE", ...; "0" for kOk.
std::string_view errno_name(Errno err);

struct Outcome {
  Errno err = Errno::kOk;
  // The kernel function whose check decided the answer, e.g.
  // "vfio_iommu_type1_attach_group" or "vfio_dma_do_map".
  std::string function;
  // One sentence for people: what was checked and what it found.
  std::string message;

  [[nodiscard]] bool ok() const { return err == Errno::kOk; }
  [[nodiscard]] int value() const { return static_cast<int>(err); }
  [[nodiscard]] std::string_view name() const { return errno_name(err); }
  // "EINVAL (22) from vfio_dma_do_map: ..." or "ok from ...: ...".
  [[nodiscard]] std::string to_string() const;

  static Outcome success(std::string function, std::string message);
  static Outcome failure(Errno err, std::string function, std::string message);
};

}  // namespace iovakit::kernel
