// Targeted RangeSet tests, mostly at the two ends of the 64-bit space.
#include "iovakit/iova/range_set.h"

#include <gtest/gtest.h>

namespace iovakit::iova {
namespace {

constexpr std::uint64_t kMax = kU64Max;

TEST(RangeSet, ConstructorSortsAndCoalesces) {
  const RangeSet s{Range(10, 20), Range(0, 4), Range(5, 9), Range(30, 40), Range(35, 50)};
  EXPECT_EQ(s.ranges(), (std::vector<Range>{Range(0, 20), Range(30, 50)}));
}

TEST(RangeSet, InsertCoalescesAdjacentRanges) {
  RangeSet s;
  s.insert(Range(0, 9));
  s.insert(Range(20, 29));
  s.insert(Range(10, 19));
  EXPECT_EQ(s.ranges(), (std::vector<Range>{Range(0, 29)}));
}

TEST(RangeSet, InsertAtZeroAndTop) {
  RangeSet s;
  s.insert(Range(kMax, kMax));
  s.insert(Range(0, 0));
  EXPECT_EQ(s.size(), 2U);  // 0 and 2^64-1 are not adjacent
  s.insert(Range(1, kMax - 1));
  EXPECT_EQ(s.ranges(), (std::vector<Range>{Range::full()}));
  EXPECT_EQ(s.total_size(), kSpaceSize);
}

TEST(RangeSet, EraseSplitsAndTrims) {
  RangeSet s{Range::full()};
  s.erase(Range(0xfee00000, 0xfeefffff));
  EXPECT_EQ(s.ranges(), (std::vector<Range>{Range(0, 0xfedfffff), Range(0xfef00000, kMax)}));
  s.erase(Range(0, 0));
  s.erase(Range(kMax, kMax));
  EXPECT_EQ(s.ranges(), (std::vector<Range>{Range(1, 0xfedfffff), Range(0xfef00000, kMax - 1)}));
  s.erase(Range::full());
  EXPECT_TRUE(s.empty());
}

TEST(RangeSet, EraseOfNothingIsANoOp) {
  RangeSet s{Range(10, 20)};
  s.erase(Range(0, 9));
  s.erase(Range(21, kMax));
  EXPECT_EQ(s.ranges(), (std::vector<Range>{Range(10, 20)}));
}

TEST(RangeSet, ComplementOfEmptyIsTheBound) {
  EXPECT_EQ(RangeSet().complement().ranges(), (std::vector<Range>{Range::full()}));
  EXPECT_EQ(RangeSet().complement(Range(5, 7)).ranges(), (std::vector<Range>{Range(5, 7)}));
}

TEST(RangeSet, ComplementOfFullIsEmpty) { EXPECT_TRUE(RangeSet{Range::full()}.complement().empty()); }

TEST(RangeSet, ComplementAtBothEdges) {
  const RangeSet s{Range(0, 0), Range(kMax, kMax)};
  EXPECT_EQ(s.complement().ranges(), (std::vector<Range>{Range(1, kMax - 1)}));
  const RangeSet t{Range(1, kMax - 1)};
  EXPECT_EQ(t.complement().ranges(), (std::vector<Range>{Range(0, 0), Range(kMax, kMax)}));
}

TEST(RangeSet, ComplementWithinABoundThatCutsRanges) {
  const RangeSet s{Range(0, 0xfff), Range(0x3000, 0x3fff)};
  EXPECT_EQ(s.complement(Range(0x800, 0x37ff)).ranges(), (std::vector<Range>{Range(0x1000, 0x2fff)}));
}

// The AMD 6.1 example of linux-iommu-semantics.md section 7: the usable list
// of a v1 domain is the full space minus the MSI and HyperTransport windows.
TEST(RangeSet, AmdUsableListFromReservedWindows) {
  const RangeSet reserved{Range(0xfee00000, 0xfeefffff), Range(0xfd00000000, 0xffffffffff)};
  EXPECT_EQ(reserved.complement().ranges(),
            (std::vector<Range>{Range(0, 0xfedfffff), Range(0xfef00000, 0xfcffffffff), Range(0x10000000000, kMax)}));
}

TEST(RangeSet, FindContainingIsTheMapDmaTest) {
  // Intel 6.1 type1 list with a 39-bit aperture.
  const RangeSet usable{Range(0, 0xfedfffff), Range(0xfef00000, 0x7fffffffff)};
  EXPECT_EQ(usable.find_containing(Range(0, 0x7fffffff)), Range(0, 0xfedfffff));
  EXPECT_EQ(usable.find_containing(Range(0xfef00000, 0x7fffffffff)), Range(0xfef00000, 0x7fffffffff));
  // Straddles the MSI hole: both ends are usable, the middle is not.
  EXPECT_EQ(usable.find_containing(Range(0xfed00000, 0xfef0ffff)), std::nullopt);
  // Inside the hole.
  EXPECT_EQ(usable.find_containing(Range(0xfee00000, 0xfee00fff)), std::nullopt);
  // Crosses the aperture edge by one byte.
  EXPECT_EQ(usable.find_containing(Range(0x7ffffff000, 0x8000000000)), std::nullopt);
}

TEST(RangeSet, FindContainingAtTheTopOfTheSpace) {
  const RangeSet s{Range(kMax - 0xfff, kMax)};
  EXPECT_EQ(s.find_containing(Range(kMax, kMax)), Range(kMax - 0xfff, kMax));
  EXPECT_EQ(s.find_containing(Range(kMax - 0x1000, kMax)), std::nullopt);
  EXPECT_TRUE(s.contains(kMax));
  EXPECT_FALSE(s.contains(0));
}

TEST(RangeSet, SetAlgebraAtTheEdges) {
  const RangeSet a{Range(0, 10), Range(kMax - 10, kMax)};
  const RangeSet b{Range(5, kMax - 5)};
  EXPECT_EQ(a.unite(b).ranges(), (std::vector<Range>{Range::full()}));
  EXPECT_EQ(a.intersect(b).ranges(), (std::vector<Range>{Range(5, 10), Range(kMax - 10, kMax - 5)}));
  EXPECT_EQ(a.subtract(b).ranges(), (std::vector<Range>{Range(0, 4), Range(kMax - 4, kMax)}));
  EXPECT_EQ(b.subtract(a).ranges(), (std::vector<Range>{Range(11, kMax - 11)}));
}

TEST(RangeSet, ClipKeepsOnlyTheBound) {
  const RangeSet s{Range(0, 100), Range(200, 300)};
  EXPECT_EQ(s.clip(Range(50, 250)).ranges(), (std::vector<Range>{Range(50, 100), Range(200, 250)}));
  EXPECT_TRUE(s.clip(Range(101, 199)).empty());
}

TEST(RangeSet, ToString) {
  EXPECT_EQ(RangeSet().to_string(), "{}");
  EXPECT_EQ(RangeSet{Range(0, 0xfff)}.to_string(), "{0x0000000000000000-0x0000000000000fff}");
}

}  // namespace
}  // namespace iovakit::iova
