#pragma once

// A kind module as a test writes one, in one place: a reconciler for
// WorkspaceTemplate (which has none in Rockpool) that registers a subresource
// (workspacetemplates/NAME/echo), and rpctl commands of its own (`rpctl echo
// NAME --say WORDS`, and `rpctl diff workspacetemplate/NAME`), both found by
// the API server and rpctl through their registries.

#include "rockpool/actors/reconciler.hpp"
#include "rockpool/cli/cli.hpp"

namespace rockpool::test_kinds {

class echo_kind final : public actors::reconciler {
 public:
  std::string_view kind() const override { return "WorkspaceTemplate"; }
  actors::pass_result reconcile(actors::reconcile_context&, specs::json::value) const override {
    return {};
  }
  std::vector<specs::subresource> subresources(
      const actors::subresource_services& services) const override {
    auto echo = [&services](const specs::subresource_request& r)
        -> specs::result<specs::subresource_response> {
      if (auto obj = services.store.get("WorkspaceTemplate", r.name); !obj.ok()) return obj.err();
      return specs::subresource_response{200, "text/plain", r.method + " " + r.name + " " +
                                                                r.param("say") + " " + r.body, {}};
    };
    return {{"WorkspaceTemplate", "echo", {"GET", "POST"}, echo}};
  }
};

/// The kind's rpctl side: `echo NAME [--say WORDS]` prints what the
/// subresource answered; `diff workspacetemplate/NAME` prints "echo diff NAME"
/// and exits 1.
inline cli::kind_commands echo_commands() {
  auto define_echo = [](CLI::App& app) -> cli::command {
    struct flags {
      std::string name, say;
    };
    auto f = std::make_shared<flags>();
    auto* sub = app.add_subcommand("echo", "Ask a WorkspaceTemplate's echo subresource");
    sub->add_option("NAME", f->name)->required();
    sub->add_option("--say", f->say);
    return {sub, [f](cli::context& c) {
              auto path = cli::resource_path(*specs::find_kind("WorkspaceTemplate"), f->name,
                                             "echo") +
                          "?say=" + cli::url_encode(f->say);
              auto body = cli::get_ok(c, path);
              if (!body) return 1;
              c.out << *body << "\n";
              return 0;
            }};
  };
  auto diff = [](cli::context& c, const std::string& name) {
    c.out << "echo diff " << name << "\n";
    return 1;
  };
  return {"WorkspaceTemplate", {define_echo}, diff};
}

}  // namespace rockpool::test_kinds
