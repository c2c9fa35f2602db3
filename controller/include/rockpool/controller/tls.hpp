#pragma once

// The certificates of rockpoold's HTTPS listener: a private CA and a server
// certificate for localhost, 127.0.0.1 and ::1, made in DATA_DIR/tls on first
// start and reused after (docs/operations.md#tls).

#include "rockpool/specs/result.hpp"

#include <string>

namespace rockpool::controller {

struct tls_files {
  std::string ca_cert;      // PEM; what clients trust (rpctl, kubeconfig, Caddy)
  std::string server_cert;  // PEM, the server certificate
  std::string server_key;   // PEM, its private key (mode 0600)
  /// Why a new server certificate was made ("" when the one there was kept).
  std::string made_because;
};

struct tls_lifetimes {
  long server_days = 365;       // a new server certificate's validity
  long renew_within_days = 30;  // a server certificate closer to its end is replaced
};

/// DIR/ca.crt, DIR/server.crt and DIR/server.key: the ones there, or new
/// ones. A missing CA makes a new CA and a new server certificate; a
/// missing, unreadable or expiring server certificate (or one the CA did not
/// sign) a new one from the existing CA, so clients need nothing new. Keys
/// are EC P-256; the CA lasts 10 years, the server certificate 1 year.
specs::result<tls_files> ensure_tls_files(const std::string& dir, tls_lifetimes lifetimes = {});

}  // namespace rockpool::controller
