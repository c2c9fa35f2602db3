// rockpoold's own certificates for --listen: made once, kept, and replaced
// at start when the server certificate is expiring, unreadable, or not the
// CA's.
#include "rockpool/controller/tls.hpp"
#include "test_support.hpp"

#include <gtest/gtest.h>

#include <filesystem>

using namespace rockpool;
using test_support::read_file;
using test_support::temp_dir;

TEST(tls_files, are_made_once_and_kept) {
  temp_dir tmp;
  auto first = controller::ensure_tls_files(tmp / "tls");
  ASSERT_TRUE(first.ok()) << first.err().message;
  EXPECT_EQ(first->made_because, "a new CA was made");
  auto ca = read_file(first->ca_cert), cert = read_file(first->server_cert);
  auto again = controller::ensure_tls_files(tmp / "tls");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->made_because, "");
  EXPECT_EQ(read_file(again->ca_cert), ca);
  EXPECT_EQ(read_file(again->server_cert), cert);
}

TEST(tls_files, a_server_certificate_near_its_end_is_renewed_under_the_same_ca) {
  temp_dir tmp;
  // A server certificate of 10 days: inside the default 30-day renewal window.
  auto made = controller::ensure_tls_files(tmp / "tls", {10, 0});
  ASSERT_TRUE(made.ok()) << made.err().message;
  auto ca = read_file(made->ca_cert), short_lived = read_file(made->server_cert);
  auto renewed = controller::ensure_tls_files(tmp / "tls");
  ASSERT_TRUE(renewed.ok());
  EXPECT_EQ(renewed->made_because, "the one there expires within 30 days");
  EXPECT_NE(read_file(renewed->server_cert), short_lived);
  EXPECT_EQ(read_file(renewed->ca_cert), ca);  // clients keep trusting it
  EXPECT_EQ(controller::ensure_tls_files(tmp / "tls")->made_because, "");
}

TEST(tls_files, a_server_certificate_the_ca_did_not_sign_or_without_its_key_is_replaced) {
  temp_dir tmp;
  ASSERT_TRUE(controller::ensure_tls_files(tmp / "tls").ok());
  ASSERT_TRUE(controller::ensure_tls_files(tmp / "other").ok());
  namespace fs = std::filesystem;
  auto copy = [&](const char* file) {
    fs::copy_file(fs::path(tmp / "other") / file, fs::path(tmp / "tls") / file,
                  fs::copy_options::overwrite_existing);
  };
  copy("server.crt");
  copy("server.key");
  auto replaced = controller::ensure_tls_files(tmp / "tls");
  ASSERT_TRUE(replaced.ok());
  EXPECT_EQ(replaced->made_because, "the one there is not signed by the CA");
  auto cert = read_file(replaced->server_cert);
  copy("server.key");  // a key that is not the certificate's
  replaced = controller::ensure_tls_files(tmp / "tls");
  ASSERT_TRUE(replaced.ok());
  EXPECT_EQ(replaced->made_because, "its key does not match it");
  EXPECT_NE(read_file(replaced->server_cert), cert);
  fs::remove(fs::path(tmp / "tls") / "server.crt");
  EXPECT_EQ(controller::ensure_tls_files(tmp / "tls")->made_because, "none was readable");
}
