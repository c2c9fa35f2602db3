#pragma once

#include "rockpool/actors/reconciler.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace rockpool::actors::common {

/// Builds a status object from an object's current one: conditions in the
/// Kubernetes shape, each keeping its lastTransitionTime while its status
/// holds, in the kind's declared order (Ready last), and summary fields.
class status_builder {
 public:
  /// `order` lists the kind's condition types in the order they are shown;
  /// types not listed go before Ready, after the listed ones.
  status_builder(const specs::json::value& obj, const specs::clock& clock,
                 std::vector<std::string_view> order);

  void condition(const std::string& type, bool ok, const std::string& reason,
                 const std::string& message);
  specs::json::value& operator[](std::string_view key) { return status_[key]; }
  /// The status as read, before this pass.
  const specs::json::object& old() const { return old_; }
  /// A field of the old status, as JSON (null when absent).
  specs::json::value old_value() const { return specs::json::value(old_); }
  void erase(std::string_view key) { status_.erase(key); }
  /// Sets the fields of a typed status (a kind's crds::K::write_value(status));
  /// conditions and observedGeneration stay the builder's own.
  void set_fields(const specs::json::value& typed);
  /// Replaces every field with a typed status's (one that started as the old
  /// status, so fields it does not name carry over): a field it leaves empty
  /// goes. Conditions and observedGeneration stay the builder's own.
  void replace_fields(const specs::json::value& typed);

  /// Writes the status through the status path if anything in it changed.
  [[nodiscard]] specs::status write(reconcile_context& ctx, specs::json::value obj);

 private:
  std::int64_t generation_;
  std::string now_;
  std::vector<std::string_view> order_;
  specs::json::object old_;
  specs::json::object status_;
  specs::json::array conditions_;
};

/// The reason of the condition of this type in a status, or "".
std::string last_reason(const specs::json::object& status, const std::string& type);
/// Whether an object's status has the condition of this type with status True.
bool condition_holds(const specs::json::value& obj, const std::string& type);

/// Copies each condition's lastTransitionTime from `old` where a condition of
/// the same type has the same status: a transition time moves only when the
/// status changes.
void keep_transition_times(const specs::json::value* old_conditions,
                           specs::json::array& conditions);
/// The same for a kind's typed conditions (crds::K::status_conditions_item).
template <class Condition>
void keep_transition_times(const std::vector<Condition>& old, std::vector<Condition>& conditions) {
  for (auto& c : conditions)
    for (const auto& o : old)
      if (o.type == c.type && o.status == c.status) c.last_transition_time = o.last_transition_time;
}

}  // namespace rockpool::actors::common
