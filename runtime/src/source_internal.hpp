#pragma once

// What the directory and Git sources share.

#include "rockpool/runtime/source.hpp"

namespace rockpool::runtime {

/// Collects a snapshot's files within its limits.
class snapshot_builder {
 public:
  explicit snapshot_builder(const source_limits& limits);
  /// Adds a file; over a limit: unavailable, naming it.
  [[nodiscard]] specs::status add(std::string path, std::string content);
  /// The files, sorted by path, and the revision.
  source_snapshot finish(std::string revision) &&;

 private:
  source_limits limits_;
  std::size_t total_ = 0;
  source_snapshot snap_;
};

/// The hex SHA-1 of the files' paths and contents, in order (a directory's revision).
std::string content_digest(const std::vector<source_file>& files);

}  // namespace rockpool::runtime
