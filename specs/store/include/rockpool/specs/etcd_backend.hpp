#pragma once

#include "rockpool/specs/kv_backend.hpp"

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace rockpool::specs {

/// Where the etcd backend keeps its keys and how it reaches etcd.
struct etcd_options {
  /// Client URLs, e.g. {"http://127.0.0.1:2379"}: tried in order, the next
  /// one when a member does not answer.
  std::vector<std::string> endpoints;
  /// Every key is under this prefix: PREFIX objects/KEY and PREFIX alloc/KEY.
  std::string prefix = "/rockpool/";
  /// TLS to etcd (PEM files): the CA that signed its certificate, and a
  /// client certificate when etcd asks for one.
  std::string ca_file, cert_file, key_file;
  /// Events kept in memory for watch resumption, counted back from the
  /// newest (etcd keeps its own history until it is compacted).
  std::uint64_t event_retention = 10000;
  std::chrono::milliseconds request_timeout{5000};
};

/// Parses --store etcd://HOST:PORT[,HOST:PORT...] (https:// members when
/// tls) into endpoints. Returns reason::bad_request naming the flag.
result<std::vector<std::string>> parse_etcd_endpoints(const std::string& store, bool tls);

/// A kv_backend on etcd v3 through its JSON gateway (/v3/kv/range, /v3/kv/txn,
/// /v3/watch), as the Kubernetes apiserver uses etcd:
///   - revisions are etcd's revisions (an allocation write moves etcd's
///     revision too, so object revisions have gaps; they stay increasing);
///   - commit is one txn comparing the key's mod_revision (0: absent) and
///     returns once etcd has committed it (etcd syncs its log first) and the
///     watch has delivered it, so a reader of events_after sees it;
///   - events come from one watch on the objects' prefix, from the revision
///     the backend opened at (older ones are gone, as after a restore), kept
///     in memory up to event_retention; a compaction in etcd past the watch
///     ends history there (reason::gone);
///   - a page reads at the first page's revision through etcd's own history
///     (reason::gone once etcd compacted it): nothing is pinned here.
/// Opening fails, with the endpoints in the message, when etcd does not answer.
result<std::unique_ptr<kv_backend>> open_etcd(etcd_options options);

/// One rockpoold reconciles an etcd prefix at a time (issue 27, item 2):
/// the holder of the key PREFIX leader, attached to an etcd lease that it
/// renews every third of its TTL. While held, every commit of the backend is
/// fenced: it also compares the leader key's create_revision, so a process
/// whose lease expired (killed, paused, cut off) writes nothing after it.
/// Destroying it revokes the lease, which hands over at once.
class etcd_leadership {
 public:
  virtual ~etcd_leadership() = default;
  /// False once the lease is lost (on_lost has been called).
  virtual bool held() const = 0;
};

struct leadership_options {
  std::string identity;  // shown to the others while they wait, e.g. host:pid
  std::chrono::seconds ttl{5};
  /// Called with the holder's identity whenever a new one is seen while waiting.
  std::function<void(const std::string& holder)> waiting;
  /// Polled while waiting; true stops the campaign (reason::unavailable).
  std::function<bool()> give_up;
  /// Called once, from the renewing thread, when the lease is lost.
  std::function<void(const std::string& why)> on_lost;
};

/// Waits until this process holds the leadership of backend's prefix, then
/// fences its commits. REQUIRES: backend was opened by open_etcd.
result<std::unique_ptr<etcd_leadership>> lead_etcd(kv_backend& backend, leadership_options o);

}  // namespace rockpool::specs
