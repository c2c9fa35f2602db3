// Table columns from the CRDs' additionalPrinterColumns.
#include "rockpool/specs/columns.hpp"
#include "rockpool/specs/clock.hpp"
#include "rockpool/specs/codec.hpp"
#include "rockpool/specs/schema.hpp"

#include <gtest/gtest.h>
#include <boost/json.hpp>

using namespace rockpool::specs;

namespace {
json::value object() {
  return *parse_json(R"({"metadata":{"name":"demo","creationTimestamp":"2026-11-30T10:00:00Z"},
    "spec":{"ports":[80,443]},
    "status":{"phase":"Running","conditions":[
      {"type":"InstanceReady","status":"True"},{"type":"Ready","status":"False"}]}})");
}
}  // namespace

TEST(columns, json_paths_select_fields_indexes_and_filtered_items) {
  auto o = object();
  EXPECT_EQ(*select_json_path(o, ".status.phase"), "Running");
  EXPECT_EQ(*select_json_path(o, ".spec.ports[1]"), 443);
  EXPECT_EQ(*select_json_path(o, R"(.status.conditions[?(@.type=="Ready")].status)"), "False");
  EXPECT_EQ(*select_json_path(o, ".status.conditions[?(@.type=='InstanceReady')].status"), "True");
  EXPECT_EQ(select_json_path(o, R"(.status.conditions[?(@.type=="Nope")].status)"), nullptr);
  EXPECT_EQ(select_json_path(o, ".spec.ports[2]"), nullptr);
  EXPECT_EQ(select_json_path(o, "status.phase"), nullptr) << "paths start with a dot";
  EXPECT_EQ(select_json_path(o, ".spec.ports[x]"), nullptr);
}

TEST(columns, cells_render_dates_as_ages_and_values_as_text) {
  auto o = object();
  auto now = parse_rfc3339("2026-11-30T10:05:00Z");
  EXPECT_EQ(column_cell({"Age", "date", ".metadata.creationTimestamp", "", 0}, o, now), "5m");
  EXPECT_EQ(column_cell({"Ports", "integer", ".spec.ports[0]", "", 0}, o, now), "80");
  EXPECT_EQ(column_cell({"X", "string", ".spec.missing", "", 0}, o, now), "");
  EXPECT_EQ(format_age(std::chrono::seconds(119)), "119s");
  EXPECT_EQ(format_age(std::chrono::hours(49)), "2d");
}

TEST(columns, every_kind_declares_phase_ready_and_age_and_an_apply_order) {
  for (const auto& k : kinds()) {
    if (k.kind == "Event") continue;
    std::vector<std::string> names;
    for (const auto& c : k.columns)
      if (c.priority == 0) names.push_back(c.name);
    // Kind-specific columns may come first (GitSync's revision and sync state).
    ASSERT_GE(names.size(), 3u) << k.kind;
    EXPECT_EQ(std::vector<std::string>(names.end() - 3, names.end()),
              (std::vector<std::string>{"Phase", "Ready", "Age"}))
        << k.kind;
    EXPECT_LT(k.apply_order, 100) << k.kind;
  }
  EXPECT_LT(find_kind("WorkspaceTemplate")->apply_order, find_kind("Workspace")->apply_order);
  EXPECT_LT(find_kind("Workspace")->apply_order, find_kind("PortRoute")->apply_order);
}
