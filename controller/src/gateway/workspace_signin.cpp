#include "rockpool/controller/workspace_signin.hpp"

#include "rockpool/specs/base64.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

namespace rockpool::controller {

using specs::make_error;
using specs::reason;

namespace {

std::string hex(const unsigned char* p, std::size_t n) {
  return specs::hex_encode(std::string_view(reinterpret_cast<const char*>(p), n));
}

specs::result<std::string> random_hex(std::size_t bytes) {
  std::string raw(bytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(bytes)) != 1)
    return make_error(reason::internal, "no randomness (RAND_bytes failed)");
  return hex(reinterpret_cast<const unsigned char*>(raw.data()), bytes);
}

bool all_hex(std::string_view s) {
  return s.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

}  // namespace

specs::result<std::unique_ptr<workspace_signin>> workspace_signin::open(
    const std::string& key_file, std::chrono::seconds session_ttl, const specs::clock& clock,
    bool make) {
  std::string key;
  if (std::ifstream in(key_file); in) {
    std::getline(in, key);
    if (key.size() != 64 || !all_hex(key))
      return make_error(reason::bad_request, "the sign-in key " + key_file +
                                                 " is malformed (64 hex digits expected); "
                                                 "delete it to make a new one");
  } else if (!make) {
    return make_error(reason::not_found, "no sign-in key at " + key_file + " yet");
  } else {
    auto made = random_hex(32);
    if (!made.ok()) return made.err();
    key = *made;
    auto tmp = key_file + ".tmp";
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) return make_error(reason::unavailable, "cannot write the sign-in key " + tmp);
    auto line = key + "\n";
    bool ok = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size()) &&
              ::fsync(fd) == 0;
    ::close(fd);
    if (!ok || ::rename(tmp.c_str(), key_file.c_str()) != 0)
      return make_error(reason::unavailable, "cannot write the sign-in key " + key_file);
  }
  return std::unique_ptr<workspace_signin>(new workspace_signin(key, session_ttl, clock));
}

workspace_signin::workspace_signin(std::string key, std::chrono::seconds ttl,
                                   const specs::clock& clock)
    : key_(std::move(key)), session_ttl_(ttl), clock_(clock) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  auto named = key_ + "/cookie-name";
  SHA256(reinterpret_cast<const unsigned char*>(named.data()), named.size(), digest);
  cookie_name_ = "rockpool_" + hex(digest, 6);
}

std::string workspace_signin::sign(std::string_view payload) const {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key_.data(), static_cast<int>(key_.size()),
       reinterpret_cast<const unsigned char*>(payload.data()), payload.size(), mac, &len);
  return hex(mac, len);
}

specs::result<std::string> workspace_signin::issue_code() {
  auto code = random_hex(code_length / 2);
  if (!code.ok()) return code.err();
  auto now = clock_.now();
  std::lock_guard lk(mu_);
  std::erase_if(codes_, [&](const auto& c) { return c.second <= now; });
  if (codes_.size() >= max_outstanding_codes)
    return make_error(reason::unavailable,
                      "too many unused sign-in codes; try again within a minute");
  codes_[*code] = now + code_ttl;
  return code;
}

bool workspace_signin::redeem(const std::string& code) {
  if (code.size() != code_length || !all_hex(code)) return false;
  std::lock_guard lk(mu_);
  auto it = codes_.find(code);
  if (it == codes_.end()) return false;
  bool fresh = it->second > clock_.now();
  codes_.erase(it);  // single use, even when it came too late
  return fresh;
}

std::string workspace_signin::new_session() const {
  auto expiry = std::chrono::duration_cast<std::chrono::seconds>(
                    (clock_.now() + session_ttl_).time_since_epoch())
                    .count();
  auto nonce = random_hex(8);
  auto payload = std::to_string(expiry) + "." + (nonce.ok() ? *nonce : std::string("0"));
  return payload + "." + sign(payload);
}

bool workspace_signin::valid_session(std::string_view value) const {
  if (value.size() > 128) return false;
  auto dot = value.rfind('.');
  if (dot == std::string_view::npos) return false;
  auto payload = value.substr(0, dot);
  auto mac = value.substr(dot + 1);
  auto want = sign(payload);
  if (mac.size() != want.size() || CRYPTO_memcmp(mac.data(), want.data(), want.size()) != 0)
    return false;
  auto first = payload.find('.');
  auto expiry_text = payload.substr(0, first);
  if (expiry_text.empty() || expiry_text.size() > 12 ||
      expiry_text.find_first_not_of("0123456789") != std::string_view::npos)
    return false;
  auto expiry = std::chrono::system_clock::time_point(
      std::chrono::seconds(std::stoll(std::string(expiry_text))));
  return clock_.now() < expiry;
}

bool workspace_signin::signed_in(std::string_view header) const {
  // Cookie: a=1; b=2 (RFC 6265, 5.4). Any of ours that is valid will do.
  while (!header.empty()) {
    auto semi = header.find(';');
    auto pair = header.substr(0, semi);
    header = semi == std::string_view::npos ? std::string_view() : header.substr(semi + 1);
    while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
    auto eq = pair.find('=');
    if (eq != std::string_view::npos && pair.substr(0, eq) == cookie_name_ &&
        valid_session(pair.substr(eq + 1)))
      return true;
  }
  return false;
}

}  // namespace rockpool::controller
