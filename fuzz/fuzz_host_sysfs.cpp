// Fuzzes the host layer's sysfs readers. The input is a sysfs root in the
// compact record format of host_tree_format.h, read through a TreeSource the
// way a captured .tar.gz is; the seeds are captures of the test fixtures
// (written by host_write_fixture --seeds), so mutations land in `class`,
// `config`, `reserved_regions`, link targets and the ACPI tables; further
// seeds hold garbage in `class`, a truncated `config`, dangling links and a
// 10,000-line reserved_regions. (The tar reader has its own unit tests.)
//
// Properties: build_host fails only on a root without sys/; every issue it
// reports has a message and names where (a path); the reservation join, the
// IOMMU status, the JSON document and a snapshot of the tree all run; a
// snapshot of an accepted tree is allowed by the allow-list and reads back.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "host_tree_format.h"
#include "iovakit/host/file_source.h"
#include "iovakit/host/firmware_reservations.h"
#include "iovakit/host/host.h"
#include "iovakit/host/iommu_status.h"
#include "iovakit/host/snapshot.h"
#include "iovakit/report/host_json.h"

namespace {

void check(bool condition) {
  if (!condition) std::abort();
}

void check_issue(const iovakit::Error& e) { check(!e.message().empty() && !e.where().source.empty()); }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using iovakit::host::assess_iommu;
  using iovakit::host::build_host;
  using iovakit::host::capture_snapshot;
  using iovakit::host::IommuStatus;
  using iovakit::host::map_firmware_reservations;
  using iovakit::host::NodeType;
  using iovakit::host::ReservationMap;
  using iovakit::host::snapshot_allows;
  using iovakit::host::TreeSource;
  TreeSource source(iovakit::fuzz::decode_tree({data, size}), "fuzz");
  auto host = build_host(source);
  if (!host) {
    check(!source.exists("sys") || source.type_of("sys").value_or(NodeType::kOther) != NodeType::kDirectory);
    return 0;
  }
  for (const auto& e : host->issues) check_issue(e);
  for (const auto& e : host->firmware.errors) check(!e.message().empty());
  const ReservationMap map = map_firmware_reservations(*host);
  const IommuStatus status = assess_iommu(*host);
  check(!status.summary.empty());
  (void)iovakit::report::host_document(*host, status, map)
      .dump(2, ' ', false, iovakit::report::Json::error_handler_t::replace);  // as iovakit host --json

  auto capture = capture_snapshot(source);
  // On a mutated tree the reader may walk a path the allow-list does not
  // expect (a symlinked sys/class was found): the capture must then refuse
  // with an error naming the path, and write nothing.
  if (!capture.ok()) {
    check_issue(capture.error());
    return 0;
  }
  for (const auto& [path, node] : capture->tree.nodes()) {
    check(node.type == NodeType::kDirectory || snapshot_allows(path, node.type));
  }
  TreeSource again(std::move(capture->tree), "capture");
  auto reread = build_host(again);
  check(reread.ok());
  // Equality of the re-read host is tested on well-formed hosts
  // (snapshot_test.cpp); on mutated trees it does not hold in general (a
  // link whose target the reader did not use may dangle in the capture), so
  // here the re-read must only succeed.
  return 0;
}
