#include "common/ownership.hpp"
#include "common/pass.hpp"
#include "common/status.hpp"

#include "rockpool/specs/schema.hpp"

#include <algorithm>

namespace rockpool::actors::common {

using specs::int_at;
using specs::string_at;

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : ", ") + i;
  return out;
}

// ---- ownership ----

std::vector<std::string> owner_uids(const json::value& obj) {
  std::vector<std::string> out;
  if (const auto* refs = specs::find_path(obj, "metadata.ownerReferences");
      refs && refs->is_array())
    for (const auto& r : refs->get_array()) out.push_back(string_at(r, "uid"));
  return out;
}

bool owned_by_uid(const json::value& obj, const std::string& uid) {
  auto uids = owner_uids(obj);
  return std::find(uids.begin(), uids.end(), uid) != uids.end();
}

std::variant<json::value, pass_result> adopt(reconcile_context& ctx, json::value obj,
                                             const json::value* owner) {
  bool needs_owner = owner != nullptr && !owned_by_uid(obj, string_at(*owner, "metadata.uid"));
  if (has_cleanup_finalizer(obj) && !needs_owner) return obj;
  json::array fins;
  if (const auto* f = specs::find_path(obj, "metadata.finalizers"); f && f->is_array())
    fins = f->get_array();
  if (!has_cleanup_finalizer(obj)) fins.push_back(json::string(cleanup_finalizer));
  json::value patch = {{"metadata", {{"finalizers", fins}}}};
  if (needs_owner) {
    // Added to the owners it has (a NestedHost's routes keep their controller).
    auto owner_kind = string_at(*owner, "kind");
    json::array refs;
    if (const auto* o = specs::find_path(obj, "metadata.ownerReferences"); o && o->is_array())
      for (const auto& r : o->get_array())
        if (string_at(r, "kind") != owner_kind) refs.push_back(r);
    for (const auto& r : owner_reference(*owner, false)) refs.push_back(r);
    patch.as_object()["metadata"].as_object()["ownerReferences"] = std::move(refs);
  }
  auto r = ctx.store.merge_patch(string_at(obj, "kind"), string_at(obj, "metadata.name"), patch,
                                 controller_write);
  if (!r.ok()) return r.err().why == specs::reason::not_found ? gone() : failed(r.err());
  return std::move(r->object);
}

json::array owner_reference(const json::value& owner, bool controller) {
  return json::array{{{"apiVersion", specs::api_version},
                      {"kind", string_at(owner, "kind")},
                      {"name", string_at(owner, "metadata.name")},
                      {"uid", string_at(owner, "metadata.uid")},
                      {"controller", controller}}};
}

// ---- status ----

status_builder::status_builder(const json::value& obj, const specs::clock& clock,
                               std::vector<std::string_view> order)
    : generation_(int_at(obj, "metadata.generation").value_or(0)),
      now_(specs::format_rfc3339(clock.now())),
      order_(std::move(order)) {
  if (const auto* s = specs::find_path(obj, "status"); s && s->is_object()) old_ = s->get_object();
  status_ = old_;
  status_["observedGeneration"] = generation_;
}

void status_builder::condition(const std::string& type, bool ok, const std::string& reason,
                               const std::string& message) {
  conditions_.push_back({{"type", type},
                         {"status", ok ? "True" : "False"},
                         {"reason", reason},
                         {"message", message},
                         {"lastTransitionTime", now_},
                         {"observedGeneration", generation_}});
}

void keep_transition_times(const json::value* old_conditions, json::array& conditions) {
  if (old_conditions == nullptr || !old_conditions->is_array()) return;
  for (auto& c : conditions)
    for (const auto& o : old_conditions->get_array())
      if (string_at(o, "type") == string_at(c, "type") &&
          string_at(o, "status") == string_at(c, "status"))
        c.as_object()["lastTransitionTime"] = string_at(o, "lastTransitionTime");
}

void status_builder::set_fields(const json::value& typed) {
  if (!typed.is_object()) return;
  for (const auto& [k, v] : typed.get_object())
    if (k != "conditions" && k != "observedGeneration") status_[k] = v;
}

void status_builder::replace_fields(const json::value& typed) {
  status_ = {};
  status_["observedGeneration"] = generation_;
  set_fields(typed);
}

specs::status status_builder::write(reconcile_context& ctx, json::value obj) {
  // A stable order whatever the pass did first: the declared order, Ready last.
  auto rank = [this](const json::value& c) {
    auto t = string_at(c, "type");
    if (t == "Ready") return order_.size() + 1;
    auto it = std::find(order_.begin(), order_.end(), t);
    return it == order_.end() ? order_.size() : static_cast<std::size_t>(it - order_.begin());
  };
  std::stable_sort(conditions_.begin(), conditions_.end(),
                   [&](const json::value& a, const json::value& b) { return rank(a) < rank(b); });
  keep_transition_times(old_.if_contains("conditions"), conditions_);
  status_["conditions"] = std::move(conditions_);
  conditions_ = {};
  obj.as_object()["status"] = std::move(status_);
  status_ = {};
  obj.as_object()["metadata"].as_object().erase("resourceVersion");
  auto r = ctx.store.replace_status(std::move(obj), controller_write);
  if (!r.ok() && r.err().why != specs::reason::not_found) return r.err();
  return specs::done{};
}

std::string last_reason(const json::object& status, const std::string& type) {
  if (const auto* conds = status.if_contains("conditions"); conds && conds->is_array())
    for (const auto& c : conds->get_array())
      if (string_at(c, "type") == type) return string_at(c, "reason");
  return {};
}

bool condition_holds(const json::value& obj, const std::string& type) {
  const auto* conds = specs::find_path(obj, "status.conditions");
  if (conds == nullptr || !conds->is_array()) return false;
  for (const auto& c : conds->get_array())
    if (string_at(c, "type") == type) return string_at(c, "status") == "True";
  return false;
}

}  // namespace rockpool::actors::common
