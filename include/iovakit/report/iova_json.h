// iovakit/report/iova_json.h: JSON forms of the iova layer's values.
//
// Design
// ------
// JSON numbers are IEEE doubles in most consumers (JavaScript, jq), exact only
// up to 2^53, and a size can be 2^64. So every address, size or mask is a
// string: "0x" then lower-case hex digits; addresses are zero-padded to 16
// digits (they sort as text), sizes are not ("0x100000"; "0x10000000000000000"
// is 2^64). Ends are inclusive, as in vfio_iova_range. docs/json.md is the
// schema; a change there is a change of the schema version in "schema".
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "iovakit/iova/range.h"
#include "iovakit/iova/range_set.h"
#include "iovakit/iova/resv_region.h"

namespace iovakit::report {

// Keys keep their insertion order, so documents read top-down as docs/json.md
// lists them ("schema" first).
using Json = nlohmann::ordered_json;

std::string json_address(std::uint64_t address);  // "0x00000000fee00000"
std::string json_size(iova::uint128 size);        // "0x100000"
// Any other 64-bit value (an offset, a mask, a register): "0x40201000"; also
// what the text tables print.
std::string hex_string(std::uint64_t value);

// {"start", "end", "size"}
Json to_json(const iova::Range& range);
// [range, ...]
Json to_json(const iova::RangeSet& set);
// {"start", "end", "length", "type", "sysfs_type", "prot"}; "end" is
// start + length - 1 modulo 2^64, as sysfs prints it.
Json to_json(const iova::ResvRegion& region);

}  // namespace iovakit::report
