#pragma once

// The compare-and-swap logic every backend shares, internal to the store: a
// group of writes checked in order against the current values (later writes
// of a group see earlier ones), giving each its outcome, the mutations to
// store and the events to log.

#include "rockpool/specs/kv_backend.hpp"

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace rockpool::specs::detail {

/// One accepted write, ready to store.
struct mutation {
  keyspace space;
  std::string key;
  std::uint64_t revision;            // the key's new mod_revision
  std::optional<std::string> value;  // nullopt: delete
};

struct commit_plan {
  std::vector<std::optional<result<std::uint64_t>>> outcomes;  // per write, in order
  std::vector<mutation> mutations;
  std::vector<kv_event> events;  // object writes only, in revision order
  std::uint64_t revision = 0;    // store revision after the plan
  std::uint64_t allocation_revision = 0;
};

/// Reads a key's current record, or an error.
using current_lookup =
    std::function<result<std::optional<kv_record>>(keyspace, const std::string& key)>;

/// Checks each write's precondition against `current` (and the writes before
/// it in the group) and numbers the accepted ones from the given revisions.
commit_plan plan_commits(const std::vector<const kv_write*>& writes, const current_lookup& current,
                         std::uint64_t revision, std::uint64_t allocation_revision);

}  // namespace rockpool::specs::detail
