#pragma once

// Where a GitSync reads its manifests: a directory on this host, or a Git
// repository fetched with libgit2 into the daemon's data directory. Both give
// the same snapshot: the manifest files (relative paths, contents) and the
// revision they are (docs/user-guide.md#gitops).

#include "rockpool/specs/result.hpp"

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

namespace rockpool::runtime {

struct source_file {
  std::string path;  // relative to the source's root, '/'-separated
  std::string content;
};

struct source_snapshot {
  /// A Git commit's 40-hex id, or "sha1:HEX" over a directory's files.
  std::string revision;
  std::vector<source_file> files;  // sorted by path
};

/// Limits on what one snapshot may hold: a source over them is unavailable.
struct source_limits {
  std::size_t max_files = 20000;
  std::size_t max_file_bytes = 8u << 20;
  std::size_t max_total_bytes = 256u << 20;
};

/// Which files of a source are manifests: *.yaml, *.yml and *.json, not
/// hidden (no path component starts with '.'), not matched by the root's
/// .rockpoolignore (one glob per line, '#' comments; a pattern without '/'
/// matches any component's name; a trailing '/' matches a directory).
class manifest_filter {
 public:
  explicit manifest_filter(const std::string& rockpoolignore = {});
  bool wanted_file(const std::string& relative_path) const;
  bool wanted_directory(const std::string& relative_path) const;

 private:
  bool ignored(const std::string& relative_path, bool is_directory) const;
  std::vector<std::string> patterns_;
};

/// Reads a directory's manifests recursively; its revision hashes their paths
/// and contents. Missing, unreadable or over the limits: unavailable.
specs::result<source_snapshot> read_directory(const std::string& dir,
                                              const source_limits& limits = {});

/// A Git repository fetched into a local bare clone.
/// Thread safety: calls for different clone directories may run
/// concurrently; calls for one clone directory are serialized.
struct git_source {
  std::string url;        // a local path, file://, git:// or http(s)://
  std::string ref;        // a branch, a tag or a commit id
  std::string path;       // inside the repository; "" is its root
  std::string clone_dir;  // the local bare clone, created when missing
};

/// Fetches every branch and tag of src.url into the clone and resolves
/// src.ref (a branch first, then a tag, then a commit id) to a commit id.
/// A fetch that takes longer than timeout is cancelled (while it transfers).
specs::result<std::string> git_fetch(const git_source& src, std::chrono::seconds timeout);

/// The manifests under src.path at commit, read from the local clone (no
/// network). A commit the clone lacks or a path that is not a directory:
/// unavailable.
specs::result<source_snapshot> git_read(const git_source& src, const std::string& commit,
                                        const source_limits& limits = {});

}  // namespace rockpool::runtime
