#include "rockpool/specs/rocksdb_backend.hpp"

#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>

#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>

namespace rockpool::specs {
namespace {

constexpr const char* cf_objects = "objects";
constexpr const char* cf_events = "events";
constexpr const char* cf_meta = "meta";
constexpr const char* meta_revision = "revision";
constexpr const char* meta_compacted = "compacted";

std::string encode_u64(std::uint64_t v) {
  std::string s(8, '\0');
  for (int i = 7; i >= 0; --i) {
    s[static_cast<std::size_t>(i)] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
  return s;
}

std::uint64_t decode_u64(std::string_view s) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < 8 && i < s.size(); ++i)
    v = (v << 8) | static_cast<unsigned char>(s[i]);
  return v;
}

std::uint32_t decode_u32(std::string_view s) {
  std::uint32_t v = 0;
  for (std::size_t i = 0; i < 4 && i < s.size(); ++i)
    v = (v << 8) | static_cast<unsigned char>(s[i]);
  return v;
}

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

error io_error(const rocksdb::Status& s) {
  return make_error(reason::internal, "store I/O error: " + s.ToString());
}

class rocksdb_backend final : public kv_backend {
 public:
  rocksdb_backend(std::unique_ptr<rocksdb::DB> db, std::vector<rocksdb::ColumnFamilyHandle*> cfs,
                  rocksdb_options options, std::uint64_t revision, std::uint64_t compacted)
      : db_(std::move(db)),
        cfs_(std::move(cfs)),
        options_(options),
        revision_(revision),
        compacted_(compacted) {
    write_options_.sync = options_.sync;
  }

  ~rocksdb_backend() override {
    for (auto* cf : cfs_) db_->DestroyColumnFamilyHandle(cf);
    db_->Close();
  }

  result<std::optional<kv_record>> get(std::string_view key) override {
    std::string raw;
    auto s =
        db_->Get(rocksdb::ReadOptions(), objects(), rocksdb::Slice(key.data(), key.size()), &raw);
    if (s.IsNotFound()) return std::optional<kv_record>{};
    if (!s.ok()) return io_error(s);
    return std::optional<kv_record>{kv_record{std::string(key), raw.substr(8), decode_u64(raw)}};
  }

  result<kv_snapshot> list(std::string_view prefix) override {
    const rocksdb::Snapshot* snap = db_->GetSnapshot();
    rocksdb::ReadOptions ro;
    ro.snapshot = snap;
    kv_snapshot out;
    std::string rev;
    auto s = db_->Get(ro, meta(), meta_revision, &rev);
    if (s.ok()) out.revision = decode_u64(rev);
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, objects()));
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

  rocksdb::ColumnFamilyHandle* objects() const { return cfs_[1]; }
  rocksdb::ColumnFamilyHandle* events() const { return cfs_[2]; }
  rocksdb::ColumnFamilyHandle* meta() const { return cfs_[3]; }

  // Runs as the group leader: checks every precondition in order (later
  // writes see earlier ones of the same group), then one synced WriteBatch.
  void write_group(std::deque<pending*>& group) {
    rocksdb::WriteBatch batch;
    std::uint64_t rev = revision();
    std::uint64_t compacted = compacted_revision();
    std::map<std::string, std::pair<std::uint64_t, std::optional<std::string>>> overlay;
    std::vector<pending*> accepted;
    std::vector<kv_event> committed;
    for (auto* p : group) {
      const kv_write& w = *p->write;
      std::uint64_t current_rev = 0;
      std::optional<std::string> current_value;
      if (auto it = overlay.find(w.key); it != overlay.end()) {
        current_rev = it->second.first;
        current_value = it->second.second;
      } else {
        auto cur = get(w.key);
        if (!cur.ok()) {
          p->outcome = cur.err();
          continue;
        }
        if (*cur) {
          current_rev = (*cur)->mod_revision;
          current_value = std::move((*cur)->value);
        }
      }
      if (current_rev != w.expected_revision) {
        p->outcome = make_error(reason::conflict, "the object has been modified (revision " +
                                                      std::to_string(current_rev) + ", expected " +
                                                      std::to_string(w.expected_revision) + ")");
        continue;
      }
      if (!w.value && current_rev == 0) {
        p->outcome = make_error(reason::not_found, w.key + " does not exist");
        continue;
      }
      ++rev;
      auto type = !w.value ? kv_event::type::deleted
                           : (current_rev == 0 ? kv_event::type::added : kv_event::type::modified);
      if (w.value) {
        batch.Put(objects(), w.key, encode_u64(rev) + *w.value);
        batch.Put(events(), encode_u64(rev), encode_event(type, w.key, *w.value));
        overlay[w.key] = {rev, w.value};
      } else {
        batch.Delete(objects(), w.key);
        batch.Put(events(), encode_u64(rev), encode_event(type, w.key, *current_value));
        overlay[w.key] = {0, std::nullopt};
      }
      if (listener_)
        committed.push_back(kv_event{rev, type, w.key, w.value ? *w.value : *current_value});
      p->outcome = rev;
      accepted.push_back(p);
    }
    if (!accepted.empty()) {
      batch.Put(meta(), meta_revision, encode_u64(rev));
      // Compact the event log in the same batch once it is 10% over retention.
      std::uint64_t keep = options_.event_retention;
      if (rev > keep && rev - keep > compacted + keep / 10) {
        std::uint64_t new_compacted = rev - keep;
        batch.DeleteRange(events(), encode_u64(0), encode_u64(new_compacted + 1));
        batch.Put(meta(), meta_compacted, encode_u64(new_compacted));
        compacted = new_compacted;
      }
      auto s = db_->Write(write_options_, &batch);
      if (!s.ok()) {
        for (auto* p : accepted) p->outcome = io_error(s);
      } else {
        {
          std::lock_guard lk(rev_mu_);
          revision_ = rev;
          compacted_ = compacted;
          stats_.writes += accepted.size();
          ++stats_.batches;
        }
        rev_cv_.notify_all();
        // Still the leader here, so listeners see batches in revision order.
        if (listener_) listener_(std::move(committed));
      }
    }
    for (auto* p : group) p->done = true;
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

  mutable std::mutex rev_mu_;  // guards revision_, compacted_, stats_, woken_
  std::condition_variable rev_cv_;
  std::uint64_t revision_ = 0;
  std::uint64_t compacted_ = 0;
  kv_stats stats_;
  bool woken_ = false;
};

}  // namespace

result<std::unique_ptr<kv_backend>> open_rocksdb(const std::string& dir, rocksdb_options options) {
  rocksdb::DBOptions db_options;
  db_options.create_if_missing = true;
  db_options.create_missing_column_families = true;
  db_options.max_background_jobs = 2;
  db_options.keep_log_file_num = 3;
  // Small memtables: objects are small and the working set fits a few MiB, so
  // memory stays proportional to what is stored, not to write volume.
  rocksdb::ColumnFamilyOptions cf_options;
  cf_options.write_buffer_size = 4 << 20;
  cf_options.max_write_buffer_number = 2;
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors = {
      {rocksdb::kDefaultColumnFamilyName, cf_options},
      {cf_objects, cf_options},
      {cf_events, cf_options},
      {cf_meta, cf_options}};
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  auto s = rocksdb::DB::Open(db_options, dir, descriptors, &handles, &raw);
  if (!s.ok()) {
    auto text = s.ToString();
    if (text.find("lock") != std::string::npos ||
        text.find("Resource temporarily") != std::string::npos)
      return make_error(
          reason::unavailable,
          "data directory " + dir + " is in use by another rockpoold (RocksDB lock held): " + text);
    return make_error(reason::internal, "cannot open store in " + dir + ": " + text);
  }
  std::unique_ptr<rocksdb::DB> db(raw);
  std::string v;
  std::uint64_t revision = 0, compacted = 0;
  if (db->Get(rocksdb::ReadOptions(), handles[3], meta_revision, &v).ok()) revision = decode_u64(v);
  if (db->Get(rocksdb::ReadOptions(), handles[3], meta_compacted, &v).ok())
    compacted = decode_u64(v);
  return std::unique_ptr<kv_backend>(
      new rocksdb_backend(std::move(db), std::move(handles), options, revision, compacted));
}

}  // namespace rockpool::specs
