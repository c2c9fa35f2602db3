// rpctl config kubeconfig, explain, version and preflight: about the
// client, the server and the host rather than about objects.
#include "rockpool/cli/cli.hpp"

#include "rockpool/specs/version.hpp"
#include "rockpool/specs/base64.hpp"
#include "rockpool/specs/codec.hpp"
#include "rockpool/specs/json.hpp"

#include <boost/json.hpp>

#include <fstream>

namespace rockpool::cli {

namespace json = boost::json;
using specs::string_at;

namespace {

// rpctl config kubeconfig: the server, CA and token rpctl uses, for kubectl.
int cmd_kubeconfig(context& c) {
  const auto& o = c.client.options();
  if (o.server.rfind("https://", 0) != 0) {
    c.err << "error: a kubeconfig needs rockpoold's HTTPS listener (--listen): run with "
             "--server https://127.0.0.1:PORT --certificate-authority DATA_DIR/tls/ca.crt "
             "--token TOKEN (or ROCKPOOL_SERVER, ROCKPOOL_CA_FILE, ROCKPOOL_TOKEN)\n";
    return 1;
  }
  if (o.token.empty()) {
    c.err << "error: a kubeconfig needs the bearer token (--token or ROCKPOOL_TOKEN)\n";
    return 1;
  }
  std::string ca;
  if (!o.ca_file.empty()) {
    std::ifstream in(o.ca_file, std::ios::binary);
    if (!in) {
      c.err << "error: cannot read " << o.ca_file << "\n";
      return 1;
    }
    ca.assign(std::istreambuf_iterator<char>(in), {});
  }
  json::value cluster = {{"server", o.server}};
  if (!ca.empty()) cluster.as_object()["certificate-authority-data"] = specs::base64_encode(ca);
  json::value config = {
      {"apiVersion", "v1"},
      {"kind", "Config"},
      {"clusters", json::array{{{"name", "rockpool"}, {"cluster", cluster}}}},
      {"users", json::array{{{"name", "rockpool"}, {"user", {{"token", o.token}}}}}},
      {"contexts", json::array{{{"name", "rockpool"},
                                {"context", {{"cluster", "rockpool"}, {"user", "rockpool"}}}}}},
      {"current-context", "rockpool"}};
  c.out << specs::to_yaml(config);
  return 0;
}

}  // namespace

command define_config(CLI::App& app) {
  auto* sub = app.add_subcommand("config", "Client configuration for other tools");
  sub->require_subcommand(1);
  sub->add_subcommand("kubeconfig",
                      "Print a kubeconfig for kubectl: this rpctl's https:// server, its CA "
                      "(--certificate-authority) and token");
  return {sub, cmd_kubeconfig};
}

namespace {

int cmd_explain(context& c, const std::string& what, bool recursive) {
  auto text = specs::explain(what, recursive);
  if (!text) {
    c.err << "error: \"" << what
          << "\" is not a known kind or field (try rpctl explain workspace)\n";
    return 1;
  }
  c.out << *text;
  return 0;
}

}  // namespace

command define_explain(CLI::App& app) {
  auto f = std::make_shared<std::pair<std::string, bool>>();
  auto* sub = app.add_subcommand("explain", "Document a kind or field from its CRD schema");
  sub->add_option("what", f->first, "KIND or KIND.field.path, e.g. workspace.spec.resources")
      ->required();
  sub->add_flag("--recursive", f->second, "Show every nested field");
  return {sub, [f](context& c) { return cmd_explain(c, f->first, f->second); }};
}

namespace {

int cmd_version(context& c, bool client_only) {
  c.out << "Client Version: " << version << "\n";
  if (client_only) return 0;
  auto r = c.client.request("GET", "/version");
  if (!r.ok()) {
    c.err << "error: " << r.err().message << "\n";
    return 1;
  }
  if (r->status != 200) {
    c.err << server_error(*r) << "\n";
    return 1;
  }
  auto v = specs::parse_json(r->body);
  c.out << "Server Version: " << (v.ok() ? string_at(*v, "version") : std::string("?"));
  if (v.ok() && string_at(*v, "role") == "inner")
    c.out << " (inner Rockpool of nestedhost/" << string_at(*v, "nestedHost") << ")";
  c.out << "\n";
  return 0;
}

}  // namespace

command define_version(CLI::App& app) {
  auto client_only = std::make_shared<bool>(false);
  auto* sub = app.add_subcommand("version", "Print client and server versions");
  sub->add_flag("--client", *client_only, "Client version only");
  return {sub, [client_only](context& c) { return cmd_version(c, *client_only); }};
}

}  // namespace rockpool::cli
