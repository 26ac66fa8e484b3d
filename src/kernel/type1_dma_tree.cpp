#include "iovakit/kernel/type1_dma_tree.h"

#include <algorithm>
#include <functional>
#include <stdexcept>

namespace iovakit::kernel {

// drivers/vfio/vfio_iommu_type1.c vfio_find_dma, "go right" test.
// Before v6.19: `start >= dma->iova + dma->size` (modulo 2^64); v6.19+:
// `start > dma->iova + dma->size - 1`. For a mapping of the ordered map the
// two agree (its iova + size does not wrap before v6.19).
bool Type1DmaTree::query_above(const Type1Dma& dma, std::uint64_t start) { return start > dma.last(); }

// vfio_find_dma, "go left" test. Before v6.19 `start + size <= dma->iova`,
// which is true for every mapping when start + size wraps to 0 (a query
// ending at U64_MAX): the search finds nothing. v6.19+
// `start + size - 1 < dma->iova`.
bool Type1DmaTree::query_below(const Type1Dma& dma, std::uint64_t start, std::uint64_t size) const {
  if (inclusive_end_) return start + size - 1 < dma.iova;
  return start + size <= dma.iova;
}

const Type1Dma* Type1DmaTree::find(std::uint64_t start, std::uint64_t size) const {
  const std::optional<Type1DmaKey> key = find_key(start, size);
  return key ? &at(*key) : nullptr;
}

std::optional<Type1DmaKey> Type1DmaTree::find_key(std::uint64_t start, std::uint64_t size) const {
  // Both tests are monotone along the ordered map, so the kernel's tree walk
  // finds a match iff the first mapping not wholly below the query (the
  // first with last >= start) is not wholly above it.
  auto it = ordered_.upper_bound(start);
  if (it != ordered_.begin()) {
    auto prev = std::prev(it);
    if (!query_above(prev->second, start)) it = prev;
  }
  if (it == ordered_.end()) return std::nullopt;
  if (query_below(it->second, start, size)) return std::nullopt;
  return Type1DmaKey{false, it->first, 0};
}

void Type1DmaTree::insert(const Type1Dma& dma) {
  if (!inclusive_end_ && dma.iova + dma.size == 0) {
    // Ends at U64_MAX: before v6.19 invisible to every search.
    auto pos = std::upper_bound(top_.begin(), top_.end(), dma.iova,
                                [](std::uint64_t iova, const Type1Dma& d) { return iova < d.iova; });
    top_.insert(pos, dma);
    return;
  }
  ordered_.insert_or_assign(dma.iova, dma);
}

// drivers/vfio/vfio_iommu_type1.c vfio_find_dma_first_node and the loop of
// vfio_dma_do_unmap. Before v6.19: first node = lowest with
// start < iova + size; none when `size && first->iova >= start + size`; the
// loop breaks at `dma->iova >= start + size`, all modulo 2^64 (so a range
// ending at U64_MAX visits nothing). v6.19+: inclusive end = start + size - 1.
std::vector<Type1DmaKey> Type1DmaTree::unmap_walk(std::uint64_t start, std::uint64_t size) const {
  std::vector<Type1DmaKey> out;
  const std::uint64_t end = start + size - 1;  // v6.19+ (size 0 with start 0: UNMAP_ALL's ~0)
  const std::uint64_t limit = start + size;    // before v6.19, exclusive, modulo 2^64
  auto stops_at = [&](std::uint64_t iova) { return inclusive_end_ ? iova > end : iova >= limit; };

  auto it = ordered_.upper_bound(start);
  if (it != ordered_.begin()) {
    auto prev = std::prev(it);
    if (!query_above(prev->second, start)) it = prev;
  }
  if (it == ordered_.end()) return out;  // first_node() found nothing; top mappings are never found
  if (inclusive_end_ ? it->second.iova > end : (size != 0 && it->second.iova >= limit)) return out;
  for (; it != ordered_.end(); ++it) {
    if (stops_at(it->second.iova)) return out;
    out.push_back(Type1DmaKey{false, it->first, 0});
  }
  // rb_next() past the last ordered mapping reaches the top mappings, which
  // this model places last in the tree's order.
  std::size_t index = 0;
  for (const Type1Dma& dma : top_) {
    if (stops_at(dma.iova)) return out;
    out.push_back(Type1DmaKey{true, dma.iova, index++});
  }
  return out;
}

Type1Dma& Type1DmaTree::at(const Type1DmaKey& key) {
  if (key.top) return top_.at(key.index);
  return ordered_.at(key.iova);
}

const Type1Dma& Type1DmaTree::at(const Type1DmaKey& key) const {
  if (key.top) return top_.at(key.index);
  return ordered_.at(key.iova);
}

void Type1DmaTree::erase(std::span<const Type1DmaKey> keys) {
  std::vector<std::size_t> tops;
  for (const Type1DmaKey& key : keys) {
    if (key.top) {
      tops.push_back(key.index);
    } else {
      ordered_.erase(key.iova);
    }
  }
  // Highest index first, so that the lower indexes stay valid.
  std::sort(tops.begin(), tops.end(), std::greater<>());
  tops.erase(std::unique(tops.begin(), tops.end()), tops.end());
  for (const std::size_t index : tops) top_.erase(top_.begin() + static_cast<std::ptrdiff_t>(index));
}

void Type1DmaTree::clear() {
  ordered_.clear();
  top_.clear();
}

}  // namespace iovakit::kernel
