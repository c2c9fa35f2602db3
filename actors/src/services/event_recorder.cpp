#include "rockpool/actors/event_recorder.hpp"

#include "rockpool/specs/schema.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <functional>

namespace rockpool::actors {

namespace json = boost::json;
using specs::string_at;

event_recorder::event_recorder(specs::object_store& store, const specs::clock& clock,
                               std::size_t retention, std::size_t ceiling)
    : store_(store),
      clock_(clock),
      retention_(retention),
      ceiling_(ceiling ? ceiling : default_ceiling(retention)) {}

std::size_t event_recorder::default_ceiling(std::size_t retention) {
  // A burst of 10,000 workspaces records 20,000 events: under the default.
  return std::max<std::size_t>(retention * 10, 50000);
}

namespace {

// One name per (object, reason, message), so a repeat finds its event.
std::string event_name_of(const std::string& kind, const std::string& name,
                          const std::string& reason, const std::string& message) {
  char hash[16];
  std::snprintf(
      hash, sizeof hash, "%08zx",
      std::hash<std::string>{}(kind + "/" + name + "/" + reason + "/" + message) & 0xffffffffu);
  std::string base = name.substr(0, 54);
  while (!base.empty() && base.back() == '-') base.pop_back();
  return base + "-" + hash;
}

}  // namespace

void event_recorder::load_names() {
  std::lock_guard lk(mu_);
  if (loaded_) return;
  // Oldest first, so retention removes the right ones after a restart.
  auto l = store_.list("Event");
  if (l.ok()) {
    std::sort(l->items.begin(), l->items.end(), [](const json::value& a, const json::value& b) {
      return string_at(a, "spec.lastTimestamp") < string_at(b, "spec.lastTimestamp");
    });
    for (const auto& e : l->items) names_.push_back(string_at(e, "metadata.name"));
  }
  loaded_ = true;
}

void event_recorder::record(const json::value& object, const std::string& type,
                            const std::string& reason, const std::string& message) {
  load_names();
  // Store writes happen outside the lock, so concurrent passes share syncs.
  auto kind = string_at(object, "kind");
  auto name = string_at(object, "metadata.name");
  std::string event_name = event_name_of(kind, name, reason, message);
  auto now = specs::format_rfc3339(clock_.now());
  json::value e = {
      {"apiVersion", specs::api_version},
      {"kind", "Event"},
      {"metadata", {{"name", event_name}}},
      {"spec",
       {{"type", type},
        {"reason", reason},
        {"message", message.substr(0, 1024)},
        {"count", 1},
        {"firstTimestamp", now},
        {"lastTimestamp", now},
        {"involvedObject",
         {{"kind", kind}, {"name", name}, {"uid", string_at(object, "metadata.uid")}}}}}};
  // Most events are new: create first, and only a repeat reads the event.
  auto created = store_.create(std::move(e), {false, "rockpoold"});
  if (!created.ok() && created.err().why == specs::reason::already_exists) {
    auto existing = store_.get("Event", event_name);
    if (!existing.ok()) return;
    auto repeat = std::move(*existing);
    auto& spec = repeat.as_object()["spec"].as_object();
    spec["count"] = specs::int_at(repeat, "spec.count").value_or(1) + 1;
    spec["lastTimestamp"] = now;
    (void)store_.replace(std::move(repeat), {false, "rockpoold"});
    return;
  }
  if (!created.ok()) return;
  bool surplus = false, overflowing = false;
  {
    std::lock_guard lk(mu_);
    names_.push_back(event_name);
    surplus = names_.size() > retention_;
    overflowing = names_.size() > ceiling_;
  }
  // Past the ceiling the trimmer is behind: this pass removes the oldest
  // beyond it, so the store stays bounded without one pass removing a
  // whole backlog.
  if (overflowing) remove(take_surplus(ceiling_));
  if (surplus) wake_.notify_one();
}

std::vector<std::string> event_recorder::take_surplus(std::size_t keep) {
  std::vector<std::string> expired;
  std::lock_guard lk(mu_);
  while (names_.size() > keep) {
    expired.push_back(std::move(names_.front()));
    names_.pop_front();
  }
  return expired;
}

void event_recorder::remove(const std::vector<std::string>& names) {
  for (const auto& old : names) {
    if (stopping_) return;  // stopping: the rest goes at the next trim
    (void)store_.remove("Event", old, std::nullopt, {false, "rockpoold"});
  }
}

std::size_t event_recorder::trim() {
  load_names();
  auto expired = take_surplus(retention_);
  remove(expired);
  return expired.size();
}

std::size_t event_recorder::size() {
  load_names();
  std::lock_guard lk(mu_);
  return names_.size();
}

void event_recorder::trim_every(std::chrono::milliseconds period) {
  if (trimmer_.joinable()) return;
  trimmer_ = std::thread([this, period] {
    std::unique_lock lk(mu_);
    while (!stopping_) {
      wake_.wait(lk, [&] { return stopping_.load() || names_.size() > retention_; });
      // A period's events go in one round, after the burst that made them.
      if (wake_.wait_for(lk, period, [&] { return stopping_.load(); })) break;
      lk.unlock();
      trim();
      lk.lock();
    }
  });
}

event_recorder::~event_recorder() {
  {
    std::lock_guard lk(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (trimmer_.joinable()) trimmer_.join();
}

}  // namespace rockpool::actors
