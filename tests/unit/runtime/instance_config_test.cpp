// plan_update: which spec changes reach an existing instance live, which wait
// for its next start, and which need a new instance.
#include "rockpool/runtime/incus.hpp"

#include <gtest/gtest.h>

using namespace rockpool::runtime;

namespace {

instance_spec spec_of(const std::string& type = "container") {
  return {"demo", "rockpool-tiny", type, 2, "2Gi", "10Gi", false, {}};
}

instance_info made_from(const instance_spec& s) {
  return {s.name, "Running", s.type, instance_config(s), {}, {}, incus_size(s.disk), s.profiles};
}

}  // namespace

TEST(plan_update, an_unchanged_spec_plans_nothing) {
  auto plan = plan_update(made_from(spec_of()), spec_of());
  EXPECT_TRUE(plan.live.empty());
  EXPECT_TRUE(plan.at_restart.empty());
  EXPECT_TRUE(plan.recreate_fields.empty());
}

TEST(plan_update, container_limits_and_disk_are_live_and_nesting_waits_for_a_start) {
  auto want = spec_of();
  want.cpu = 4;
  want.memory = "512Mi";
  want.disk = "20Gi";
  want.nesting = true;
  auto plan = plan_update(made_from(spec_of()), want);
  EXPECT_EQ(plan.live.config,
            (std::map<std::string, std::string>{{"limits.cpu", "4"}, {"limits.memory", "512MiB"}}));
  EXPECT_EQ(plan.live.root_size, "20GiB");
  EXPECT_EQ(plan.at_restart.config,
            (std::map<std::string, std::string>{{"security.nesting", "true"}}));
  EXPECT_EQ(plan.restart_fields, std::vector<std::string>{"nesting"});
}

TEST(plan_update, profiles_change_live_in_their_order) {
  auto want = spec_of();
  want.profiles = {"default", "gpu"};
  auto plan = plan_update(made_from(spec_of()), want);
  EXPECT_EQ(plan.live.profiles, (std::vector<std::string>{"default", "gpu"}));
  EXPECT_EQ(plan.live_fields, std::vector<std::string>{"profiles"});
  auto reordered = spec_of();
  reordered.profiles = {"gpu", "default"};
  EXPECT_TRUE(plan_update(made_from(want), reordered).live.profiles.has_value())
      << "order matters: later profiles override earlier ones";
}

TEST(plan_update, vm_memory_waits_for_a_start) {
  auto want = spec_of("virtual-machine");
  want.memory = "4Gi";
  auto plan = plan_update(made_from(spec_of("virtual-machine")), want);
  EXPECT_TRUE(plan.live.empty());
  EXPECT_EQ(plan.at_restart.config,
            (std::map<std::string, std::string>{{"limits.memory", "4GiB"}}));
}

TEST(plan_update, image_or_type_changes_need_a_new_instance) {
  auto want = spec_of("virtual-machine");
  want.image = "other";
  auto plan = plan_update(made_from(spec_of()), want);
  EXPECT_EQ(plan.recreate_fields, (std::vector<std::string>{"image", "type"}));
}

TEST(plan_update, instances_without_the_recorded_keys_are_not_second_guessed) {
  instance_info old{"demo", "Running", "container", {{"limits.cpu", "2"}}, {}, {}, {}, {"default"}};
  auto want = spec_of();
  auto plan = plan_update(old, want);
  EXPECT_TRUE(plan.recreate_fields.empty());
  EXPECT_TRUE(plan.live.root_size.empty());
  EXPECT_EQ(plan.live.config.at("limits.memory"), "2GiB");
}
