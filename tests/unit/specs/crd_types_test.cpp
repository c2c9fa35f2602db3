// The typed views generated from the CRD schemas (rockpool/crds/types.hpp):
// every sample reads and writes back unchanged, a wrong value names its
// field, an enum lists its values, unknown status fields survive, and the
// PortRoute kind declares every status field it writes.
#include "rockpool/crds/types.hpp"
#include "rockpool/specs/codec.hpp"
#include "rockpool/specs/manifests.hpp"

#include <gtest/gtest.h>

#include <sstream>

namespace rockpool {
namespace {

namespace json = boost::json;

json::value parse(const std::string& text) {
  auto v = specs::parse_json(text);
  EXPECT_TRUE(v.ok()) << text;
  return v.ok() ? *v : json::value();
}

// Reads obj's spec with spec_of and writes it back.
template <class F>
json::value spec_round_trip(const json::value& obj, F spec_of) {
  auto spec = spec_of(obj);
  EXPECT_TRUE(spec.ok()) << (spec.ok() ? "" : spec.err().message);
  return spec.ok() ? write_value(*spec) : json::value();
}

json::value round_trip(const json::value& obj) {
  auto kind = specs::string_at(obj, "kind");
  using namespace crds;
  if (kind == "Workspace") return spec_round_trip(obj, workspace::spec_of);
  if (kind == "PortRoute") return spec_round_trip(obj, port_route::spec_of);
  if (kind == "WorkspaceTemplate") return spec_round_trip(obj, workspace_template::spec_of);
  if (kind == "GitSync") return spec_round_trip(obj, git_sync::spec_of);
  if (kind == "NestedHost") return spec_round_trip(obj, nested_host::spec_of);
  if (kind == "WorkspaceSnapshot") return spec_round_trip(obj, workspace_snapshot::spec_of);
  ADD_FAILURE() << "no typed view for kind " << kind;
  return {};
}

TEST(crd_types, every_sample_spec_reads_and_writes_back_unchanged) {
  std::istringstream none;
  auto set = specs::load_manifests(
      {SAMPLES_DIR "/quickstart.yaml", SAMPLES_DIR "/template.yaml", SAMPLES_DIR "/tiny.yaml"},
      false, none);
  ASSERT_TRUE(set.problems.empty());
  ASSERT_GE(set.documents.size(), 5u);
  for (const auto& d : set.documents)
    EXPECT_EQ(round_trip(d.value), d.value.at("spec")) << d.source << " #" << d.index;
}

TEST(crd_types, the_other_kinds_read_and_write_back_unchanged) {
  for (
      const char* text : {
          R"({"kind":"GitSync","spec":{"git":{"url":"file:///srv/specs.git","ref":"main","path":"envs/dev"},"interval":"1m","prune":true,"maxPrune":"50%","suspend":false}})",
          R"({"kind":"NestedHost","spec":{"image":"rockpool-nested-host","resources":{"cpu":2,"memory":"4Gi"}}})",
          R"({"kind":"WorkspaceSnapshot","spec":{"workspace":"demo"}})",
      }) {
    auto obj = parse(text);
    EXPECT_EQ(round_trip(obj), obj.at("spec")) << text;
  }
}

TEST(crd_types, a_wrong_value_names_its_field_and_an_enum_lists_its_values) {
  auto port = crds::port_route::spec_of(parse(R"({"spec":{"workspace":"w","port":"80"}})"));
  ASSERT_FALSE(port.ok());
  EXPECT_EQ(port.err().message, "spec.port: expected an integer");
  // 9000.0 is the integer 9000; 1e300 and 9000.5 are no integers.
  auto whole = crds::port_route::spec_of(parse(R"({"spec":{"workspace":"w","port":9000.0}})"));
  ASSERT_TRUE(whole.ok());
  EXPECT_EQ(whole->port, 9000);
  for (const char* bad : {"1e300", "9000.5"})
    EXPECT_FALSE(crds::port_route::spec_of(
                     parse(std::string(R"({"spec":{"workspace":"w","port":)") + bad + "}}"))
                     .ok())
        << bad;
  auto missing = crds::port_route::spec_of(parse(R"({"spec":{"workspace":"w"}})"));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.err().message, "spec.port: required");
  auto phase = crds::workspace::status_of(parse(R"({"status":{"phase":"Dreaming"}})"));
  ASSERT_FALSE(phase.ok());
  EXPECT_EQ(phase.err().message,
            "status.phase: expected one of Pending Provisioning Running Sleeping Stopped Failed "
            "Terminating Ready");
  auto nested = crds::workspace::spec_of(parse(
      R"({"spec":{"image":"x","lifecycle":{"schedule":[{"start":"0 9 * * *"},{"stop":7}]}}})"));
  ASSERT_FALSE(nested.ok());
  EXPECT_EQ(nested.err().message, "spec.lifecycle.schedule[1].stop: expected a string");
}

TEST(crd_types, typed_fields_enums_and_unknown_status_fields) {
  auto obj = parse(
      R"({"spec":{"workspace":"demo","port":9000,"public":true},)"
      R"("status":{"phase":"Ready","upstream":"127.0.0.1:41000","hostPort":41000,"later":{"x":1},)"
      R"("conditions":[{"type":"Ready","status":"True","reason":"Ready"}]}})");
  auto spec = crds::port_route::spec_of(obj);
  ASSERT_TRUE(spec.ok());
  EXPECT_EQ(spec->workspace, "demo");
  EXPECT_EQ(spec->port, 9000);
  EXPECT_EQ(spec->public_, true);
  auto status = crds::port_route::status_of(obj);
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(status->phase, crds::port_route::status_phase::Ready);
  EXPECT_EQ(status->host_port, 41000);
  ASSERT_EQ(status->conditions.size(), 1u);
  EXPECT_EQ(status->conditions[0].status, crds::port_route::status_conditions_item_status::True);
  EXPECT_EQ(to_string(*status->phase), "Ready");
  // A field the schema does not name is kept, and written back.
  EXPECT_EQ(status->unknown.at("later"), parse(R"({"x":1})"));
  EXPECT_EQ(write_value(*status), obj.at("status"));
  // Absent: an empty status, not an error.
  EXPECT_TRUE(crds::port_route::status_of(parse(R"({"spec":{}})")).ok());
}

TEST(crd_types, a_list_marked_for_presence_keeps_empty_apart_from_absent) {
  // spec.profiles says x-rockpool-presence: [] overrides the template, unset inherits it.
  auto empty = crds::workspace::spec_of(parse(R"({"spec":{"image":"x","profiles":[]}})"));
  auto unset = crds::workspace::spec_of(parse(R"({"spec":{"image":"x"}})"));
  ASSERT_TRUE(empty.ok() && unset.ok());
  ASSERT_TRUE(empty->profiles.has_value());
  EXPECT_TRUE(empty->profiles->empty());
  EXPECT_FALSE(unset->profiles.has_value());
  EXPECT_EQ(write_value(*empty), parse(R"({"image":"x","profiles":[]})"));
  EXPECT_EQ(write_value(*unset), parse(R"({"image":"x"})"));
  // An unmarked container is empty either way, and an empty one is not written.
  crds::workspace::spec plain;
  plain.environment = {};
  EXPECT_EQ(write_value(plain), json::object());
}

TEST(crd_types, object_meta_reads_the_common_metadata) {
  auto meta = crds::object_meta::of(parse(
      R"({"metadata":{"name":"demo-9000","uid":"u1","generation":3,"resourceVersion":"17",)"
      R"("deletionTimestamp":"2026-12-07T10:00:00Z","labels":{"app":"a"},"finalizers":["f"],)"
      R"("ownerReferences":[{"apiVersion":"rockpool.dev/v1alpha1","kind":"Workspace","name":"demo","uid":"u0","controller":true}]}})"));
  ASSERT_TRUE(meta.ok()) << meta.err().message;
  EXPECT_EQ(meta->name, "demo-9000");
  EXPECT_EQ(meta->generation, 3);
  EXPECT_TRUE(meta->being_deleted());
  EXPECT_EQ(meta->labels.at("app"), "a");
  ASSERT_EQ(meta->owner_references.size(), 1u);
  EXPECT_EQ(meta->owner_references[0].kind, "Workspace");
  EXPECT_TRUE(meta->owner_references[0].controller);
  auto bad = crds::object_meta::of(parse(R"({"metadata":{"name":"x","generation":"3"}})"));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.err().message, "metadata.generation: expected an integer");
}

}  // namespace
}  // namespace rockpool
