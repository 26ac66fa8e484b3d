#include "iovakit/report/iova_json.h"

#include <fmt/core.h>

namespace iovakit::report {

std::string json_address(std::uint64_t address) { return fmt::format("{:#018x}", address); }

std::string json_size(iova::uint128 size) {
  if (size >> 64 != 0) {
    return fmt::format("0x{:x}{:016x}", static_cast<std::uint64_t>(size >> 64), static_cast<std::uint64_t>(size));
  }
  return fmt::format("{:#x}", static_cast<std::uint64_t>(size));
}

std::string hex_string(std::uint64_t value) { return fmt::format("{:#x}", value); }

Json to_json(const iova::Range& range) {
  return {
      {"start", json_address(range.first())}, {"end", json_address(range.last())}, {"size", json_size(range.size())}};
}

Json to_json(const iova::RangeSet& set) {
  Json out = Json::array();
  for (const auto& r : set) out.push_back(to_json(r));
  return out;
}

Json to_json(const iova::ResvRegion& region) {
  return {{"start", json_address(region.start)},
          {"end", json_address(region.last())},
          {"length", json_size(region.length)},
          {"type", std::string(iova::type_name(region.type))},
          {"sysfs_type", std::string(iova::sysfs_name(region.type))},
          {"prot", region.prot}};
}

}  // namespace iovakit::report
