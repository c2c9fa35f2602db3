// Sign-in on the workspace server: single-use codes, signed session cookies,
// and the gateway's pages, on a fake clock.
#include "rockpool/controller/standby_gate.hpp"
#include "rockpool/controller/workspace_signin.hpp"
#include "test_support.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

using namespace rockpool;
using controller::http_request;
using namespace std::chrono_literals;

namespace {

class signin_test : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = controller::workspace_signin::open(dir_.path() / "signin.key", 12h, clock_);
    ASSERT_TRUE(opened.ok()) << opened.err().message;
    signin_ = std::move(*opened);
    gateway_ = std::make_unique<controller::workspace_gateway>(
        signin_.get(), "http://127.0.0.1:8080", [this](const std::string& uri) -> specs::status {
          admitted_.push_back(uri);
          if (uri.find("/slow/") != std::string::npos)
            return specs::make_error(specs::reason::unavailable, "workspace slow is still waking");
          return specs::done{};
        });
  }
  controller::http_response get(const std::string& target,
                                std::map<std::string, std::string> headers = {}) {
    http_request r{"GET", target, "", ""};
    r.headers = std::move(headers);
    return gateway_->handle(r);
  }
  std::string code() {
    auto c = signin_->issue_code();
    EXPECT_TRUE(c.ok());
    return c.ok() ? *c : std::string();
  }
  // The cookie a sign-in sets, as a browser sends it back.
  std::string cookie_of(const controller::http_response& r) {
    auto set = r.headers.at("Set-Cookie");
    return set.substr(0, set.find(';'));
  }

  test_support::temp_dir dir_;
  test_support::fake_clock clock_;
  std::unique_ptr<controller::workspace_signin> signin_;
  std::unique_ptr<controller::workspace_gateway> gateway_;
  std::vector<std::string> admitted_;  // what the admit hook was called with
};

TEST_F(signin_test, a_code_signs_in_once_and_sets_an_http_only_lax_cookie) {
  auto c = code();
  auto r = get("/.rockpool/signin?code=" + c + "&to=/workspace/demo/");
  ASSERT_EQ(r.status, 303) << r.body;
  EXPECT_EQ(r.headers["Location"], "/workspace/demo/");
  auto set = r.headers["Set-Cookie"];
  EXPECT_TRUE(set.starts_with(signin_->cookie_name() + "=")) << set;
  EXPECT_NE(set.find("; HttpOnly"), std::string::npos);
  EXPECT_NE(set.find("; SameSite=Lax"), std::string::npos);
  EXPECT_NE(set.find("; Path=/;"), std::string::npos);
  EXPECT_EQ(set.find("Secure"), std::string::npos);  // plain HTTP
  EXPECT_EQ(get("/.rockpool/auth", {{"cookie", "other=1; " + cookie_of(r)}}).status, 200);
  // Used: a second sign-in with the same code is refused.
  EXPECT_EQ(get("/.rockpool/signin?code=" + c + "&to=/workspace/demo/").status, 401);
}

TEST_F(signin_test, expired_forged_oversized_and_unknown_codes_are_refused) {
  auto c = code();
  clock_.advance(61s);
  EXPECT_EQ(get("/.rockpool/signin?code=" + c + "&to=/workspace/demo/").status, 401);
  EXPECT_EQ(get("/.rockpool/signin?code=" + std::string(64, 'a') + "&to=/workspace/demo/").status,
            401);
  EXPECT_EQ(get("/.rockpool/signin?code=" + std::string(100000, 'a') + "&to=/workspace/d/").status,
            401);
  EXPECT_EQ(get("/.rockpool/signin?to=/workspace/demo/").status, 401);
}

TEST_F(signin_test, a_sign_in_leads_only_to_a_workspace_path) {
  for (const std::string to :
       {"//elsewhere.example/", "https://elsewhere.example/", "/app/", "/workspace/../api/x",
        "/workspace/a\\b", "/workspace/a%0d%0aSet-Cookie:x=1", "http:/workspace/a"}) {
    auto c = code();
    auto r = get("/.rockpool/signin?code=" + c + "&to=" + to);
    EXPECT_EQ(r.status, 400) << to;
    EXPECT_EQ(r.headers.count("Set-Cookie"), 0u) << to;
  }
}

TEST_F(signin_test, sessions_expire_and_a_forged_or_foreign_cookie_is_refused) {
  auto r = get("/.rockpool/signin?code=" + code() + "&to=/workspace/demo/");
  auto cookie = cookie_of(r);
  EXPECT_EQ(get("/.rockpool/auth", {{"cookie", cookie}}).status, 200);
  auto forged = cookie;
  forged.back() = forged.back() == '0' ? '1' : '0';
  EXPECT_EQ(get("/.rockpool/auth", {{"cookie", forged}}).status, 401);
  EXPECT_EQ(get("/.rockpool/auth").status, 401);
  // Another Rockpool (another key) names its cookie apart and cannot sign ours.
  test_support::temp_dir other_dir;
  auto other = controller::workspace_signin::open(other_dir.path() / "k", 12h, clock_);
  ASSERT_TRUE(other.ok());
  EXPECT_NE((*other)->cookie_name(), signin_->cookie_name());
  EXPECT_FALSE((*other)->signed_in(cookie));
  auto theirs = (*other)->new_session();
  EXPECT_EQ(get("/.rockpool/auth", {{"cookie", signin_->cookie_name() + "=" + theirs}}).status,
            401);
  clock_.advance(12h + 1s);
  EXPECT_EQ(get("/.rockpool/auth", {{"cookie", cookie}}).status, 401);
}

TEST_F(signin_test, the_key_survives_a_restart_and_a_malformed_key_is_an_error) {
  auto cookie = signin_->cookie_name() + "=" + signin_->new_session();
  auto again = controller::workspace_signin::open(dir_.path() / "signin.key", 12h, clock_);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE((*again)->signed_in(cookie));
  std::ofstream(dir_.path() / "bad.key") << "not a key\n";
  auto bad = controller::workspace_signin::open(dir_.path() / "bad.key", 12h, clock_);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.err().message.find("bad.key"), std::string::npos);
}

TEST_F(signin_test, behind_an_outer_rockpool_the_cookie_and_redirect_go_under_its_prefix) {
  auto r = get("/.rockpool/signin?code=" + code() + "&to=/workspace/inner/",
               {{"x-forwarded-prefix", "/workspace/nh/port/8081"}, {"x-forwarded-proto", "https"}});
  ASSERT_EQ(r.status, 303);
  EXPECT_EQ(r.headers["Location"], "/workspace/nh/port/8081/workspace/inner/");
  EXPECT_NE(r.headers["Set-Cookie"].find("; Path=/workspace/nh/port/8081/;"), std::string::npos);
  EXPECT_NE(r.headers["Set-Cookie"].find("; Secure"), std::string::npos);
  // A prefix that is not a workspace path is ignored.
  auto odd = get("/.rockpool/signin?code=" + code() + "&to=/workspace/inner/",
                 {{"x-forwarded-prefix", "https://elsewhere"}});
  EXPECT_EQ(odd.headers["Location"], "/workspace/inner/");
}

TEST_F(signin_test, unused_codes_are_bounded) {
  for (std::size_t i = 0; i < controller::workspace_signin::max_outstanding_codes; ++i)
    ASSERT_TRUE(signin_->issue_code().ok());
  EXPECT_FALSE(signin_->issue_code().ok());
  clock_.advance(61s);  // expired codes make room
  EXPECT_TRUE(signin_->issue_code().ok());
}

TEST_F(signin_test, the_401_page_links_to_the_ui_and_sign_out_clears_the_cookie) {
  auto r = get("/.rockpool/auth");
  EXPECT_EQ(r.status, 401);
  EXPECT_NE(r.body.find("http://127.0.0.1:8080/app/"), std::string::npos);
  auto out = get("/.rockpool/signout");
  EXPECT_EQ(out.status, 200);
  EXPECT_NE(out.headers["Set-Cookie"].find("Max-Age=0"), std::string::npos);
  EXPECT_EQ(get("/.rockpool/other").status, 404);
}

}  // namespace

TEST_F(signin_test, what_the_gateway_lets_through_is_admitted_and_an_anonymous_request_never_is) {
  auto r = get("/.rockpool/signin?code=" + code() + "&to=/workspace/demo/");
  auto cookie = cookie_of(r);
  EXPECT_EQ(get("/.rockpool/auth", {{"cookie", cookie}, {"x-forwarded-uri", "/workspace/demo/x"}})
                .status,
            200);
  // Anonymous: refused, and not admitted (it wakes nothing).
  EXPECT_EQ(get("/.rockpool/auth", {{"x-forwarded-uri", "/workspace/demo/"},
                                    {"x-rockpool-public", "0"}})
                .status,
            401);
  // A public route (Caddy says so): no cookie needed, still admitted.
  EXPECT_EQ(get("/.rockpool/auth", {{"x-forwarded-uri", "/workspace/demo/port/9000/"},
                                    {"x-rockpool-public", "1"}})
                .status,
            200);
  // The controller's own probe: through, but not activity.
  EXPECT_EQ(get("/.rockpool/auth", {{"cookie", cookie}, {"x-forwarded-uri", "/workspace/demo/healthz"},
                                    {"x-rockpool-probe", "1"}})
                .status,
            200);
  EXPECT_EQ(admitted_, (std::vector<std::string>{"/workspace/demo/x", "/workspace/demo/port/9000/"}));
  // A workspace that does not come up in time: 503 with Retry-After.
  auto slow = get("/.rockpool/auth", {{"cookie", cookie}, {"x-forwarded-uri", "/workspace/slow/"}});
  EXPECT_EQ(slow.status, 503);
  EXPECT_EQ(slow.headers["Retry-After"], "5");
  EXPECT_NE(slow.body.find("still waking"), std::string::npos) << slow.body;
}

TEST(gateway_without_signin, lets_everything_through_and_still_admits_it) {
  std::vector<std::string> admitted;
  controller::workspace_gateway g(nullptr, "http://127.0.0.1:8080",
                                  [&](const std::string& uri) -> specs::status {
                                    admitted.push_back(uri);
                                    return specs::done{};
                                  });
  http_request r{"GET", "/.rockpool/auth", "", ""};
  r.headers = {{"x-forwarded-uri", "/workspace/demo/"}};
  EXPECT_EQ(g.handle(r).status, 200);
  EXPECT_EQ(admitted, std::vector<std::string>{"/workspace/demo/"});
  EXPECT_EQ(g.handle({"GET", "/.rockpool/signin?code=x", "", ""}).status, 404);
}

// The standby gate (decision 87): the same sessions pass, from the key file
// it reads (never makes), re-read when the file is replaced; what it lets
// through is activity, saved for rockpoold to load.
TEST(standby_gate, checks_sessions_with_the_key_on_disk_and_counts_what_it_lets_through) {
  test_support::temp_dir dir;
  test_support::fake_clock clock;
  actors::workspace_activity activity(clock);
  auto key = dir.path() / "signin.key";
  controller::standby_gate gate(key, "http://127.0.0.1:8080", activity, clock);
  auto auth = [&](const std::string& cookie, const std::string& uri = "/workspace/demo/x") {
    http_request r{"GET", "/.rockpool/auth", "", ""};
    r.headers = {{"cookie", cookie}, {"x-forwarded-uri", uri}};
    return gate.handle(r).status;
  };
  EXPECT_EQ(auth(""), 503) << "no key yet: nothing to check with";
  EXPECT_FALSE(std::filesystem::exists(key)) << "the gate never makes the key";

  auto rockpoold = controller::workspace_signin::open(key, 12h, clock);
  ASSERT_TRUE(rockpoold.ok());
  auto session = (*rockpoold)->cookie_name() + "=" + (*rockpoold)->new_session();
  clock.advance(2s);  // past the gate's once-a-second look at the file
  EXPECT_EQ(auth(session), 200);
  EXPECT_EQ(auth(""), 401);
  EXPECT_EQ(auth((*rockpoold)->cookie_name() + "=1.2.forged"), 401);
  EXPECT_FALSE(activity.last("other")) << "refused requests are not activity";
  ASSERT_TRUE(activity.last("demo"));
  EXPECT_EQ(*activity.last("demo"), clock.now());
  http_request signin{"GET", "/.rockpool/signin?code=x", "", ""};
  EXPECT_EQ(gate.handle(signin).status, 404) << "signing in needs rockpoold";

  // A new key (the file replaced): old sessions stop passing, new ones pass.
  std::filesystem::remove(key);
  auto rotated = controller::workspace_signin::open(key, 12h, clock);
  ASSERT_TRUE(rotated.ok());
  clock.advance(2s);
  EXPECT_EQ(auth(session), 401);
  EXPECT_EQ(auth((*rotated)->cookie_name() + "=" + (*rotated)->new_session(), "/workspace/b/"),
            200);

  // Saved and loaded: the later time of each workspace wins.
  auto file = dir.path() / "gate-activity";
  ASSERT_TRUE(actors::save_activity(activity, file).ok());
  actors::workspace_activity loaded(clock);
  loaded.touch_at("demo", clock.now() + 1h);
  std::ofstream(file, std::ios::app) << "garbage\nbad line here\n";
  actors::load_activity(loaded, file);
  EXPECT_EQ(*loaded.last("demo"), clock.now() + 1h);
  ASSERT_TRUE(loaded.last("b"));
  EXPECT_EQ(std::chrono::duration_cast<std::chrono::seconds>(*loaded.last("b") - clock.now())
                .count(),
            0);
  actors::load_activity(loaded, dir.path() / "missing");  // nothing happens
}
