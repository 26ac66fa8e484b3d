// The C ABI (iovakit/c/allocator.h): error codes, out-parameters, the
// conflict report, the fast path and a locked handle shared by threads.
#include "iovakit/c/allocator.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace {

class CAllocator : public ::testing::Test {
 protected:
  void SetUp() override {
    // x86 with an IOAPIC MSI window and a 48-bit aperture.
    const iovakit_range usable[] = {{0, 0xfedfffff}, {0xfef00000, (1ULL << 48) - 1}};
    ASSERT_EQ(iovakit_allocator_create(usable, 2, nullptr, &a_), 0) << iovakit_last_error();
  }
  void TearDown() override { iovakit_allocator_destroy(a_); }

  iovakit_allocator* a_ = nullptr;
};

TEST_F(CAllocator, DmaAllocationBelow4GiB) {
  std::uint64_t iova = 0;
  ASSERT_EQ(iovakit_alloc_dma(a_, 0x10000, 0xffffffff, &iova), 0);
  EXPECT_EQ(iova, 0xffff0000U);  // the top below 4 GiB, 64 KiB aligned
  iovakit_range r{};
  int reserved = -1;
  ASSERT_EQ(iovakit_find(a_, iova + 5, &r, &reserved), 0);
  EXPECT_EQ(r.first, iova);
  EXPECT_EQ(r.last, iova + 0xffff);
  EXPECT_EQ(reserved, 0);
  ASSERT_EQ(iovakit_find(a_, 0xfee00000, &r, &reserved), 0);
  EXPECT_EQ(reserved, 1);
  EXPECT_EQ(iovakit_live_count(a_), 1U);
  iovakit_range freed{};
  ASSERT_EQ(iovakit_free(a_, iova, &freed), 0);
  EXPECT_EQ(freed.last, iova + 0xffff);
  EXPECT_EQ(iovakit_find(a_, iova, &r, nullptr), -ENOENT);
}

struct CodeCase {
  const char* name;
  int want;
};

TEST_F(CAllocator, ErrorCodes) {
  std::uint64_t iova = 0;
  iovakit_alloc_request req;
  iovakit_alloc_request_init(&req);
  req.size = 0;
  EXPECT_EQ(iovakit_alloc(a_, &req, &iova), -EINVAL);
  EXPECT_NE(std::string(iovakit_last_error()).find("zero-size"), std::string::npos);
  req.size = 0x1000;
  req.alignment = 0x3000;
  EXPECT_EQ(iovakit_alloc(a_, &req, &iova), -EINVAL);
  req.alignment = 0;
  req.min_address = 1ULL << 48;
  EXPECT_EQ(iovakit_alloc(a_, &req, &iova), -ENOSPC);
  EXPECT_EQ(iovakit_alloc_at(a_, 0xfee00000, 0xfee00fff), -EPERM);
  ASSERT_EQ(iovakit_alloc_at(a_, 0x100000, 0x100fff), 0);
  EXPECT_EQ(iovakit_alloc_at(a_, 0x100000, 0x101fff), -EBUSY);
  EXPECT_EQ(iovakit_alloc_at(a_, 0x100001, 0x101fff), -EINVAL);
  EXPECT_EQ(iovakit_alloc_at(a_, 5, 4), -EINVAL);
  EXPECT_EQ(iovakit_free(a_, 0x200000, nullptr), -ENOENT);
  EXPECT_EQ(iovakit_free(a_, 0xfee00000, nullptr), -EPERM);
  EXPECT_EQ(iovakit_alloc(nullptr, &req, &iova), -EINVAL);
  EXPECT_EQ(iovakit_alloc(a_, nullptr, &iova), -EINVAL);
  EXPECT_STREQ(iovakit_strerror(-ENOSPC), "ENOSPC: no free range");
  EXPECT_STREQ(iovakit_strerror(0), "success");
}

TEST_F(CAllocator, PoliciesAndWindows) {
  iovakit_alloc_request req;
  iovakit_alloc_request_init(&req);
  req.size = 0x2000;
  req.policy = IOVAKIT_POLICY_FIRST_FIT;
  req.min_address = 0x1000;
  std::uint64_t iova = 0;
  ASSERT_EQ(iovakit_alloc(a_, &req, &iova), 0);
  EXPECT_EQ(iova, 0x1000U);
  req.flags = IOVAKIT_ALLOC_SIZE_ALIGNED;
  req.size = 0x3000;
  ASSERT_EQ(iovakit_alloc(a_, &req, &iova), 0);
  EXPECT_EQ(iova, 0x4000U);
  req = iovakit_alloc_request{};
  iovakit_alloc_request_init(&req);
  req.size = 0x1000;
  req.limit = 0xfeefffff;  // a limit inside the MSI window
  req.policy = IOVAKIT_POLICY_TOP_DOWN;
  ASSERT_EQ(iovakit_alloc(a_, &req, &iova), 0);
  EXPECT_EQ(iova, 0xfedff000U);  // the top below the window
}

TEST_F(CAllocator, ReserveReportsConflicts) {
  ASSERT_EQ(iovakit_alloc_at(a_, 0x10000, 0x10fff), 0);
  ASSERT_EQ(iovakit_alloc_at(a_, 0x12000, 0x12fff), 0);
  ASSERT_EQ(iovakit_alloc_at(a_, 0x14000, 0x14fff), 0);
  iovakit_range conflicts[2];
  size_t count = 0;
  ASSERT_EQ(iovakit_reserve(a_, 0x10000, 0x1ffff, conflicts, 2, &count), 0);
  EXPECT_EQ(count, 3U);  // all reported, two written
  EXPECT_EQ(conflicts[0].first, 0x10000U);
  EXPECT_EQ(conflicts[1].first, 0x12000U);
  EXPECT_EQ(iovakit_reserve(a_, 0x10000, 0x1ffff, nullptr, 0, nullptr), 0);
  EXPECT_EQ(iovakit_reserve(a_, 0x10000, 0x1ffff, nullptr, 1, nullptr), -EINVAL);
  ASSERT_EQ(iovakit_free(a_, 0x12000, nullptr), 0);
  EXPECT_EQ(iovakit_alloc_at(a_, 0x12000, 0x12fff), -EPERM);  // reserved once freed
}

TEST_F(CAllocator, FastPath) {
  std::uint64_t iova = 0;
  ASSERT_EQ(iovakit_alloc_fast(a_, 0x4000, 0xffffffff, &iova), 0);
  ASSERT_EQ(iovakit_free_fast(a_, iova, 0x4000), 0);
  EXPECT_EQ(iovakit_free_fast(a_, iova, 0x4000), -ENOENT);  // double free
  std::uint64_t again = 0;
  ASSERT_EQ(iovakit_alloc_fast(a_, 0x4000, 0xffffffff, &again), 0);
  EXPECT_EQ(again, iova);
  EXPECT_EQ(iovakit_free_fast(a_, again, 0), -EINVAL);
  ASSERT_EQ(iovakit_free_fast(a_, again, 0x4000), 0);
  iovakit_flush_cache(a_);
  EXPECT_EQ(iovakit_live_count(a_), 0U);
  EXPECT_GT(iovakit_memory_bytes(a_), 0U);
}

TEST(CAllocatorOptions, GranuleAndLockedHandleAcrossThreads) {
  iovakit_allocator_options options;
  iovakit_allocator_options_init(&options);
  EXPECT_EQ(options.granule, 4096U);
  options.granule = 65536;
  options.flags = IOVAKIT_ALLOCATOR_LOCKED;
  const iovakit_range usable = {0, (1ULL << 40) - 1};
  iovakit_allocator* a = nullptr;
  ASSERT_EQ(iovakit_allocator_create(&usable, 1, &options, &a), 0);
  std::uint64_t iova = 0;
  EXPECT_EQ(iovakit_alloc_dma(a, 0x1000, UINT64_MAX, &iova), -EINVAL);  // not whole 64 KiB granules
  std::vector<std::thread> threads;
  threads.reserve(4);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([a] {
      for (std::uint64_t i = 0; i < 1000; ++i) {
        const std::uint64_t size = 0x10000 * (1 + i % 4);
        std::uint64_t x = 0;
        if (iovakit_alloc_fast(a, size, UINT64_MAX, &x) != 0) std::abort();
        if (iovakit_free_fast(a, x, size) != 0) std::abort();
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(iovakit_live_count(a), 0U);
  iovakit_allocator_destroy(a);

  options.granule = 3;
  EXPECT_EQ(iovakit_allocator_create(&usable, 1, &options, &a), -EINVAL);
  EXPECT_EQ(a, nullptr);
  EXPECT_EQ(iovakit_allocator_create(nullptr, 1, nullptr, &a), -EINVAL);
}

}  // namespace
