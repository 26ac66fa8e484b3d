// iovakit/host/snapshot.h: capturing exactly the files the host model reads.
//
// Design
// ------
// `iovakit snapshot -o PATH` builds a Host from the source with an AccessLog
// attached (file_source.h): every file read, link followed and directory
// listed is recorded. The snapshot is that record replayed, so reading the
// snapshot back gives the same Host (same_host) by construction, and nothing
// the model did not read is in it.
//
// A second, independent guard is the allow-list below: every recorded path
// must match one of its patterns or the snapshot is refused (an Error naming
// the path, so a reader change that reads something new fails loudly in the
// tests rather than leaking it). Patterns are '/'-separated components where
// `*` matches one component, `**` any number (including none), `{bdf}` a PCI
// function name ("0000:00:02.0", "10000:e0:1d.0"), `{n}` a decimal number,
// `{table}` an IOMMU table file name (DMAR, IVRS, IORT, with an optional
// number suffix), and `{a,b,c}` one of the listed names. What is never
// captured, by construction and by the list: other ACPI tables (MSDM and SLIC
// hold Windows licence keys; DSDT/SSDT are large and not needed), DMI
// (/sys/class/dmi/id/*_serial, product_uuid), /dev/mem, PCI BARs and ROMs
// (resource*, rom), VPD, anything under /proc but version, cmdline and
// osrelease, and any user's files.
//
// Output: a folder (created; must be empty or absent) or, when PATH ends in
// ".tar.gz" / ".tgz", one deterministic gzip'd tar (archive.h). Symlinks are
// kept as the kernel wrote them (relative), so the capture reads like sysfs.
// With `--dmesg FILE` the log is stored as a top-level "dmesg" file, which
// build_host reads from a capture.
//
// Thread safety: uses one FileSource.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "iovakit/host/file_source.h"
#include "iovakit/host/file_tree.h"
#include "iovakit/result.h"

namespace iovakit::host {

struct AllowRule {
  std::string_view pattern;
  NodeType type;
  std::string_view why;  // which reader needs it
};

// The allow-list, for documentation and tests.
const std::vector<AllowRule>& snapshot_allow_list();
// True when a recorded access of this type at this root-relative path may be
// captured.
bool snapshot_allows(std::string_view path, NodeType type);
// Pattern matching as described above (exposed for tests).
bool match_snapshot_pattern(std::string_view pattern, std::string_view path);

struct SnapshotOptions {
  std::optional<std::string> dmesg_text;  // stored as "dmesg"
};

struct SnapshotResult {
  FileTree tree;  // what was (or would be) written
  std::size_t files = 0;
  std::size_t links = 0;
  std::size_t directories = 0;
  std::vector<Error> host_issues;  // what the host reader met (unreadable tables...)
};

// Builds the capture in memory: reads the host through `source` with a log
// attached and returns the tree. Errors: the root is not a sysfs root, or an
// access outside the allow-list.
Result<SnapshotResult> capture_snapshot(const FileSource& source, const SnapshotOptions& options = {});

// Writes a capture: a folder, or a .tar.gz/.tgz file by suffix.
Status write_snapshot(const FileTree& tree, const std::string& output);

// True when `output` names an archive (".tar.gz", ".tgz").
bool is_archive_output(std::string_view output);

}  // namespace iovakit::host
