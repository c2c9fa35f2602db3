// libFuzzer target: arbitrary bytes as a backup file (`rockpoold restore`
// reads files from anywhere). Each input is decoded twice: as it is (the
// checksum refuses nearly all), and with its checksum made right, so the
// record parser behind it sees every mutation. What decodes must encode
// back to the same bytes.
#include "rockpool/specs/backup.hpp"

#include <openssl/evp.h>

#include <cstddef>
#include <cstdint>
#include <string>

namespace {

void decode_and_check(const std::string& file) {
  auto dump = rockpool::specs::decode_backup(file);
  if (!dump.ok()) {
    (void)dump.err().message.size();
    return;
  }
  if (rockpool::specs::encode_backup(*dump) != file) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string file(reinterpret_cast<const char*>(data), size);
  decode_and_check(file);
  unsigned char digest[32];
  unsigned int n = 0;
  EVP_Digest(file.data(), file.size(), digest, &n, EVP_sha256(), nullptr);
  decode_and_check(file + std::string(reinterpret_cast<const char*>(digest), sizeof digest));
  return 0;
}
