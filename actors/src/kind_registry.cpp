#include "rockpool/actors/reconciler.hpp"

#include "rockpool/specs/json.hpp"

#include <stdexcept>

namespace rockpool::actors {

void kind_registry::add(std::unique_ptr<reconciler> r) {
  std::string kind(r->kind());
  if (by_kind_.count(kind)) throw std::logic_error("kind " + kind + " is registered twice");
  tracked_.insert(kind);
  for (auto& owned : r->owns()) {
    tracked_.insert(owned);
    owns_[kind].insert(std::move(owned));
  }
  auto& rules = watches_[kind] = r->watches();
  for (const auto& w : rules) tracked_.insert(w.source_kind);
  rule_index_.clear();  // rebuilt: the vectors above may have moved
  for (const auto& [k, rs] : watches_)
    for (const auto& w : rs) rule_index_.emplace_back(k, &w);
  by_kind_.emplace(std::move(kind), std::move(r));
}

const reconciler* kind_registry::find(std::string_view kind) const {
  auto it = by_kind_.find(kind);
  return it == by_kind_.end() ? nullptr : it->second.get();
}

bool kind_registry::tracks(std::string_view kind) const {
  return tracked_.find(kind) != tracked_.end();
}

bool kind_registry::owner_follows(std::string_view owner_kind, std::string_view owned_kind) const {
  auto it = owns_.find(owner_kind);
  return it != owns_.end() && it->second.find(owned_kind) != it->second.end();
}

std::vector<std::string> kind_registry::instance_followers() const {
  std::vector<std::string> out;
  for (const auto& [k, r] : by_kind_)
    if (r->follows_instances()) out.push_back(k);
  return out;
}

std::vector<std::string> kind_registry::kinds() const {
  std::vector<std::string> out;
  for (const auto& [k, r] : by_kind_) out.push_back(k);
  return out;
}

std::map<std::string, std::string> kind_registry::creation_finalizers() const {
  std::map<std::string, std::string> out;
  for (const auto& [k, r] : by_kind_)
    if (r->cleans_up()) out.emplace(k, cleanup_finalizer);
  return out;
}

std::vector<specs::json::value> kind_registry::bootstrap_objects() const {
  std::vector<specs::json::value> out;
  for (const auto& [k, r] : by_kind_)
    for (auto& obj : r->bootstrap()) out.push_back(std::move(obj));
  return out;
}

std::vector<specs::subresource> kind_registry::subresources(
    const subresource_services& services) const {
  std::vector<specs::subresource> out;
  for (const auto& [k, r] : by_kind_)
    for (auto& sub : r->subresources(services)) out.push_back(std::move(sub));
  return out;
}

bool being_deleted(const specs::json::value& obj) {
  return !specs::string_at(obj, "metadata.deletionTimestamp").empty();
}

bool has_cleanup_finalizer(const specs::json::value& obj) {
  const auto* f = specs::find_path(obj, "metadata.finalizers");
  if (f == nullptr || !f->is_array()) return false;
  for (const auto& e : f->get_array())
    if (e.is_string() && e.get_string() == cleanup_finalizer) return true;
  return false;
}

namespace {

// Adds or removes cleanup_finalizer with a merge patch; an object that is
// already gone is fine.
specs::status set_cleanup_finalizer(specs::object_store& store, const specs::json::value& obj,
                                    bool present) {
  specs::json::array fins;
  if (const auto* f = specs::find_path(obj, "metadata.finalizers"); f && f->is_array())
    for (const auto& e : f->get_array())
      if (!(e.is_string() && e.get_string() == cleanup_finalizer)) fins.push_back(e);
  if (present) fins.push_back(specs::json::string(cleanup_finalizer));
  specs::json::value patch = {
      {"metadata",
       {{"finalizers", fins.empty() ? specs::json::value() : specs::json::value(fins)}}}};
  auto r = store.merge_patch(specs::string_at(obj, "kind"), specs::string_at(obj, "metadata.name"),
                             patch, controller_write);
  if (!r.ok() && r.err().why != specs::reason::not_found) return r.err();
  return specs::done{};
}

// The finalizer protocol around a cleans_up() kind's pass: a deleted object
// is finalized and then let go; a live one carries the finalizer first.
pass_result finalized_pass(reconcile_context& ctx, const reconciler& r, specs::json::value obj) {
  using outcome = pass_result::outcome;
  if (being_deleted(obj)) {
    auto result = r.finalize(ctx, obj);
    if (result.what != outcome::converged) return result;
    if (auto st = set_cleanup_finalizer(ctx.store, obj, false); !st.ok())
      return {outcome::failed, st.err().message, {}};
    return {outcome::converged, "torn down", {}};
  }
  if (!has_cleanup_finalizer(obj)) {
    // Admission adds it; one removed by hand comes back before anything is made.
    if (auto st = set_cleanup_finalizer(ctx.store, obj, true); !st.ok())
      return {outcome::failed, st.err().message, {}};
    auto fresh = ctx.store.get(specs::string_at(obj, "kind"), specs::string_at(obj, "metadata.name"));
    if (!fresh.ok())
      return {fresh.err().why == specs::reason::not_found ? outcome::gone : outcome::failed,
              fresh.err().message, {}};
    return finalized_pass(ctx, r, std::move(*fresh));
  }
  return r.reconcile(ctx, std::move(obj));
}

}  // namespace

pass_result run_pass(reconcile_context& ctx, const kind_registry& kinds, const std::string& kind,
                     const std::string& name) {
  using outcome = pass_result::outcome;
  const auto* r = kinds.find(kind);
  if (r == nullptr) return {outcome::converged, "not a reconciled kind", {}};
  auto obj = ctx.store.get(kind, name);
  if (!obj.ok()) {
    if (obj.err().why == specs::reason::not_found) return {outcome::gone, "gone", {}};
    return {outcome::failed, obj.err().message, {}};
  }
  auto generation = specs::int_at(*obj, "metadata.generation").value_or(-1);
  pass_result result;
  try {
    result = r->cleans_up() ? finalized_pass(ctx, *r, std::move(*obj))
                            : r->reconcile(ctx, std::move(*obj));
  } catch (const std::exception& e) {
    // A bug or an injected fault: a failed pass, retried with backoff.
    result = {outcome::failed, std::string("reconcile threw: ") + e.what(), {}};
  }
  result.generation = generation;
  return result;
}

}  // namespace rockpool::actors
