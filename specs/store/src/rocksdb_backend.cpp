#include "rockpool/specs/rocksdb_backend.hpp"

#include "commit_plan.hpp"
#include "pinned_views.hpp"
#include "rocksdb_format.hpp"

#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace rockpool::specs {
namespace {

using detail::decode_u32;
using detail::decode_u64;
using detail::encode_u64;
using detail::io_error;
using detail::meta_allocation_revision;
using detail::meta_compacted;
using detail::meta_revision;

// Event log value: [type:1][key length:4][key][value].
std::string encode_event(kv_event::type t, std::string_view key, std::string_view value) {
  std::string out;
  out.reserve(5 + key.size() + value.size());
  out.push_back(static_cast<char>(t));
  auto len = encode_u64(key.size());
  out.append(len.substr(4));
  out.append(key);
  out.append(value);
  return out;
}

class rocksdb_backend final : public kv_backend {
 public:
  rocksdb_backend(std::unique_ptr<rocksdb::DB> db, std::vector<rocksdb::ColumnFamilyHandle*> cfs,
                  rocksdb_options options, std::uint64_t revision, std::uint64_t compacted,
                  std::uint64_t allocation_revision)
      : db_(std::move(db)),
        cfs_(std::move(cfs)),
        options_(options),
        revision_(revision),
        compacted_(compacted),
        allocation_revision_(allocation_revision) {
    write_options_.sync = options_.sync;
    compactor_ = std::thread([this] { compact_when_asked(); });
  }

  ~rocksdb_backend() override {
    {
      std::lock_guard lk(compact_mu_);
      compact_stop_ = true;
    }
    compact_cv_.notify_all();
    compactor_.join();
    views_.clear();  // their snapshots are released into the open database
    // A clean stop flushes the memtables, so the next open has no write-ahead
    // log to replay: with 10,000 objects just written, a restart was ready
    // in 0.12 s with the replay and 0.05 s without (docs/benchmarks.md).
    if (options_.flush_on_close) {
      rocksdb::FlushOptions flush;
      flush.allow_write_stall = true;
      (void)db_->Flush(flush, cfs_);
    }
    for (auto* cf : cfs_) db_->DestroyColumnFamilyHandle(cf);
    db_->Close();
  }

  result<std::optional<kv_record>> get(std::string_view key, keyspace space) override {
    std::string raw;
    auto s = db_->Get(rocksdb::ReadOptions(), family(space), rocksdb::Slice(key.data(), key.size()),
                      &raw);
    if (s.IsNotFound()) return std::optional<kv_record>{};
    if (!s.ok()) return io_error(s);
    return std::optional<kv_record>{kv_record{std::string(key), raw.substr(8), decode_u64(raw)}};
  }

  result<kv_snapshot> list(std::string_view prefix, keyspace space) override {
    const rocksdb::Snapshot* snap = db_->GetSnapshot();
    rocksdb::ReadOptions ro;
    ro.snapshot = snap;
    kv_snapshot out;
    std::string rev;
    auto s = db_->Get(ro, meta(),
                      space == keyspace::objects ? meta_revision : meta_allocation_revision, &rev);
    if (s.ok()) out.revision = decode_u64(rev);
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, family(space)));
    for (it->Seek(rocksdb::Slice(prefix.data(), prefix.size())); it->Valid(); it->Next()) {
      auto k = it->key().ToStringView();
      if (k.substr(0, prefix.size()) != prefix) break;
      auto v = it->value().ToStringView();
      out.records.push_back(kv_record{std::string(k), std::string(v.substr(8)), decode_u64(v)});
    }
    auto st = it->status();
    it.reset();
    db_->ReleaseSnapshot(snap);
    if (!st.ok()) return io_error(st);
    return out;
  }

  // Keys only: no value is copied (a restart counts every object).
  result<std::uint64_t> count(std::string_view prefix, keyspace space) override {
    rocksdb::ReadOptions ro;
    ro.fill_cache = false;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, family(space)));
    std::uint64_t n = 0;
    for (it->Seek(rocksdb::Slice(prefix.data(), prefix.size()));
         it->Valid() && it->key().starts_with(rocksdb::Slice(prefix.data(), prefix.size()));
         it->Next())
      ++n;
    if (auto st = it->status(); !st.ok()) return io_error(st);
    return n;
  }

  result<kv_dump> dump() override {
    const rocksdb::Snapshot* snap = db_->GetSnapshot();
    rocksdb::ReadOptions ro;
    ro.snapshot = snap;
    kv_dump out;
    rocksdb::Status st;
    for (auto [key, rev] : {std::pair{meta_revision, &out.revision},
                            std::pair{meta_allocation_revision, &out.allocation_revision}}) {
      std::string v;
      if (auto s = db_->Get(ro, meta(), key, &v); s.ok())
        *rev = decode_u64(v);
      else if (!s.IsNotFound())
        st = s;
    }
    for (auto [records, cf] : {std::pair{&out.objects, objects()},
                               std::pair{&out.allocations, allocations()}}) {
      std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, cf));
      for (it->SeekToFirst(); st.ok() && it->Valid(); it->Next()) {
        auto v = it->value().ToStringView();
        records->push_back({it->key().ToString(), std::string(v.substr(8)), decode_u64(v)});
      }
      if (st.ok()) st = it->status();
    }
    db_->ReleaseSnapshot(snap);
    if (!st.ok()) return io_error(st);
    return out;
  }

  result<kv_page> list_page(std::string_view prefix, std::string_view start_after,
                            std::size_t limit, std::uint64_t at) override {
    std::shared_ptr<const rocksdb::Snapshot> snap;
    if (at != 0) {
      snap = views_.find(at);
      if (!snap)
        return make_error(reason::gone, "no read view of revision " + std::to_string(at) +
                                            " is kept any more");
    } else {
      snap.reset(db_->GetSnapshot(), [db = db_.get()](const rocksdb::Snapshot* s) {
        db->ReleaseSnapshot(s);
      });
    }
    rocksdb::ReadOptions ro;
    ro.snapshot = snap.get();
    kv_page out;
    out.revision = at;
    if (at == 0) {
      std::string rev;
      if (auto s = db_->Get(ro, meta(), meta_revision, &rev); s.ok()) out.revision = decode_u64(rev);
    }
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, objects()));
    auto from = start_after.empty() ? prefix : start_after;
    it->Seek(rocksdb::Slice(from.data(), from.size()));
    if (!start_after.empty() && it->Valid() && it->key().ToStringView() == start_after) it->Next();
    for (; it->Valid(); it->Next()) {
      auto k = it->key().ToStringView();
      if (k.substr(0, prefix.size()) != prefix) break;
      if (limit != 0 && out.records.size() == limit) {
        out.more = true;
        break;
      }
      auto v = it->value().ToStringView();
      out.records.push_back(kv_record{std::string(k), std::string(v.substr(8)), decode_u64(v)});
    }
    auto st = it->status();
    it.reset();
    if (!st.ok()) return io_error(st);
    if (out.more && at == 0) views_.pin(out.revision, std::move(snap));
    return out;
  }

  result<std::uint64_t> commit(const kv_write& w) override {
    pending p{&w, false, std::nullopt};
    std::unique_lock lk(mu_);
    queue_.push_back(&p);
    cv_.wait(lk, [&] { return p.done || (!leader_active_ && queue_.front() == &p); });
    if (p.done) return std::move(*p.outcome);
    leader_active_ = true;
    std::deque<pending*> batch;
    batch.swap(queue_);
    lk.unlock();
    write_group(batch);
    lk.lock();
    leader_active_ = false;
    lk.unlock();
    cv_.notify_all();
    return std::move(*p.outcome);
  }

  result<std::vector<kv_event>> events_after(std::uint64_t after, std::size_t limit) override {
    if (after < compacted_revision()) return gone(after);
    std::vector<kv_event> out;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), events()));
    auto start = encode_u64(after + 1);
    for (it->Seek(start); it->Valid() && out.size() < limit; it->Next()) {
      auto v = it->value().ToStringView();
      if (v.size() < 5) continue;
      kv_event e;
      e.revision = decode_u64(it->key().ToStringView());
      e.kind = static_cast<kv_event::type>(v[0]);
      auto klen = static_cast<std::size_t>(decode_u32(v.substr(1, 4)));
      e.key = std::string(v.substr(5, klen));
      e.value = std::string(v.substr(5 + klen));
      out.push_back(std::move(e));
    }
    if (!it->status().ok()) return io_error(it->status());
    // Compaction may have run between the check and the read.
    if (!out.empty() && out.front().revision != after + 1) return gone(after);
    return out;
  }

  bool reads_locally() const override { return true; }
  std::uint64_t revision() const override {
    std::lock_guard lk(rev_mu_);
    return revision_;
  }

  std::uint64_t compacted_revision() const override {
    std::lock_guard lk(rev_mu_);
    return compacted_;
  }

  bool wait_for_revision(std::uint64_t after, std::chrono::milliseconds timeout) override {
    std::unique_lock lk(rev_mu_);
    return rev_cv_.wait_for(lk, timeout, [&] { return revision_ > after || woken_; }) &&
           revision_ > after;
  }

  void set_commit_listener(std::function<void(std::vector<kv_event>)> listener) override {
    listener_ = std::move(listener);
  }

  kv_stats stats() const override {
    std::lock_guard lk(rev_mu_);
    return stats_;
  }

  void wake_all() override {
    {
      std::lock_guard lk(rev_mu_);
      woken_ = true;
    }
    rev_cv_.notify_all();
  }

 private:
  struct pending {
    const kv_write* write;
    bool done = false;
    std::optional<result<std::uint64_t>> outcome;
  };

  error gone(std::uint64_t after) const {
    return make_error(reason::gone, "too old resource version: " + std::to_string(after) +
                                        " (events up to " + std::to_string(compacted_revision()) +
                                        " have been compacted)");
  }

  // Paged lists' snapshots, released when they expire or are evicted.
  detail::pinned_views<rocksdb::Snapshot> views_;

  rocksdb::ColumnFamilyHandle* objects() const { return cfs_[detail::objects_family]; }
  rocksdb::ColumnFamilyHandle* events() const { return cfs_[detail::events_family]; }
  rocksdb::ColumnFamilyHandle* meta() const { return cfs_[detail::meta_family]; }
  rocksdb::ColumnFamilyHandle* allocations() const { return cfs_[detail::allocations_family]; }
  rocksdb::ColumnFamilyHandle* family(keyspace space) const {
    return space == keyspace::objects ? objects() : allocations();
  }

  // Runs as the group leader: checks every precondition in order (later
  // writes see earlier ones of the same group), then one synced WriteBatch.
  void write_group(std::deque<pending*>& group) {
    std::vector<const kv_write*> writes;
    for (auto* p : group) writes.push_back(p->write);
    std::uint64_t allocation_rev;
    {
      std::lock_guard lk(rev_mu_);
      allocation_rev = allocation_revision_;
    }
    auto plan = detail::plan_commits(
        writes, [this](keyspace space, const std::string& key) { return get(key, space); },
        revision(), allocation_rev);
    for (std::size_t i = 0; i < group.size(); ++i)
      if (plan.outcomes[i] && !plan.outcomes[i]->ok()) group[i]->outcome = *plan.outcomes[i];
    if (!plan.mutations.empty()) store(plan, group);
    for (auto* p : group) p->done = true;
  }

  void store(detail::commit_plan& plan, std::deque<pending*>& group) {
    rocksdb::WriteBatch batch;
    std::size_t event = 0;
    for (const auto& m : plan.mutations) {
      if (m.value)
        batch.Put(family(m.space), m.key, encode_u64(m.revision) + *m.value);
      else
        batch.Delete(family(m.space), m.key);
      if (m.space == keyspace::objects) {
        const auto& e = plan.events[event++];
        batch.Put(events(), encode_u64(e.revision), encode_event(e.kind, e.key, e.value));
      }
    }
    std::vector<std::string_view> deleted;
    for (const auto& m : plan.mutations)
      if (!m.value && m.space == keyspace::objects) deleted.push_back(m.key);
    batch.Put(meta(), meta_revision, encode_u64(plan.revision));
    batch.Put(meta(), meta_allocation_revision, encode_u64(plan.allocation_revision));
    // Compact the event log in the same batch once it is 10% over retention.
    std::uint64_t compacted = compacted_revision();
    std::uint64_t keep = options_.event_retention;
    if (plan.revision > keep && plan.revision - keep > compacted + keep / 10) {
      compacted = plan.revision - keep;
      batch.DeleteRange(events(), encode_u64(0), encode_u64(compacted + 1));
      batch.Put(meta(), meta_compacted, encode_u64(compacted));
    }
    auto s = db_->Write(write_options_, &batch);
    for (std::size_t i = 0; i < group.size(); ++i)
      if (plan.outcomes[i] && plan.outcomes[i]->ok())
        group[i]->outcome = s.ok() ? *plan.outcomes[i] : result<std::uint64_t>(io_error(s));
    if (!s.ok()) return;
    {
      std::lock_guard lk(rev_mu_);
      revision_ = plan.revision;
      allocation_revision_ = plan.allocation_revision;
      compacted_ = compacted;
      stats_.writes += plan.mutations.size();
      ++stats_.batches;
    }
    rev_cv_.notify_all();
    ask_compaction(deleted, compacted);
    // Still the leader here, so listeners see batches in revision order.
    if (listener_ && !plan.events.empty()) listener_(std::move(plan.events));
  }

  // Deleted objects and trimmed events leave tombstones that RocksDB would
  // only drop when its levels next compact, so a store emptied by deletes
  // kept growing on disk. A background thread compacts what was deleted:
  // after every 1,000 object deletes, the key range they span (so churn of one
  // kind does not rewrite the others); and the event log once another
  // retention's worth of it was trimmed (so dead events stay under one
  // retention, and a busy store does not rewrite its log on every trim).
  void ask_compaction(const std::vector<std::string_view>& deleted, std::uint64_t events_upto) {
    {
      std::lock_guard lk(compact_mu_);
      for (auto key : deleted) {
        if (deleted_low_.empty() || key < deleted_low_) deleted_low_ = key;
        if (key > deleted_high_) deleted_high_ = key;
      }
      deletes_since_compaction_ += deleted.size();
      bool objects = deletes_since_compaction_ >= 1000;
      bool events = events_upto >=
                    compact_events_upto_ + std::max<std::uint64_t>(options_.event_retention, 1);
      if (!objects && !events) return;
      if (objects) {
        // Widened, not replaced, while an earlier range waits its turn.
        auto low = std::exchange(deleted_low_, {}), high = std::exchange(deleted_high_, {});
        if (compact_objects_) {
          low = std::min(low, compact_objects_->first);
          high = std::max(high, compact_objects_->second);
        }
        compact_objects_ = {std::move(low), std::move(high)};
        deletes_since_compaction_ = 0;
      }
      if (events) compact_events_upto_ = events_upto;
    }
    compact_cv_.notify_all();
  }

  // At most one compaction of deleted objects every objects_compaction_gap:
  // each one rewrites the tables of the whole key range it covers, and under
  // a steady stream of deletes (an event retention trimming one event per
  // event recorded, 10,000 workspaces converging) one every 1,000 deletes
  // was 0.6 s of a 4.5 s convergence. Deletes meanwhile widen the range that
  // waits, so the last of them are still compacted.
  static constexpr std::chrono::seconds objects_compaction_gap{5};

  void compact_when_asked() {
    std::unique_lock lk(compact_mu_);
    auto next_objects = std::chrono::steady_clock::now();
    while (true) {
      compact_cv_.wait(lk, [&] {
        return compact_stop_ || compact_objects_ || compact_events_upto_ > events_compacted_upto_;
      });
      if (compact_stop_) return;
      if (compact_events_upto_ <= events_compacted_upto_ &&
          std::chrono::steady_clock::now() < next_objects) {
        compact_cv_.wait_until(lk, next_objects, [&] {
          return compact_stop_ || compact_events_upto_ > events_compacted_upto_;
        });
        continue;
      }
      std::optional<std::pair<std::string, std::string>> objects_range;
      if (std::chrono::steady_clock::now() >= next_objects) {
        objects_range = std::exchange(compact_objects_, std::nullopt);
        if (objects_range)
          next_objects = std::chrono::steady_clock::now() + objects_compaction_gap;
      }
      auto upto = compact_events_upto_;
      lk.unlock();
      rocksdb::CompactRangeOptions o;
      o.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
      if (objects_range) {
        rocksdb::Slice low(objects_range->first), high(objects_range->second);
        (void)db_->CompactRange(o, objects(), &low, &high);
      }
      if (upto > events_compacted_upto_) {
        auto end = encode_u64(upto + 1);
        rocksdb::Slice end_key(end);
        (void)db_->CompactRange(o, events(), nullptr, &end_key);
      }
      lk.lock();
      events_compacted_upto_ = std::max(events_compacted_upto_, upto);
    }
  }

  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> cfs_;
  rocksdb_options options_;
  rocksdb::WriteOptions write_options_;
  std::function<void(std::vector<kv_event>)> listener_;

  std::mutex mu_;  // guards queue_ and leader_active_
  std::condition_variable cv_;
  std::deque<pending*> queue_;
  bool leader_active_ = false;

  mutable std::mutex rev_mu_;  // guards the revisions, compacted_, stats_, woken_
  std::condition_variable rev_cv_;
  std::uint64_t revision_ = 0;
  std::uint64_t compacted_ = 0;
  std::uint64_t allocation_revision_ = 0;
  kv_stats stats_;
  bool woken_ = false;

  std::mutex compact_mu_;  // guards the compaction requests below
  std::condition_variable compact_cv_;
  std::size_t deletes_since_compaction_ = 0;
  std::string deleted_low_, deleted_high_;  // the keys deleted since the last request
  std::optional<std::pair<std::string, std::string>> compact_objects_;  // a key range
  std::uint64_t compact_events_upto_ = 0;
  std::uint64_t events_compacted_upto_ = 0;
  bool compact_stop_ = false;
  std::thread compactor_;  // last: starts after, and stops before, the rest
};

}  // namespace

result<std::unique_ptr<kv_backend>> open_rocksdb(const std::string& dir, rocksdb_options options) {
  auto opened = detail::open_database(dir);
  if (!opened.ok()) return opened.err();
  auto state = detail::prepare_store(*opened, dir, options.log);
  if (!state.ok()) return state.err();
  auto db = std::move(opened->db);
  return std::unique_ptr<kv_backend>(new rocksdb_backend(std::move(db), opened->release(), options,
                                                         state->revision, state->compacted,
                                                         state->allocation_revision));
}

}  // namespace rockpool::specs
