// `iovakit host`'s second half, for people and for --json: the comparison of
// check/host_comparison.h as a table and as the "prediction" member of
// iovakit.host/1.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "iovakit/check/host_comparison.h"
#include "iovakit/report/iova_json.h"
#include "iovakit/report/style.h"

namespace iovakit::cli {

using check::GroupComparison;
using check::HostComparison;

std::string print_comparison(const HostComparison& c, const report::Style& style);
report::Json comparison_json(const HostComparison& c);

}  // namespace iovakit::cli
