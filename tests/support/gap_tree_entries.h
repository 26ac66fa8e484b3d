// Whether a GapTree holds exactly the expected entries, for tests that keep
// a model beside it: its invariants hold, and its entries in address order
// equal the model's.
#pragma once

#include <gtest/gtest.h>

#include <vector>

#include "iovakit/iova/gap_tree.h"

namespace iovakit::testing {

inline void expect_entries(const iova::GapTree& tree, const std::vector<iova::GapTree::Entry>& expected) {
  ASSERT_EQ(tree.check(), "");
  ASSERT_EQ(tree.size(), expected.size());
  const std::vector<iova::GapTree::Entry> all = tree.overlapping(0, tree.max_pfn());
  ASSERT_EQ(all.size(), expected.size());
  for (std::size_t i = 0; i < all.size(); ++i) ASSERT_EQ(all[i], expected[i]) << "entry " << i;
}

}  // namespace iovakit::testing
