#include "loop/loop.hpp"

#include <deque>
#include <map>

namespace rockpool::actors::loop {

namespace {

struct subscriber {
  hub_subscriber handle;
  std::size_t in_flight = 0;
  std::uint64_t delivered = 0;  // last revision sent
};

struct hub_state {
  std::uint64_t position = 0;
  std::deque<specs::kv_event> recent;
  std::map<caf::actor_addr, subscriber> subscribers;
};

hub_actor::behavior_type watch_hub(hub_actor::stateful_pointer<hub_state> self,
                                   std::uint64_t start_revision, controller_options options,
                                   std::shared_ptr<controller_stats> stats) {
  self->state.position = start_revision;
  self->set_down_handler([self](caf::down_msg& dm) { self->state.subscribers.erase(dm.source); });
  // Sends sub everything after its position, or cuts it off when it lags.
  auto deliver = [self, options, stats](subscriber& sub) -> bool {
    // `recent` is in revision order: start after what the subscriber has.
    const auto& recent = self->state.recent;
    auto first = std::upper_bound(
        recent.begin(), recent.end(), sub.delivered,
        [](std::uint64_t rev, const specs::kv_event& e) { return rev < e.revision; });
    event_batch batch(first, recent.end());
    if (batch.empty()) return true;
    if (sub.in_flight >= options.subscriber_max_in_flight) {
      self->send(sub.handle, cutoff_atom::value, sub.delivered);
      ++stats->subscribers_cut_off;
      return false;
    }
    sub.delivered = batch.back().revision;
    ++sub.in_flight;
    self->send(sub.handle, events_atom::value, std::move(batch));
    return true;
  };
  return {
      [self, deliver, options](publish_atom, event_batch& events) {
        auto& st = self->state;
        for (auto& e : events) {
          if (e.revision <= st.position) continue;
          st.position = e.revision;
          st.recent.push_back(std::move(e));
        }
        while (st.recent.size() > options.hub_replay) st.recent.pop_front();
        for (auto it = st.subscribers.begin(); it != st.subscribers.end();) {
          if (deliver(it->second)) {
            ++it;
          } else {
            self->demonitor(it->second.handle.address());
            it = st.subscribers.erase(it);
          }
        }
      },
      [self, deliver](subscribe_atom, hub_subscriber who, std::uint64_t from) {
        auto& st = self->state;
        std::uint64_t oldest = st.recent.empty() ? st.position + 1 : st.recent.front().revision;
        if (from + 1 < oldest && from < st.position) {
          self->send(who, cutoff_atom::value, from);  // too old: relist
          return;
        }
        self->monitor(who);
        auto& sub = st.subscribers[who.address()] = subscriber{who, 0, from};
        if (!deliver(sub)) st.subscribers.erase(who.address());
      },
      [self](ack_atom) {
        auto it =
            self->state.subscribers.find(caf::actor_cast<caf::actor_addr>(self->current_sender()));
        if (it != self->state.subscribers.end() && it->second.in_flight > 0) --it->second.in_flight;
      },
  };
}

}  // namespace

hub_actor spawn_watch_hub(caf::actor_system& sys, std::uint64_t start_revision,
                          controller_options options, std::shared_ptr<controller_stats> stats) {
  return sys.spawn(watch_hub, start_revision, std::move(options), std::move(stats));
}

}  // namespace rockpool::actors::loop
