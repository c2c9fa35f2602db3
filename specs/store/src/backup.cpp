// The backup file: see backup.hpp for the layout.
#include "rockpool/specs/backup.hpp"

#include "big_endian.hpp"

#include <openssl/evp.h>

#include <array>

namespace rockpool::specs {
namespace {

constexpr std::string_view magic = "RPBACKUP";
constexpr std::size_t digest_size = 32;
constexpr std::size_t header_size = 8 + 4 + 8 * 4;
// Per record: both lengths and the revision.
constexpr std::size_t record_overhead = 4 + 4 + 8;

std::array<unsigned char, digest_size> sha256(std::string_view data) {
  std::array<unsigned char, digest_size> out{};
  unsigned int n = 0;
  EVP_Digest(data.data(), data.size(), out.data(), &n, EVP_sha256(), nullptr);
  return out;
}

error refused(const std::string& why) {
  return make_error(reason::invalid, "not a usable backup: " + why + "; nothing was changed");
}

// Reads fields in order; every read checks the bytes left.
class reader {
 public:
  explicit reader(std::string_view data) : data_(data) {}
  template <typename T>
  bool number(T& out) {
    if (data_.size() < sizeof(T)) return false;
    out = detail::read_big_endian<T>(data_);
    data_.remove_prefix(sizeof(T));
    return true;
  }
  bool bytes(std::string& out) {
    std::uint32_t n = 0;
    if (!number(n) || data_.size() < n) return false;
    out.assign(data_.substr(0, n));
    data_.remove_prefix(n);
    return true;
  }
  std::size_t left() const { return data_.size(); }

 private:
  std::string_view data_;
};

}  // namespace

std::string encode_backup(const kv_dump& dump) {
  std::size_t size = header_size + digest_size;
  for (const auto* records : {&dump.objects, &dump.allocations})
    for (const auto& r : *records) size += record_overhead + r.key.size() + r.value.size();
  std::string out;
  out.reserve(size);
  out.append(magic);
  detail::append_big_endian(out, backup_format);
  detail::append_big_endian(out, dump.revision);
  detail::append_big_endian(out, dump.allocation_revision);
  detail::append_big_endian(out, static_cast<std::uint64_t>(dump.objects.size()));
  detail::append_big_endian(out, static_cast<std::uint64_t>(dump.allocations.size()));
  for (const auto* records : {&dump.objects, &dump.allocations})
    for (const auto& r : *records) {
      detail::append_big_endian(out, static_cast<std::uint32_t>(r.key.size()));
      out.append(r.key);
      detail::append_big_endian(out, static_cast<std::uint32_t>(r.value.size()));
      out.append(r.value);
      detail::append_big_endian(out, r.mod_revision);
    }
  auto digest = sha256(out);
  out.append(reinterpret_cast<const char*>(digest.data()), digest.size());
  return out;
}

result<kv_dump> decode_backup(std::string_view file) {
  if (file.substr(0, magic.size()) != magic)
    return refused("it does not start with " + std::string(magic));
  if (file.size() < header_size + digest_size)
    return refused("it is truncated (" + std::to_string(file.size()) + " bytes)");
  auto body = file.substr(0, file.size() - digest_size);
  auto digest = sha256(body);
  auto format = detail::read_big_endian<std::uint32_t>(file.substr(magic.size()));
  if (format != backup_format)
    return refused("backup format " + std::to_string(format) + "; this rockpoold reads format " +
                   std::to_string(backup_format));
  if (file.substr(body.size()) !=
      std::string_view(reinterpret_cast<const char*>(digest.data()), digest.size()))
    return refused("its SHA-256 checksum does not match: the file is damaged or truncated");
  reader in(body.substr(magic.size() + 4));
  kv_dump out;
  std::uint64_t objects = 0, allocations = 0;
  in.number(out.revision);
  in.number(out.allocation_revision);
  in.number(objects);
  in.number(allocations);
  // Counts are checked against the bytes left before anything is reserved.
  if (objects > in.left() / record_overhead ||
      allocations > in.left() / record_overhead - objects)
    return refused("its record counts exceed its size");
  for (auto [records, count] : {std::pair{&out.objects, objects},
                                std::pair{&out.allocations, allocations}}) {
    records->reserve(count);
    for (std::uint64_t i = 0; i < count; ++i) {
      kv_record r;
      if (!in.bytes(r.key) || !in.bytes(r.value) || !in.number(r.mod_revision))
        return refused("record " + std::to_string(records->size() + 1) + " is cut short");
      records->push_back(std::move(r));
    }
  }
  if (in.left() != 0) return refused(std::to_string(in.left()) + " bytes follow the last record");
  if (auto problem = dump_problem(out); !problem.empty()) return refused(problem);
  return out;
}

std::string dump_problem(const kv_dump& dump) {
  for (auto [records, what, newest] :
       {std::tuple{&dump.objects, "object", dump.revision},
        std::tuple{&dump.allocations, "allocation", dump.allocation_revision}})
    for (std::size_t i = 0; i < records->size(); ++i) {
      const auto& r = (*records)[i];
      if (r.key.empty()) return std::string(what) + " " + std::to_string(i + 1) + " has no key";
      if (i > 0 && (*records)[i - 1].key >= r.key)
        return std::string(what) + " " + r.key + " is out of order or repeated";
      if (r.mod_revision == 0 || r.mod_revision > newest)
        return std::string(what) + " " + r.key + " has revision " +
               std::to_string(r.mod_revision) + ", outside 1.." + std::to_string(newest);
    }
  return {};
}

}  // namespace rockpool::specs
