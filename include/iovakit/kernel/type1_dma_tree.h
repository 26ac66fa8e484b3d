// iovakit/kernel/type1_dma_tree.h: the user mappings of a VFIO type1
// container (iommu->dma_list) and the kernel's searches over them.
//
// Design
// ------
// The kernel keeps user mappings (struct vfio_dma: iova, size, vaddr, prot)
// in an rbtree ordered by iova and searches it with vfio_find_dma and
// vfio_find_dma_first_node. We keep them in a std::map keyed by iova (also a
// red-black tree): O(log n) insert, erase and search, so a container with a
// million mappings attaches a group in O(regions * log n), like the kernel.
//
// The searches reproduce the kernel's arithmetic, which changed in v6.19
// (KernelFeatures::type1_inclusive_end, Alex Mastro's series "vfio: handle
// DMA map/unmap up to the addressable limit"):
//   * before: comparisons use `iova + size`, exclusive, modulo 2^64. A query
//     ending at U64_MAX has start + size == 0 and finds nothing; a mapping
//     ending at U64_MAX has iova + size == 0 and is never found. Such a
//     mapping ("top mapping" below) is kept apart from the ordered map, in
//     top(): the kernel's tree cannot find it, so neither may we.
//   * after: inclusive ends (`start + size - 1`, `iova + size - 1`); nothing
//     is special at the top.
// Which node a search returns when several overlap depends on the rbtree's
// shape; every caller only needs whether one exists, or searches a point,
// where the answer is unique. The in-order position of a top mapping
// depends on when it was inserted; we place it last (true when it was
// mapped into an empty container, the common case) and say so wherever it
// matters (UNMAP walks).
//
// Thread safety: none; a value owned by Type1Container.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <vector>

namespace iovakit::kernel {

// struct vfio_dma, as far as the model needs it.
struct Type1Dma {
  std::uint64_t iova = 0;
  std::uint64_t size = 0;  // bytes, > 0
  std::uint64_t vaddr = 0;
  std::uint32_t prot = 0;  // IOMMU_READ | IOMMU_WRITE
  bool vaddr_invalid = false;

  // Inclusive last byte, modulo 2^64.
  [[nodiscard]] std::uint64_t last() const { return iova + size - 1; }
  friend bool operator==(const Type1Dma&, const Type1Dma&) = default;
};

// Names one mapping of the tree: an ordered one by its iova, or a top
// mapping by its index in top().
struct Type1DmaKey {
  bool top = false;
  std::uint64_t iova = 0;
  std::size_t index = 0;
};

class Type1DmaTree {
 public:
  explicit Type1DmaTree(bool inclusive_end) : inclusive_end_(inclusive_end) {}

  [[nodiscard]] bool inclusive_end() const { return inclusive_end_; }
  [[nodiscard]] std::size_t size() const { return ordered_.size() + top_.size(); }
  [[nodiscard]] bool empty() const { return size() == 0; }

  // vfio_find_dma(start, size): some mapping the kernel's search would
  // return, or nullptr.
  [[nodiscard]] const Type1Dma* find(std::uint64_t start, std::uint64_t size) const;
  // The same search, naming the mapping found.
  [[nodiscard]] std::optional<Type1DmaKey> find_key(std::uint64_t start, std::uint64_t size) const;

  // vfio_link_dma. A mapping whose iova + size wraps to 0 goes to top()
  // unless inclusive_end().
  void insert(const Type1Dma& dma);

  // The mappings the loop of vfio_dma_do_unmap visits, in order, before its
  // end-of-range break: from vfio_find_dma_first_node(start, ...) on, while
  // `dma->iova < start + size` (before v6.19, modulo 2^64) or
  // `dma->iova <= end` (v6.19+). `size` is the unmap size (U64_MAX for
  // UNMAP_ALL before v6.19); `end` is start + size - 1 (v6.19+).
  [[nodiscard]] std::vector<Type1DmaKey> unmap_walk(std::uint64_t start, std::uint64_t size) const;

  [[nodiscard]] Type1Dma& at(const Type1DmaKey& key);
  [[nodiscard]] const Type1Dma& at(const Type1DmaKey& key) const;
  // Removes the named mappings (keys from one unmap_walk).
  void erase(std::span<const Type1DmaKey> keys);
  void clear();

  [[nodiscard]] const std::map<std::uint64_t, Type1Dma>& ordered() const { return ordered_; }
  [[nodiscard]] const std::vector<Type1Dma>& top() const { return top_; }

 private:
  // True when the kernel's search treats `dma` as lying wholly below the
  // query (goes right) / wholly above it (goes left).
  [[nodiscard]] static bool query_above(const Type1Dma& dma, std::uint64_t start);
  [[nodiscard]] bool query_below(const Type1Dma& dma, std::uint64_t start, std::uint64_t size) const;

  bool inclusive_end_;
  std::map<std::uint64_t, Type1Dma> ordered_;
  std::vector<Type1Dma> top_;  // before v6.19 only: mappings ending at U64_MAX
};

}  // namespace iovakit::kernel
