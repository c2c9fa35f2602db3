#include "rockpool/actors/allocator.hpp"

#include "rockpool/specs/json.hpp"

#include <boost/json.hpp>

#include <cstdio>

namespace rockpool::actors {

durable_allocator::durable_allocator(specs::kv_backend& backend, options o)
    : backend_(backend), o_(std::move(o)), next_(o_.first) {
  if (!o_.show) o_.show = [](std::uint32_t n) { return std::to_string(n); };
  std::lock_guard lk(mu_);
  (void)load();  // a failure is retried by the next acquire or release
}

std::string durable_allocator::key_of(std::uint32_t n) const {
  char digits[16];
  std::snprintf(digits, sizeof digits, "%0*u", o_.key_digits, n);
  return o_.prefix + digits;
}

// REQUIRES: mu_ held. Until the stored allocations are read, nothing is handed
// out: a number would otherwise be given twice.
specs::status durable_allocator::load() {
  if (loaded_) return specs::done{};
  auto snap = backend_.list(o_.prefix, specs::keyspace::allocations);
  if (!snap.ok()) return snap.err();
  for (const auto& rec : snap->records) {
    auto suffix = rec.key.substr(o_.prefix.size());
    if (suffix.empty() || suffix.find_first_not_of("0123456789") != std::string::npos) continue;
    auto n = static_cast<std::uint32_t>(std::stoul(suffix));
    auto v = specs::parse_json(rec.value);
    if (!v.ok()) continue;
    auto owner = specs::string_at(*v, "owner");
    by_owner_[owner] = {n, rec.mod_revision};
    by_number_[n] = owner;
  }
  loaded_ = true;
  return specs::done{};
}

// The number is reserved in memory under the lock and written outside it, so
// concurrent allocations for different owners share the store's group commit
// instead of paying one sync each in turn. An owner has at most one write in
// flight: a second call for it waits for the first to settle.
specs::result<std::uint32_t> durable_allocator::acquire(const std::string& owner) {
  std::unique_lock lk(mu_);
  settled_.wait(lk, [&] { return busy_.count(owner) == 0; });
  if (auto st = load(); !st.ok()) return st.err();
  if (auto it = by_owner_.find(owner); it != by_owner_.end()) return it->second.first;
  std::uint64_t span = static_cast<std::uint64_t>(o_.last - o_.first) + 1;
  std::size_t taken_elsewhere = 0;
  for (std::uint64_t tries = 0; tries < span; ++tries) {
    auto n = next_;
    next_ = next_ == o_.last ? o_.first : next_ + 1;
    if (by_number_.count(n)) continue;
    if (o_.in_use && o_.in_use(n)) {
      ++taken_elsewhere;
      continue;
    }
    by_number_[n] = owner;  // reserved: no one else is handed n meanwhile
    auto rev = write_unlocked(
        lk, owner,
        specs::kv_write{key_of(n), 0, boost::json::serialize(boost::json::object{{"owner", owner}}),
                        specs::keyspace::allocations});
    if (!rev.ok()) {
      by_number_.erase(n);
      if (rev.err().why == specs::reason::conflict) continue;  // taken elsewhere
      return rev.err();
    }
    by_owner_[owner] = {n, *rev};
    return n;
  }
  return specs::make_error(specs::reason::unavailable,
                           "no free " + o_.what + " in " + o_.show(o_.first) + "-" +
                               o_.show(o_.last) + " (" + std::to_string(by_number_.size()) +
                               " held by Rockpool, " + std::to_string(taken_elsewhere) +
                               " in use by other processes)");
}

// REQUIRES: lk holds mu_ and owner is not busy. Marks owner busy, commits w
// without the lock, and takes the lock back; waiters on owner are woken.
specs::result<std::uint64_t> durable_allocator::write_unlocked(std::unique_lock<std::mutex>& lk,
                                                               const std::string& owner,
                                                               const specs::kv_write& w) {
  busy_.insert(owner);
  lk.unlock();
  auto rev = backend_.commit(w);
  lk.lock();
  busy_.erase(owner);
  settled_.notify_all();
  return rev;
}

std::optional<std::string> durable_allocator::owner_of(std::uint32_t n) const {
  std::lock_guard lk(mu_);
  auto it = by_number_.find(n);
  if (it == by_number_.end()) return std::nullopt;
  return it->second;
}

std::optional<std::uint32_t> durable_allocator::held_by(const std::string& owner) const {
  std::lock_guard lk(mu_);
  auto it = by_owner_.find(owner);
  if (it == by_owner_.end()) return std::nullopt;
  return it->second.first;
}

specs::status durable_allocator::release(const std::string& owner) {
  std::unique_lock lk(mu_);
  settled_.wait(lk, [&] { return busy_.count(owner) == 0; });
  if (auto st = load(); !st.ok()) return st.err();
  auto it = by_owner_.find(owner);
  if (it == by_owner_.end()) return specs::done{};
  auto [n, rev] = it->second;
  // The number stays taken until the delete is durable.
  auto r = write_unlocked(
      lk, owner, specs::kv_write{key_of(n), rev, std::nullopt, specs::keyspace::allocations});
  if (!r.ok() && r.err().why != specs::reason::not_found) return r.err();
  by_number_.erase(n);
  by_owner_.erase(owner);
  return specs::done{};
}

std::size_t durable_allocator::allocated() const {
  std::lock_guard lk(mu_);
  return by_owner_.size();
}

}  // namespace rockpool::actors
