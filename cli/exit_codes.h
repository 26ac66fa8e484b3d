// Exit codes of the iovakit command, for scripts. docs/cli.md lists them; a
// code never changes meaning once released.
#pragma once

namespace iovakit::cli {

inline constexpr int kExitOk = 0;         // done; the answer is "yes" / nothing wrong
inline constexpr int kExitFindings = 1;   // done; the answer is "no" or problems were found
inline constexpr int kExitBadInput = 2;   // an input is unreadable or invalid (message says where)
inline constexpr int kExitNoIommu = 3;    // the host has no IOMMU groups (IOMMU absent or disabled)
inline constexpr int kExitUsage = 64;     // bad command line (sysexits EX_USAGE)
inline constexpr int kExitInternal = 70;  // a bug in iovakit (sysexits EX_SOFTWARE)

}  // namespace iovakit::cli
