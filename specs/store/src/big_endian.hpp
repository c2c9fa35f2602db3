#pragma once
// Big-endian integers in byte strings: the store's keys sort by them, and the
// backup file is portable with them.

#include <cstdint>
#include <string>
#include <string_view>

namespace rockpool::specs::detail {

template <typename T>
void append_big_endian(std::string& out, T v) {
  for (int shift = 8 * (static_cast<int>(sizeof(T)) - 1); shift >= 0; shift -= 8)
    out.push_back(static_cast<char>((v >> shift) & 0xff));
}

/// Reads sizeof(T) bytes (fewer if s is shorter).
template <typename T>
T read_big_endian(std::string_view s) {
  T v = 0;
  for (std::size_t i = 0; i < sizeof(T) && i < s.size(); ++i)
    v = static_cast<T>((v << 8) | static_cast<unsigned char>(s[i]));
  return v;
}

inline std::string encode_u64(std::uint64_t v) {
  std::string s;
  append_big_endian(s, v);
  return s;
}
inline std::uint64_t decode_u64(std::string_view s) { return read_big_endian<std::uint64_t>(s); }
inline std::uint32_t decode_u32(std::string_view s) { return read_big_endian<std::uint32_t>(s); }

}  // namespace rockpool::specs::detail
