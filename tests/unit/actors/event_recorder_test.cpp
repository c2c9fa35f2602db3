// The event recorder: repeats fold into one event, and the oldest events
// beyond the retention go at the next trim, not in the write that records
// one, unless there are more than a ceiling (by default ten retentions, at
// least 50,000).
#include "rockpool/actors/event_recorder.hpp"
#include "rockpool/actors/kind_rules.hpp"
#include "rockpool/specs/memory_backend.hpp"
#include "rockpool/specs/schema.hpp"

#include "test_support.hpp"

#include <gtest/gtest.h>

#include <algorithm>

namespace rockpool {
namespace {

class event_recorder_test : public ::testing::Test {
 protected:
  void SetUp() override {
    backend_ = specs::make_memory_backend();
    store_ = std::make_unique<specs::object_store>(*backend_, clock_, std::vector<std::string>{},
                                                   &actors::kind_rules());
  }

  // Records one event about workspace NAME, a second later than the last.
  void record(actors::event_recorder& r, const std::string& name,
              const std::string& message = "created") {
    clock_.advance(std::chrono::seconds(1));
    r.record(boost::json::value{{"kind", "Workspace"},
                                {"metadata", {{"name", name}, {"uid", "u-" + name}}}},
             "Normal", "Created", message);
  }

  // The stored events' involved objects, oldest first.
  std::vector<std::string> stored() {
    auto l = store_->list("Event");
    EXPECT_TRUE(l.ok());
    std::sort(l->items.begin(), l->items.end(), [](const auto& a, const auto& b) {
      return specs::string_at(a, "spec.lastTimestamp") < specs::string_at(b, "spec.lastTimestamp");
    });
    std::vector<std::string> out;
    for (const auto& e : l->items) out.push_back(specs::string_at(e, "spec.involvedObject.name"));
    return out;
  }

  test_support::fake_clock clock_;
  std::unique_ptr<specs::kv_backend> backend_;
  std::unique_ptr<specs::object_store> store_;
};

TEST_F(event_recorder_test, the_oldest_events_go_at_the_next_trim_not_while_recording) {
  actors::event_recorder r(*store_, clock_, 3);
  for (const char* n : {"a", "b", "c", "d", "e"}) record(r, n);
  EXPECT_EQ(stored().size(), 5u) << "recording removes nothing below the ceiling";
  EXPECT_EQ(r.trim(), 2u);
  EXPECT_EQ(stored(), (std::vector<std::string>{"c", "d", "e"}));
  EXPECT_EQ(r.trim(), 0u);
  // A repeat bumps its event and adds none.
  record(r, "e");
  EXPECT_EQ(stored().size(), 3u);
}

TEST_F(event_recorder_test, past_the_ceiling_recording_removes_the_oldest_itself) {
  actors::event_recorder r(*store_, clock_, 2, /*ceiling=*/20);
  for (int i = 0; i < 20; ++i) record(r, "w" + std::to_string(i));
  EXPECT_EQ(stored().size(), 20u);
  record(r, "w20");  // the 21st: over the ceiling, so the oldest goes at once
  record(r, "w21");
  auto left = stored();
  ASSERT_EQ(left.size(), 20u);
  EXPECT_EQ(left.front(), "w2");
  EXPECT_EQ(left.back(), "w21");
  EXPECT_EQ(r.trim(), 18u);
  EXPECT_EQ(stored(), (std::vector<std::string>{"w20", "w21"}));
}

TEST_F(event_recorder_test, a_restarted_recorder_trims_what_an_earlier_one_left) {
  {
    actors::event_recorder first(*store_, clock_, 10);
    for (int i = 0; i < 6; ++i) record(first, "w" + std::to_string(i));
  }
  actors::event_recorder second(*store_, clock_, 4);
  EXPECT_EQ(second.trim(), 2u);
  EXPECT_EQ(stored(), (std::vector<std::string>{"w2", "w3", "w4", "w5"}));
}

TEST(event_recorder_ceiling, is_ten_retentions_and_at_least_50000) {
  EXPECT_EQ(actors::event_recorder::default_ceiling(1000), 50000u);
  EXPECT_EQ(actors::event_recorder::default_ceiling(10000), 100000u);
}

}  // namespace
}  // namespace rockpool
