#include "commit_plan.hpp"

namespace rockpool::specs::detail {

commit_plan plan_commits(const std::vector<const kv_write*>& writes, const current_lookup& current,
                         std::uint64_t revision, std::uint64_t allocation_revision) {
  commit_plan plan;
  plan.revision = revision;
  plan.allocation_revision = allocation_revision;
  // What earlier writes of this group left: (space, key) -> (revision, value).
  std::map<std::pair<keyspace, std::string>, std::pair<std::uint64_t, std::optional<std::string>>>
      overlay;
  for (const auto* w : writes) {
    auto& outcome = plan.outcomes.emplace_back();
    std::uint64_t current_rev = 0;
    std::optional<std::string> current_value;
    auto slot = std::make_pair(w->space, w->key);
    if (auto it = overlay.find(slot); it != overlay.end()) {
      current_rev = it->second.first;
      current_value = it->second.second;
    } else {
      auto cur = current(w->space, w->key);
      if (!cur.ok()) {
        outcome = cur.err();
        continue;
      }
      if (*cur) {
        current_rev = (*cur)->mod_revision;
        current_value = std::move((*cur)->value);
      }
    }
    if (current_rev != w->expected_revision) {
      outcome = make_error(reason::conflict, "the object has been modified (revision " +
                                                 std::to_string(current_rev) + ", expected " +
                                                 std::to_string(w->expected_revision) + ")");
      continue;
    }
    if (!w->value && current_rev == 0) {
      outcome = make_error(reason::not_found, w->key + " does not exist");
      continue;
    }
    bool is_object = w->space == keyspace::objects;
    auto rev = is_object ? ++plan.revision : ++plan.allocation_revision;
    overlay[slot] = {w->value ? rev : 0, w->value};
    plan.mutations.push_back({w->space, w->key, rev, w->value});
    if (is_object) {
      auto type = !w->value ? kv_event::type::deleted
                            : (current_rev == 0 ? kv_event::type::added : kv_event::type::modified);
      plan.events.push_back(kv_event{rev, type, w->key, w->value ? *w->value : *current_value});
    }
    outcome = rev;
  }
  return plan;
}

}  // namespace rockpool::specs::detail
