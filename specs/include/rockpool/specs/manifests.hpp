#pragma once

// The one way manifests are read and checked before they are applied or
// diffed: rpctl apply, rpctl diff and (next) GitOps share it.

#include "rockpool/specs/codec.hpp"
#include "rockpool/specs/validation.hpp"

#include <istream>
#include <string>
#include <vector>

namespace rockpool::specs {

/// Documents read from files, directories or standard input, and every
/// problem found reading, decoding or validating them.
struct manifest_set {
  std::vector<document> documents;
  std::vector<diagnostic> problems;
};

/// Reads each path: a file, a directory (its *.yaml, *.yml and *.json files,
/// in name order; recursively when recursive) or "-" (in). An unreadable
/// path or a file over max_input_bytes is a problem.
manifest_set load_manifests(const std::vector<std::string>& paths, bool recursive,
                            std::istream& in);

/// Defaults and validates set's documents as one input (cross-document rules
/// included), adding to its problems, then puts them in apply order (each
/// CRD's rockpool.dev/apply-order; stable within a kind).
void validate_and_order(manifest_set& set, const validation_context& ctx);

/// load_manifests, then defaults and validation of the documents as one input
/// (cross-document rules included), then the documents in apply order (each
/// CRD's rockpool.dev/apply-order; stable within a kind). Nothing may be
/// applied unless problems is empty.
manifest_set load_and_validate(const std::vector<std::string>& paths, bool recursive,
                               std::istream& in, const validation_context& ctx);

}  // namespace rockpool::specs
