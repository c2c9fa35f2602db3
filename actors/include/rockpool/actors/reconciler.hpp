#pragma once

// The CAF-free contract between the actor loop and the kinds it reconciles.
// A kind is a folder under actors/reconcilers/ that implements `reconciler`
// and is registered with one line in actors/reconcilers/kinds.cpp.

#include "rockpool/actors/bridge.hpp"
#include "rockpool/actors/event_recorder.hpp"
#include "rockpool/actors/host_ports.hpp"
#include "rockpool/actors/workspace_activity.hpp"
#include "rockpool/runtime/incus.hpp"
#include "rockpool/runtime/inner.hpp"
#include "rockpool/runtime/routes.hpp"
#include "rockpool/specs/object_store.hpp"
#include "rockpool/specs/subresource.hpp"

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace rockpool::actors {

/// The finalizer every managed object carries until its teardown is done.
inline constexpr const char* cleanup_finalizer = "rockpool.dev/cleanup";
/// Writes the controller makes on its own behalf.
inline const specs::write_request controller_write{false, "rockpoold"};

/// Whether obj has metadata.deletionTimestamp set.
bool being_deleted(const specs::json::value& obj);
/// Whether obj carries cleanup_finalizer.
bool has_cleanup_finalizer(const specs::json::value& obj);

/// What one reconcile pass concluded.
struct pass_result {
  enum class outcome {
    converged,  // the world matches the spec: nothing to do until something changes
    requeue,    // waiting on something that will not send an event: look again after `after`
    failed,     // a transient error: retry with backoff
    terminal,   // the spec cannot be satisfied here: no retry until the spec changes
    gone,       // the object no longer exists
  };
  outcome what = outcome::converged;
  std::string message;
  std::chrono::milliseconds after{0};
  std::int64_t generation = -1;  // metadata.generation the pass acted on, if it read the object
  /// Why a failed or terminal pass ended, when an error said so (errors as
  /// values: metrics count failures by it). Empty: the pass gave only words.
  std::optional<specs::reason> why = std::nullopt;
};

/// Everything a pass may use. All members are thread-safe.
struct reconcile_context {
  specs::object_store& store;
  runtime::incus_client& incus;
  runtime::route_table& routes;
  host_port_allocator& ports;
  event_recorder& events;
  const specs::clock& clock;
  /// The managed bridge for `network: bridge`; null when bridge networking is off.
  bridge_network* bridge = nullptr;
  /// How a NestedHost's inner control plane is looked at; null: not at all.
  runtime::inner_probe* inner = nullptr;
  /// Where workspaces were last used (the gateway, exec); null: workspaces
  /// never sleep.
  workspace_activity* activity = nullptr;
};

/// A "maps from" trigger: a change to an object of `source_kind` pokes every
/// object of the declaring kind whose `references` name it. The manager keeps
/// the index; `references` must be a pure function of the object.
struct watch_rule {
  std::string source_kind;
  std::function<std::vector<std::string>(const specs::json::value& ours)> references;
  /// Whether every write of a referenced object pokes (status included);
  /// false: only changes to its spec, labels or annotations, and its deletion.
  bool follows_status = true;
};

/// What a kind's subresources may use. Thread-safe members.
struct subresource_services {
  specs::object_store& store;
  /// Incus; null when this controller does not reach it (--runtime none or fake).
  runtime::incus_client* incus = nullptr;
  /// The outer Caddy's workspace server, e.g. http://127.0.0.1:8081.
  std::string workspace_url;
  /// A single-use sign-in code for the workspace server; empty: workspaces
  /// are served without sign-in (--workspace-signin=false).
  std::function<specs::result<std::string>()> issue_signin_code = {};
  /// Workspace activity (exec sessions count; opening or exec wakes a
  /// sleeping workspace); null: no lifecycle.
  workspace_activity* activity = nullptr;
  /// How long exec waits for a sleeping workspace to wake.
  std::chrono::milliseconds wake_timeout{60000};
};

/// One kind's reconciler: what it is For, what it Owns and Watches (in the
/// sense of controller-runtime's builder), and its pass.
/// Thread safety: reconcile() runs on several workers at once, for different
/// objects; implementations keep no mutable state of their own.
class reconciler {
 public:
  virtual ~reconciler() = default;
  /// The kind this reconciler is for, e.g. "Workspace".
  virtual std::string_view kind() const = 0;
  /// Kinds whose objects this kind owns through ownerReferences: when an owned
  /// object's status.phase changes or it is deleted, its owner is poked.
  virtual std::vector<std::string> owns() const { return {}; }
  /// Other kinds whose changes poke objects of this kind.
  virtual std::vector<watch_rule> watches() const { return {}; }
  /// Whether an Incus instance event about instance NAME pokes KIND/NAME.
  virtual bool follows_instances() const { return false; }
  /// Whether objects of this kind carry cleanup_finalizer while they exist
  /// (the kind has something outside the store to tear down). The framework
  /// owns the finalizer: admission adds it when an object is created (and a
  /// pass adds it back if it went missing); once the object is being deleted
  /// the framework calls finalize() instead of reconcile(), and removes the
  /// finalizer when finalize() converges.
  virtual bool cleans_up() const { return false; }
  /// Tears down what the object made outside the store (cleans_up() kinds).
  /// Converged: done, the finalizer goes; anything else: called again, as a
  /// pass with that result would be. Idempotent, like reconcile().
  virtual pass_result finalize(reconcile_context&, const specs::json::value&) const {
    return {pass_result::outcome::converged, "nothing to tear down", {}};
  }
  /// Objects of this kind the controller creates at start when they are
  /// absent (e.g. Host/local, whose status the reconciler keeps).
  virtual std::vector<specs::json::value> bootstrap() const { return {}; }
  /// The kind's subresources (e.g. nestedhosts/NAME/log), served by the API
  /// router. Handlers may keep references to services' members.
  virtual std::vector<specs::subresource> subresources(const subresource_services&) const {
    return {};
  }
  /// One level-triggered pass over obj, freshly read from the store and not
  /// being deleted (cleans_up() kinds: carrying the finalizer): observe the
  /// world, act, write status if it changed. Blocking; runs on a worker,
  /// never on the actor scheduler. May throw (a bug or an injected fault):
  /// the caller treats that as a failed pass.
  virtual pass_result reconcile(reconcile_context& ctx, specs::json::value obj) const = 0;
};

/// The reconciled kinds, and the indexes the manager derives from their
/// declarations. Built once at start-up; read-only (so thread-safe) after.
class kind_registry {
 public:
  /// REQUIRES: no reconciler for r->kind() is registered yet.
  void add(std::unique_ptr<reconciler> r);
  /// The reconciler for kind, or nullptr.
  const reconciler* find(std::string_view kind) const;
  /// Whether the manager keeps track of objects of kind: reconciled kinds and
  /// the kinds they own or watch.
  bool tracks(std::string_view kind) const;
  /// Whether owner_kind declares that it owns objects of owned_kind.
  bool owner_follows(std::string_view owner_kind, std::string_view owned_kind) const;
  /// The kinds poked about Incus instance events.
  std::vector<std::string> instance_followers() const;
  /// Every (watching kind, rule) pair.
  const std::vector<std::pair<std::string, const watch_rule*>>& watch_rules() const {
    return rule_index_;
  }
  std::vector<std::string> kinds() const;
  /// The finalizer admission adds on create, by kind (the kinds that clean up).
  std::map<std::string, std::string> creation_finalizers() const;
  /// Every registered kind's bootstrap objects.
  std::vector<specs::json::value> bootstrap_objects() const;
  /// Every registered kind's subresources.
  std::vector<specs::subresource> subresources(const subresource_services& services) const;

 private:
  // The declarations, read once at add(): the manager asks on every event.
  std::map<std::string, std::unique_ptr<reconciler>, std::less<>> by_kind_;
  std::map<std::string, std::vector<watch_rule>, std::less<>> watches_;
  std::map<std::string, std::set<std::string, std::less<>>, std::less<>> owns_;
  std::set<std::string, std::less<>> tracked_;
  std::vector<std::pair<std::string, const watch_rule*>> rule_index_;
};

/// One pass for kind/name: reads the object and hands it to its kind's
/// reconciler (finalize() while a cleans_up() kind's object is being deleted,
/// then removes the finalizer); a missing object is `gone`, an exception a
/// failed pass.
pass_result run_pass(reconcile_context& ctx, const kind_registry& kinds, const std::string& kind,
                     const std::string& name);

}  // namespace rockpool::actors
