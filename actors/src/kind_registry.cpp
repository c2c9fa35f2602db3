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
    result = r->reconcile(ctx, std::move(*obj));
  } catch (const std::exception& e) {
    // A bug or an injected fault: a failed pass, retried with backoff.
    result = {outcome::failed, std::string("reconcile threw: ") + e.what(), {}};
  }
  result.generation = generation;
  return result;
}

}  // namespace rockpool::actors
