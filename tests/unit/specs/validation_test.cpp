#include "rockpool/specs/validation.hpp"
#include "rockpool/actors/kind_rules.hpp"

#include <gtest/gtest.h>

#include <algorithm>

using namespace rockpool::specs;

namespace {

std::vector<diagnostic> check(const std::string& yaml, validation_context ctx = {}) {
  ctx.rules = &rockpool::actors::kind_rules();
  auto in = decode_documents(yaml, "samples/bad.yaml");
  EXPECT_TRUE(in.problems.empty());
  return validate_input(in.documents, ctx);
}

std::string all_text(const std::vector<diagnostic>& ds) {
  std::string s;
  for (const auto& d : ds) s += d.to_string() + "\n";
  return s;
}

bool mentions(const std::vector<diagnostic>& ds, const std::string& field,
              const std::string& words) {
  return std::any_of(ds.begin(), ds.end(), [&](const diagnostic& d) {
    return d.field == field && d.message.find(words) != std::string::npos;
  });
}

const std::string ws_head =
    "apiVersion: rockpool.dev/v1alpha1\nkind: Workspace\nmetadata:\n  name: demo\n";

}  // namespace

TEST(validation, error_names_file_document_field_and_position) {
  auto ds = check(
      "apiVersion: rockpool.dev/v1alpha1\nkind: WorkspaceTemplate\nmetadata:\n  name: t\nspec: "
      "{}\n---\n" +
      ws_head + "spec:\n  image: x\n  resources:\n    cpu: lots\n");
  ASSERT_EQ(ds.size(), 1u) << all_text(ds);
  EXPECT_EQ(ds[0].to_string(),
            "samples/bad.yaml: document 2 (Workspace \"demo\"): spec.resources.cpu: must be an "
            "integer between 1 and 64, got \"lots\" (line 14, column 10)");
}

TEST(validation, reports_every_error_not_only_the_first) {
  auto ds = check(ws_head +
                  "spec:\n  image: x\n  resources:\n    cpu: 0\n    memory: 2GB\n  state: Paused\n "
                  " bogus: 1\n");
  EXPECT_EQ(ds.size(), 4u) << all_text(ds);
  EXPECT_TRUE(mentions(ds, "spec.resources.cpu", "between 1 and 64, got 0"));
  EXPECT_TRUE(mentions(ds, "spec.resources.memory", "512Mi or 2Gi"));
  EXPECT_TRUE(mentions(ds, "spec.state", "one of Running, Stopped"));
  EXPECT_TRUE(mentions(ds, "spec.bogus", "unknown field"));
}

TEST(validation, names_must_be_dns1123_labels) {
  for (const std::string& bad : std::vector<std::string>{"Demo", "a..b", "a/b", "a%20b", "-a", "a-",
                                                         "a_b", std::string(64, 'a'), ""}) {
    auto ds = check("apiVersion: rockpool.dev/v1alpha1\nkind: Workspace\nmetadata:\n  name: \"" +
                    bad + "\"\nspec:\n  image: x\n");
    EXPECT_TRUE(mentions(ds, "metadata.name", bad.empty() ? "required" : "DNS-1123"))
        << bad << "\n"
        << all_text(ds);
  }
  EXPECT_TRUE(check(ws_head + "spec:\n  image: x\n").empty());
  EXPECT_TRUE(is_dns1123_label(std::string(63, 'a')));
}

TEST(validation, unknown_kind_and_wrong_api_version_are_rejected) {
  auto ds = check("apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\n");
  EXPECT_TRUE(mentions(ds, "apiVersion", "must be rockpool.dev/v1alpha1"));
  EXPECT_TRUE(mentions(ds, "kind", "unknown kind \"Pod\""));
}

TEST(validation, required_fields_and_unknown_top_level_fields) {
  auto ds = check(
      "apiVersion: rockpool.dev/v1alpha1\nkind: PortRoute\nmetadata:\n  name: p\n  namespace: "
      "x\nspec:\n  port: 80\nextra: 1\n");
  EXPECT_TRUE(mentions(ds, "spec.workspace", "required field is missing"));
  EXPECT_TRUE(mentions(ds, "extra", "unknown field"));
  EXPECT_TRUE(mentions(ds, "metadata.namespace", "cluster-scoped"));
}

TEST(validation, workspace_needs_an_image_or_a_template) {
  auto ds = check(ws_head + "spec:\n  state: Running\n");
  EXPECT_TRUE(mentions(ds, "spec.image", "set spec.image or spec.template"));
}

TEST(validation, defaults_come_from_the_crd_schema) {
  auto in = decode_documents(ws_head + "spec:\n  image: x\n", "d.yaml");
  ASSERT_TRUE(validate_input(in.documents, {}).empty());
  const auto& v = in.documents[0].value;
  EXPECT_EQ(*int_at(v, "spec.ide.port"), 8080);
  EXPECT_EQ(string_at(v, "spec.state"), "Running");
  EXPECT_EQ(find_path(v, "spec.network"), nullptr);  // chosen at reconcile (bridge or proxy)
  EXPECT_EQ(find_path(v, "spec.type"), nullptr);     // left to the template, then container
}

TEST(validation, port_route_may_not_name_the_ide_port) {
  auto ds = check(ws_head +
                  "spec:\n  image: x\n  ide:\n    port: 8080\n---\n"
                  "apiVersion: rockpool.dev/v1alpha1\nkind: PortRoute\nmetadata:\n  name: "
                  "p\nspec:\n  workspace: demo\n  port: 8080\n");
  ASSERT_EQ(ds.size(), 1u) << all_text(ds);
  EXPECT_EQ(ds[0].index, 2);
  EXPECT_TRUE(mentions(ds, "spec.port", "IDE port"));
}

TEST(validation, two_port_routes_for_the_same_port_conflict) {
  std::string pr =
      "apiVersion: rockpool.dev/v1alpha1\nkind: PortRoute\nmetadata:\n  name: NAME\nspec:\n  "
      "workspace: demo\n  port: 9000\n";
  auto a = pr, b = pr;
  a.replace(a.find("NAME"), 4, "a");
  b.replace(b.find("NAME"), 4, "b");
  auto ds = check(a + "---\n" + b);
  EXPECT_TRUE(mentions(ds, "spec.port", "already routed by portroute/")) << all_text(ds);
}

TEST(validation, template_reference_must_resolve_on_the_server) {
  validation_context server;
  server.lookup = [](const std::string&, const std::string&) -> std::optional<json::value> {
    return std::nullopt;
  };
  auto ds = check(ws_head + "spec:\n  template: missing\n", server);
  EXPECT_TRUE(mentions(ds, "spec.template", "WorkspaceTemplate \"missing\" does not exist"));
  // Defined in the same input: fine.
  auto ok = check(
      "apiVersion: rockpool.dev/v1alpha1\nkind: WorkspaceTemplate\nmetadata:\n  name: "
      "missing\nspec:\n  image: x\n---\n" +
          ws_head + "spec:\n  template: missing\n",
      server);
  EXPECT_TRUE(ok.empty()) << all_text(ok);
}

TEST(validation, nested_host_cidr_syntax_and_overlap) {
  auto nh = [](const std::string& name, const std::string& cidr) {
    return "apiVersion: rockpool.dev/v1alpha1\nkind: NestedHost\nmetadata:\n  name: " + name +
           "\nspec:\n  image: x\n  innerNetwork: " + cidr + "\n";
  };
  EXPECT_TRUE(mentions(check(nh("a", "10.1.2.300/24")), "spec.innerNetwork", "IPv4 CIDR"));
  EXPECT_TRUE(mentions(check(nh("a", "10.1.2.0/33")), "spec.innerNetwork", "IPv4 CIDR"));
  EXPECT_TRUE(mentions(check(nh("a", "127.0.1.0/24")), "spec.innerNetwork", "loopback"));
  validation_context outer;
  outer.outer_networks = {"10.0.0.0/8"};
  EXPECT_TRUE(mentions(check(nh("a", "10.5.0.0/24"), outer), "spec.innerNetwork",
                       "outer host's network 10.0.0.0/8"));
  auto both = check(nh("a", "192.168.10.0/24") + "---\n" + nh("b", "192.168.10.128/25"));
  EXPECT_TRUE(mentions(both, "spec.innerNetwork", "overlaps nestedhost/")) << all_text(both);
  EXPECT_TRUE(check(nh("a", "192.168.10.0/24") + "---\n" + nh("b", "192.168.11.0/24")).empty());
}

TEST(validation, a_nested_hosts_ide_port_is_not_one_of_its_exposed_ports) {
  auto nh = [](const std::string& ports) {
    return "apiVersion: rockpool.dev/v1alpha1\nkind: NestedHost\nmetadata:\n  name: dev\n"
           "spec:\n  image: x\n  ide:\n    port: 13337\n  exposedPorts: " + ports + "\n";
  };
  EXPECT_TRUE(check(nh("[8080, 8081, 9080]")).empty()) << all_text(check(nh("[8080]")));
  EXPECT_TRUE(mentions(check(nh("[8080, 13337]")), "spec.exposedPorts[1]",
                       "port 13337 is spec.ide.port, which is routed at /workspace/dev/"));
  EXPECT_TRUE(mentions(check(nh("[8080]").replace(nh("[8080]").find("13337"), 5, "0")),
                       "spec.ide.port", ""));
}

TEST(validation, cidr_overlap_math) {
  EXPECT_TRUE(cidrs_overlap("10.0.0.0/8", "10.200.1.0/24"));
  EXPECT_FALSE(cidrs_overlap("10.0.0.0/24", "10.0.1.0/24"));
  EXPECT_TRUE(cidrs_overlap("0.0.0.0/0", "1.2.3.4/32"));
  EXPECT_FALSE(parse_cidr("1.2.3/8").has_value());
  EXPECT_FALSE(parse_cidr("01.2.3.4/8").has_value());
}

TEST(validation, duplicate_objects_in_one_input_are_rejected) {
  auto ds = check(ws_head + "spec:\n  image: x\n---\n" + ws_head + "spec:\n  image: y\n");
  EXPECT_TRUE(mentions(ds, "metadata.name",
                       "duplicate object: Workspace/demo is also defined in document 1"));
}

TEST(validation, labels_and_annotations_follow_kubernetes_syntax) {
  auto ds = check(
      "apiVersion: rockpool.dev/v1alpha1\nkind: Workspace\nmetadata:\n  name: demo\n  labels:\n    "
      "\"bad key!\": x\n    ok: \"bad value!\"\n    num: 5\nspec:\n  image: x\n");
  EXPECT_TRUE(mentions(ds, "metadata.labels.bad key!", "qualified name"));
  EXPECT_TRUE(mentions(ds, "metadata.labels.ok", "label value"));
  EXPECT_TRUE(mentions(ds, "metadata.labels.num", "must be a string"));
}

// Issue 9, item 1: these crashed the validator (recursive std::regex).
TEST(validation, huge_values_of_patterned_fields_are_refused_without_crashing) {
  auto long_name = std::string(40000, 'a');
  auto ds = check(
      "apiVersion: rockpool.dev/v1alpha1\nkind: PortRoute\nmetadata:\n  name: p\nspec:\n"
      "  workspace: " +
      long_name + "\n  port: 9000\n");
  EXPECT_TRUE(mentions(ds, "spec.workspace", "at most 63 characters")) << all_text(ds);
  EXPECT_FALSE(mentions(ds, "spec.workspace", "DNS")) << "a value too long is not also matched";
  auto huge_memory = "1" + std::string(100000, '0') + "Mi";
  ds = check(ws_head + "spec:\n  image: x\n  resources:\n    memory: \"" + huge_memory + "\"\n");
  EXPECT_TRUE(mentions(ds, "spec.resources.memory", "at most 12 characters")) << all_text(ds);
  ds = check(ws_head + "spec:\n  image: x\n  resources:\n    memory: 99999999999999999999Gi\n");
  EXPECT_TRUE(mentions(ds, "spec.resources.memory", "at most 12 characters")) << all_text(ds);
}

TEST(validation, workspace_environment_is_a_map_of_variable_names_to_strings) {
  EXPECT_TRUE(
      check(ws_head + "spec:\n  image: x\n  environment:\n    GOOD_1: a\n    _x: b\n").empty());
  auto ds = check(ws_head + "spec:\n  image: x\n  environment:\n    1BAD: a\n    has-dash: b\n");
  EXPECT_TRUE(mentions(ds, "spec.environment.1BAD", "variable name")) << all_text(ds);
  EXPECT_TRUE(mentions(ds, "spec.environment.has-dash", "variable name")) << all_text(ds);
  ds = check(ws_head + "spec:\n  image: x\n  environment:\n    N: 5\n");
  EXPECT_TRUE(mentions(ds, "spec.environment.N", "must be a string")) << all_text(ds);
  std::string many = ws_head + "spec:\n  image: x\n  environment:\n";
  for (int i = 0; i < 65; ++i) many += "    V" + std::to_string(i) + ": x\n";
  EXPECT_TRUE(mentions(check(many), "spec.environment", "at most 64 entries"));
}
