#include "rockpool/specs/fault_backend.hpp"

#include <thread>

namespace rockpool::specs {

void fault_backend::inject(fault f, int n) {
  std::lock_guard lk(mu_);
  next_ = f;
  remaining_ = n;
}

result<std::uint64_t> fault_backend::commit(const kv_write& w) {
  ++begun_;
  if (auto ms = delay_ms_.load(); ms > 0)
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  std::optional<fault> f;
  {
    std::lock_guard lk(mu_);
    if (remaining_ > 0) {
      --remaining_;
      f = next_;
    }
  }
  if (!f) return inner_.commit(w);
  ++faults_;
  if (*f == fault::lose_ack) (void)inner_.commit(w);  // written, but the caller never hears
  return make_error(reason::unavailable, "store I/O error: injected fault");
}

}  // namespace rockpool::specs
