#include "loop/loop.hpp"

#include <spdlog/spdlog.h>

#include <deque>

namespace rockpool::actors::loop {

namespace {

work_actor::behavior_type worker(work_actor::pointer, reconcile_context* ctx,
                                 const kind_registry* kinds,
                                 std::shared_ptr<controller_stats> stats) {
  return {
      [=](run_atom, const std::string& kind, const std::string& name) {
        stats->count_pass(kind + "/" + name);
        auto started = std::chrono::steady_clock::now();
        pass_result r = run_pass(*ctx, *kinds, kind, name);
        if (r.what == pass_result::outcome::failed) ++stats->failed_passes;
        static constexpr const char* outcomes[] = {"converged", "requeue", "failed", "terminal",
                                                   "gone"};
        stats->count_result(
            kind, outcomes[static_cast<int>(r.what)],
            std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count(),
            r.why);
        spdlog::debug("pass {}/{}: {} in {} ms{}{}", kind, name, outcomes[static_cast<int>(r.what)],
                      std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::steady_clock::now() - started)
                          .count(),
                      r.message.empty() ? "" : ": ", r.message);
        return r;
      },
      [=](exec_atom, const blocking_job& job) { job(); },
  };
}

}  // namespace

work_actor spawn_worker(caf::actor_system& sys, bool detached, reconcile_context* ctx,
                        const kind_registry* kinds, std::shared_ptr<controller_stats> stats) {
  return detached ? sys.spawn<caf::detached>(worker, ctx, kinds, std::move(stats))
                  : sys.spawn(worker, ctx, kinds, std::move(stats));
}

namespace {

struct queued_job {
  std::string kind, name;
  caf::typed_response_promise<pass_result> promise;
  std::chrono::steady_clock::time_point queued;
};

struct queue_state {
  std::deque<queued_job> jobs;
  std::deque<blocking_job> chores;
  std::vector<work_actor> idle;
  std::function<work_actor()> spawn_worker;
  std::shared_ptr<controller_stats> stats;
};

using queue_actor = work_actor::stateful_pointer<queue_state>;

// Gives the worker back, or a fresh one when it died.
void returned(queue_actor self, work_actor w, const std::function<void()>& dispatch) {
  self->state.idle.push_back(w ? w : self->state.spawn_worker());
  dispatch();
}

void run_chore(queue_actor self, work_actor w, blocking_job job,
               std::shared_ptr<std::function<void()>> dispatch) {
  self->request(w, caf::infinite, exec_atom::value, std::move(job))
      .then([self, w, dispatch] { returned(self, w, *dispatch); },
            [self, dispatch](caf::error&) { returned(self, work_actor{}, *dispatch); });
}

void run_job(queue_actor self, work_actor w, queued_job job,
             std::shared_ptr<std::function<void()>> dispatch) {
  self->request(w, caf::infinite, run_atom::value, job.kind, job.name)
      .then(
          [self, w, dispatch, promise = job.promise](pass_result r) mutable {
            promise.deliver(std::move(r));
            returned(self, w, *dispatch);
          },
          [self, dispatch, promise = job.promise](caf::error& e) mutable {
            // The worker died mid-pass: report a failed pass, replace the worker.
            promise.deliver(pass_result{
                pass_result::outcome::failed, "worker failed: " + caf::to_string(e), {}});
            returned(self, work_actor{}, *dispatch);
          });
}

work_actor::behavior_type work_queue(queue_actor self, std::size_t workers,
                                     std::function<work_actor()> spawn_worker,
                                     std::shared_ptr<controller_stats> stats) {
  self->state.stats = std::move(stats);
  // Every worker ever spawned, so they all go when the queue goes.
  auto all = std::make_shared<std::vector<work_actor>>();
  self->state.spawn_worker = [all, spawn = std::move(spawn_worker)] {
    all->push_back(spawn());
    return all->back();
  };
  self->set_exit_handler([self, all](caf::exit_msg& msg) {
    for (auto& w : *all) self->send_exit(w, msg.reason);
    self->quit(msg.reason);
  });
  for (std::size_t i = 0; i < workers; ++i) self->state.idle.push_back(self->state.spawn_worker());
  auto dispatch = std::make_shared<std::function<void()>>();
  *dispatch = [self, dispatch] {
    auto& st = self->state;
    while (!st.idle.empty() && (!st.chores.empty() || !st.jobs.empty())) {
      auto w = st.idle.back();
      st.idle.pop_back();
      if (!st.chores.empty()) {
        auto job = std::move(st.chores.front());
        st.chores.pop_front();
        run_chore(self, w, std::move(job), dispatch);
        continue;
      }
      auto job = std::move(st.jobs.front());
      st.jobs.pop_front();
      --st.stats->queue_depth;
      st.stats->observe_queue_wait(
          std::chrono::duration<double>(std::chrono::steady_clock::now() - job.queued).count());
      run_job(self, w, std::move(job), dispatch);
    }
  };
  return {
      [self, dispatch](run_atom, const std::string& kind,
                       const std::string& name) -> caf::result<pass_result> {
        auto promise = self->make_response_promise<pass_result>();
        self->state.jobs.push_back({kind, name, promise, std::chrono::steady_clock::now()});
        ++self->state.stats->queue_depth;
        (*dispatch)();
        return promise;
      },
      [self, dispatch](exec_atom, blocking_job& job) {
        self->state.chores.push_back(std::move(job));
        (*dispatch)();
      },
  };
}

}  // namespace

work_actor spawn_work_queue(caf::actor_system& sys, std::size_t workers,
                            std::function<work_actor()> new_worker,
                            std::shared_ptr<controller_stats> stats) {
  return sys.spawn(work_queue, workers, std::move(new_worker), std::move(stats));
}

}  // namespace rockpool::actors::loop
