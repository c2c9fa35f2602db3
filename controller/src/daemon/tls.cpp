// A private CA and a server certificate, with OpenSSL 3.
#include "rockpool/controller/tls.hpp"

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <sys/stat.h>

#include <cstdio>
#include <ctime>
#include <filesystem>
#include <memory>

namespace rockpool::controller {

namespace fs = std::filesystem;
using specs::make_error;
using specs::reason;

namespace {

using key_ptr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;
using cert_ptr = std::unique_ptr<X509, decltype(&X509_free)>;

constexpr long ca_days = 3650;

specs::error failure(const std::string& what) {
  return make_error(reason::internal, "TLS: " + what);
}

key_ptr new_key() {
  return key_ptr(EVP_EC_gen("P-256"), EVP_PKEY_free);
}

bool add_extension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  if (ext == nullptr) return false;
  bool ok = X509_add_ext(cert, ext, -1) == 1;
  X509_EXTENSION_free(ext);
  return ok;
}

// A certificate for key's public half, signed by signer (issuer: null for a self-signed CA).
cert_ptr make_cert(EVP_PKEY* key, const char* common_name, long days, X509* issuer,
                   EVP_PKEY* signer, bool ca) {
  cert_ptr cert(X509_new(), X509_free);
  if (!cert) return cert;
  X509_set_version(cert.get(), 2);
  std::unique_ptr<BIGNUM, decltype(&BN_free)> serial(BN_new(), BN_free);
  BN_rand(serial.get(), 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY);
  BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert.get()));
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), days * 86400L);
  X509_set_pubkey(cert.get(), key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("Rockpool"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(common_name), -1, -1, 0);
  X509* by = issuer ? issuer : cert.get();
  X509_set_issuer_name(cert.get(), X509_get_subject_name(by));
  bool ok = add_extension(cert.get(), by, NID_subject_key_identifier, "hash") &&
            add_extension(cert.get(), by, NID_authority_key_identifier, "keyid:always");
  if (ca)
    ok = ok && add_extension(cert.get(), by, NID_basic_constraints, "critical,CA:TRUE,pathlen:0") &&
         add_extension(cert.get(), by, NID_key_usage, "critical,keyCertSign,cRLSign");
  else
    ok = ok && add_extension(cert.get(), by, NID_basic_constraints, "critical,CA:FALSE") &&
         add_extension(cert.get(), by, NID_key_usage, "critical,digitalSignature") &&
         add_extension(cert.get(), by, NID_ext_key_usage, "serverAuth") &&
         add_extension(cert.get(), by, NID_subject_alt_name,
                       "DNS:localhost,IP:127.0.0.1,IP:0:0:0:0:0:0:0:1");
  if (!ok || X509_sign(cert.get(), signer, EVP_sha256()) == 0) cert.reset();
  return cert;
}

// Writes with write_fn to path (mode): a temporary file renamed into place.
template <class Fn>
specs::status write_pem(const std::string& path, mode_t mode, Fn write_fn) {
  auto tmp = path + ".tmp";
  auto old_mask = ::umask(0077);
  FILE* f = std::fopen(tmp.c_str(), "w");
  ::umask(old_mask);
  if (f == nullptr) return failure("cannot write " + tmp);
  bool ok = write_fn(f) == 1;
  ok = std::fflush(f) == 0 && ok;
  std::fclose(f);
  ::chmod(tmp.c_str(), mode);
  std::error_code ec;
  if (ok) fs::rename(tmp, path, ec);
  if (!ok || ec) return failure("cannot write " + path);
  return specs::done{};
}

specs::status write_cert(const std::string& path, X509* cert) {
  return write_pem(path, 0644, [cert](FILE* f) { return PEM_write_X509(f, cert); });
}

specs::status write_key(const std::string& path, EVP_PKEY* key) {
  return write_pem(path, 0600, [key](FILE* f) {
    return PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr);
  });
}

// Reads one PEM object from path with read_fn; null when absent or unreadable.
template <class Ptr, class Fn>
Ptr read_pem(const std::string& path, Ptr empty, Fn read_fn) {
  FILE* f = std::fopen(path.c_str(), "r");
  if (f == nullptr) return empty;
  empty.reset(read_fn(f));
  std::fclose(f);
  return empty;
}

key_ptr read_key(const std::string& path) {
  return read_pem(path, key_ptr(nullptr, EVP_PKEY_free),
                  [](FILE* f) { return PEM_read_PrivateKey(f, nullptr, nullptr, nullptr); });
}

cert_ptr read_cert(const std::string& path) {
  return read_pem(path, cert_ptr(nullptr, X509_free),
                  [](FILE* f) { return PEM_read_X509(f, nullptr, nullptr, nullptr); });
}

// Why the server certificate at cert_path (with its key) must be replaced, or "".
std::string replace_reason(const std::string& cert_path, const std::string& key_path, X509* ca,
                           long renew_within_days) {
  auto cert = read_cert(cert_path);
  auto key = read_key(key_path);
  if (!cert || !key) return "none was readable";
  if (X509_check_private_key(cert.get(), key.get()) != 1) return "its key does not match it";
  EVP_PKEY* ca_public = X509_get0_pubkey(ca);
  if (ca_public == nullptr || X509_verify(cert.get(), ca_public) != 1)
    return "the one there is not signed by the CA";
  std::time_t horizon = std::time(nullptr) + renew_within_days * 86400L;
  if (X509_cmp_time(X509_get0_notAfter(cert.get()), &horizon) < 0)
    return "the one there expires within " + std::to_string(renew_within_days) + " days";
  return "";
}

}  // namespace

specs::result<tls_files> ensure_tls_files(const std::string& dir, tls_lifetimes lifetimes) {
  tls_files out{dir + "/ca.crt", dir + "/server.crt", dir + "/server.key", ""};
  auto ca_key_path = dir + "/ca.key";
  std::error_code ec;
  fs::create_directories(dir, ec);
  fs::permissions(dir, fs::perms::owner_all, ec);
  cert_ptr ca = read_cert(out.ca_cert);
  key_ptr ca_key = read_key(ca_key_path);
  bool new_ca = !ca || !ca_key;
  if (new_ca) {
    ca_key = new_key();
    if (!ca_key) return failure("cannot make a key");
    ca = make_cert(ca_key.get(), "Rockpool CA", ca_days, nullptr, ca_key.get(), true);
    if (!ca) return failure("cannot make the CA certificate");
    if (auto st = write_key(ca_key_path, ca_key.get()); !st.ok()) return st.err();
    if (auto st = write_cert(out.ca_cert, ca.get()); !st.ok()) return st.err();
  }
  out.made_because = new_ca ? "a new CA was made"
                            : replace_reason(out.server_cert, out.server_key, ca.get(),
                                             lifetimes.renew_within_days);
  if (out.made_because.empty()) return out;
  auto key = new_key();
  if (!key) return failure("cannot make a key");
  auto cert =
      make_cert(key.get(), "rockpoold", lifetimes.server_days, ca.get(), ca_key.get(), false);
  if (!cert) return failure("cannot make the server certificate");
  if (auto st = write_key(out.server_key, key.get()); !st.ok()) return st.err();
  if (auto st = write_cert(out.server_cert, cert.get()); !st.ok()) return st.err();
  return out;
}

}  // namespace rockpool::controller
