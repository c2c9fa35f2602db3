// durable_allocator: numbers are never handed out twice, and the synced write
// of one allocation does not hold up allocations for other owners.
#include "rockpool/actors/allocator.hpp"
#include "rockpool/specs/fault_backend.hpp"
#include "rockpool/specs/memory_backend.hpp"

#include <gtest/gtest.h>

#include <condition_variable>
#include <future>
#include <mutex>

using namespace rockpool;
using namespace std::chrono_literals;

namespace {

// Forwards to a memory backend; while closed, a commit waits at the gate.
class gated_backend final : public specs::kv_backend {
 public:
  void close() {
    std::lock_guard lk(mu_);
    open_ = false;
  }
  void open() {
    {
      std::lock_guard lk(mu_);
      open_ = true;
    }
    cv_.notify_all();
  }
  // Waits (bounded) until n commits are held at the gate.
  bool held(int n) {
    std::unique_lock lk(mu_);
    return cv_.wait_for(lk, 5s, [&] { return waiting_ >= n; });
  }

  specs::result<std::uint64_t> commit(const specs::kv_write& w) override {
    {
      std::unique_lock lk(mu_);
      ++waiting_;
      cv_.notify_all();
      cv_.wait(lk, [&] { return open_; });
      --waiting_;
    }
    return inner_->commit(w);
  }
  specs::result<std::optional<specs::kv_record>> get(std::string_view key,
                                                     specs::keyspace space) override {
    return inner_->get(key, space);
  }
  specs::result<specs::kv_snapshot> list(std::string_view prefix, specs::keyspace space) override {
    return inner_->list(prefix, space);
  }
  specs::result<specs::kv_page> list_page(std::string_view prefix, std::string_view start_after,
                                          std::size_t limit, std::uint64_t at) override {
    return inner_->list_page(prefix, start_after, limit, at);
  }
  specs::result<specs::kv_dump> dump() override { return inner_->dump(); }
  specs::result<std::vector<specs::kv_event>> events_after(std::uint64_t after,
                                                           std::size_t limit) override {
    return inner_->events_after(after, limit);
  }
  std::uint64_t revision() const override { return inner_->revision(); }
  std::uint64_t compacted_revision() const override { return inner_->compacted_revision(); }
  bool wait_for_revision(std::uint64_t after, std::chrono::milliseconds timeout) override {
    return inner_->wait_for_revision(after, timeout);
  }
  specs::kv_stats stats() const override { return inner_->stats(); }
  void set_commit_listener(std::function<void(std::vector<specs::kv_event>)> l) override {
    inner_->set_commit_listener(std::move(l));
  }
  void wake_all() override { inner_->wake_all(); }

 private:
  std::unique_ptr<specs::kv_backend> inner_ = specs::make_memory_backend();
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = true;
  int waiting_ = 0;
};

actors::durable_allocator::options numbers() {
  return {"alloc/test/", 3, "test number", 0, 9, {}, {}};
}

std::size_t stored(specs::kv_backend& b) {
  auto l = b.list("alloc/test/", specs::keyspace::allocations);
  return l.ok() ? l->records.size() : 0;
}

}  // namespace

TEST(durable_allocator, an_allocation_does_not_wait_for_another_owners_write) {
  gated_backend backend;
  actors::durable_allocator alloc(backend, numbers());
  backend.close();
  auto a = std::async(std::launch::async, [&] { return alloc.acquire("a"); });
  ASSERT_TRUE(backend.held(1));
  auto b = std::async(std::launch::async, [&] { return alloc.acquire("b"); });
  // b's write reaches the store while a's is still held there.
  bool both_in_flight = backend.held(2);
  backend.open();
  EXPECT_TRUE(both_in_flight) << "the second allocation waited for the first one's write";
  auto ra = a.get(), rb = b.get();
  ASSERT_TRUE(ra.ok() && rb.ok());
  EXPECT_EQ(*ra, 0u);
  EXPECT_EQ(*rb, 1u);
  EXPECT_EQ(stored(backend), 2u);
}

TEST(durable_allocator, two_calls_for_one_owner_get_one_number) {
  gated_backend backend;
  actors::durable_allocator alloc(backend, numbers());
  backend.close();
  auto first = std::async(std::launch::async, [&] { return alloc.acquire("a"); });
  ASSERT_TRUE(backend.held(1));
  auto second = std::async(std::launch::async, [&] { return alloc.acquire("a"); });
  backend.open();
  auto r1 = first.get(), r2 = second.get();
  ASSERT_TRUE(r1.ok() && r2.ok());
  EXPECT_EQ(*r1, *r2);
  EXPECT_EQ(alloc.allocated(), 1u);
  EXPECT_EQ(stored(backend), 1u);
}

TEST(durable_allocator, a_failed_write_gives_the_number_back) {
  auto inner = specs::make_memory_backend();
  specs::fault_backend backend(*inner);
  actors::durable_allocator alloc(backend, numbers());
  backend.inject(specs::fault_backend::fault::fail);
  EXPECT_FALSE(alloc.acquire("a").ok());
  EXPECT_EQ(alloc.owner_of(0), std::nullopt);
  EXPECT_EQ(alloc.allocated(), 0u);
  auto again = alloc.acquire("b");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(alloc.owner_of(*again), "b");
  EXPECT_EQ(stored(*inner), 1u);
}

TEST(durable_allocator, a_number_being_released_is_not_handed_out_until_the_delete_is_durable) {
  gated_backend backend;
  actors::durable_allocator alloc(backend, numbers());
  ASSERT_EQ(*alloc.acquire("a"), 0u);
  backend.close();
  auto released = std::async(std::launch::async, [&] { return alloc.release("a"); });
  ASSERT_TRUE(backend.held(1));
  EXPECT_EQ(alloc.owner_of(0), "a");  // still held while its delete is in flight
  auto b = std::async(std::launch::async, [&] { return alloc.acquire("b"); });
  ASSERT_TRUE(backend.held(2));
  backend.open();
  EXPECT_TRUE(released.get().ok());
  auto rb = b.get();
  ASSERT_TRUE(rb.ok());
  EXPECT_EQ(*rb, 1u);
  EXPECT_EQ(alloc.owner_of(0), std::nullopt);
  EXPECT_EQ(stored(backend), 1u);
}
