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
};

/// DIR/ca.crt, DIR/server.crt and DIR/server.key: the ones there, or new
/// ones. A missing CA makes a new CA and a new server certificate; a
/// missing server certificate or key (deleted to rotate it) a new one from
/// the existing CA. Keys are EC P-256; the CA lasts 10 years, the server
/// certificate 1 year.
specs::result<tls_files> ensure_tls_files(const std::string& dir);

}  // namespace rockpool::controller
