#pragma once
// The backup file: a store's dump (kv_backend::dump) with a format version
// and a checksum. `rpctl backup` writes one from the API; `rockpoold restore`
// checks it whole before writing anything.

#include "rockpool/specs/kv_backend.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace rockpool::specs {

/// The version of the backup file layout this build writes and reads.
inline constexpr std::uint32_t backup_format = 1;

/// The file for a dump. Layout (integers big-endian):
///   "RPBACKUP" | format:4 | revision:8 | allocation revision:8
///   | object count:8 | allocation count:8
///   | each record (objects, then allocations): key length:4 | key
///     | value length:4 | value | mod revision:8
///   | SHA-256 of everything before:32
[[nodiscard]] std::string encode_backup(const kv_dump& dump);

/// Checks and reads a backup file. Refuses with reason::invalid and a message
/// that says what is wrong: not a backup, another format version, truncated,
/// damaged (the checksum differs), or records that do not add up.
[[nodiscard]] result<kv_dump> decode_backup(std::string_view file);

/// Checks a dump's own consistency (keys in order and unique, no revision
/// past the dump's): what a restored store needs. Empty when it holds.
[[nodiscard]] std::string dump_problem(const kv_dump& dump);

}  // namespace rockpool::specs
