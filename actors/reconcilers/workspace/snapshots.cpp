// spec.lifecycle.snapshots: {schedule, timezone, keep}: a WorkspaceSnapshot
// of the workspace at each firing, named WORKSPACE-auto-YYYYMMDD-HHMM and
// labelled, and the oldest of those beyond keep deleted (snapshots taken by
// hand are never pruned). Firings are counted from status.snapshots.checkedAt,
// as the start/stop schedule's are.
#include "workspace/workspace.hpp"

#include "rockpool/specs/clock.hpp"
#include "rockpool/specs/object_model.hpp"

#include <algorithm>

namespace rockpool::actors::workspace {

using namespace common;

namespace {

constexpr const char* scheduled_label = "rockpool.dev/scheduled-snapshot-of";

std::string snapshot_name(const std::string& workspace, std::chrono::system_clock::time_point t) {
  auto stamp = specs::format_rfc3339(t);  // 2026-12-06T03:00:00Z
  std::string digits;
  for (char c : stamp.substr(0, 16))
    if (c >= '0' && c <= '9') digits += c;
  return workspace + "-auto-" + digits.substr(0, 8) + "-" + digits.substr(8);
}

}  // namespace

pass::step pass::take_scheduled_snapshots() {
  if (!s_.snapshots) {
    next_.snapshots.reset();
    return std::nullopt;
  }
  auto checked_text = old_.snapshots ? old_.snapshots->checked_at.value_or("") : std::string();
  auto checked = checked_text.empty() ? now_ : specs::parse_rfc3339(checked_text);
  auto due = s_.snapshots->last_in(checked, now_);
  typed::status_snapshots st;
  st.checked_at = checked_text.empty() || due ? specs::format_rfc3339(now_) : checked_text;
  if (auto next = s_.snapshots->next_after(now_)) st.next = specs::format_rfc3339(*next);
  next_.snapshots = std::move(st);
  if (!due) return std::nullopt;
  json::value snap = {
      {"apiVersion", specs::api_version},
      {"kind", "WorkspaceSnapshot"},
      {"metadata", {{"name", snapshot_name(s_.name, *due)}, {"labels", {{scheduled_label, s_.name}}}}},
      {"spec", {{"workspace", s_.name}}}};
  auto made = ctx_.store.create(std::move(snap), controller_write);
  if (!made.ok() && made.err().why != specs::reason::already_exists)
    return fail("SnapshotFailed", made.err().message, failed(made.err()));
  // Keep the newest `keep` of the scheduled ones (their names sort by time).
  auto all = ctx_.store.list("WorkspaceSnapshot");
  if (!all.ok()) return fail("SnapshotFailed", all.err().message, failed(all.err()));
  std::vector<std::string> ours;
  for (const auto& s : all->items) {
    auto meta = crds::object_meta::of(s);
    auto spec = crds::workspace_snapshot::spec_of(s);
    if (meta.ok() && spec.ok() && spec->workspace == s_.name &&
        meta->labels.count(scheduled_label) && meta->labels.at(scheduled_label) == s_.name)
      ours.push_back(meta->name);
  }
  std::sort(ours.begin(), ours.end());
  for (std::size_t i = 0; i + s_.snapshots_keep < ours.size(); ++i)
    if (auto r = ctx_.store.remove("WorkspaceSnapshot", ours[i], std::nullopt, controller_write);
        !r.ok() && r.err().why != specs::reason::not_found)
      return fail("SnapshotFailed", r.err().message, failed(r.err()));
  return std::nullopt;
}

}  // namespace rockpool::actors::workspace
