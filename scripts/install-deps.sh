#!/usr/bin/env bash
# Installs every Debian package Rockpool needs to build, test and run.
# Idempotent: packages already present are skipped, so a second run is quick.
# Usage: scripts/install-deps.sh [--runtime] [--tests]
#   --runtime  also incus, caddy, dnsmasq, debootstrap (run.sh, test.sh)
#   --ide      also what building the rockpool-ide image needs (run.sh with
#              the IDE demo, test.sh)
#   --tests    also what the tests alone need: chromium, chromium-driver,
#              python3-selenium, node, help2man, lintian and etcd-server (test.sh)
#        scripts/install-deps.sh --print-build-packages   (the build packages, one line)
set -euo pipefail

build_pkgs=(
  cmake g++ make pkg-config git ca-certificates curl
  libcaf-dev libboost1.81-dev libboost-json1.81-dev
  libcurl4-openssl-dev libssl-dev libgit2-dev librocksdb-dev libspdlog-dev libyaml-cpp-dev libcli11-dev
  libhowardhinnant-date-dev tzdata
  libgtest-dev libgmock-dev libbenchmark-dev libjemalloc-dev
  clang libclang-rt-14-dev clang-format
)
runtime_pkgs=(caddy busybox-static dnsmasq-base debootstrap)
# Wanted, not needed: start-incus.sh makes a btrfs pool with it (fast
# instance creation) and does without where it cannot be had (inside a nested
# host, which reaches no archive).
optional_runtime_pkgs=(btrfs-progs)
# The rockpool-ide image's build: code-server's native modules compile here
# against Node 20's headers, and its ripgrep is Debian's (shared/FACTS.md).
ide_image_pkgs=(build-essential python3 pkg-config libkrb5-dev ripgrep)
# The web UI's tests: a real headless Chromium driven by Selenium; the API's
# second client family: the official Kubernetes Python client.
ui_test_pkgs=(chromium chromium-driver python3-selenium python3-kubernetes)
# The Debian package's build and checks (cmake --build build --target
# package; packaging.deb): man pages from --help, and lintian.
package_pkgs=(help2man lintian)
# The etcd store's tests run a real etcd member on loopback (issue 27).
store_test_pkgs=(etcd-server)
backports_pkgs=(incus-base)

want_runtime=0
want_tests=0
want_ide=0
for arg in "$@"; do
  case "$arg" in
    --runtime) want_runtime=1 ;;
    --tests) want_tests=1 ;;
    --ide) want_ide=1 ;;
  esac
done
# The nested host's developer image installs the same list.
if [[ "${1:-}" == "--print-build-packages" ]]; then
  echo "${build_pkgs[@]}"
  exit 0
fi

missing() {
  local out=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || out+=("$p")
  done
  echo "${out[@]:-}"
}

SUDO=""
[[ $(id -u) -eq 0 ]] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
updated=0
apt_update() {
  [[ $updated -eq 1 ]] && return
  $SUDO apt-get update -qq
  updated=1
}

need=$(missing "${build_pkgs[@]}")
if [[ $want_runtime -eq 1 ]]; then
  need="$need $(missing "${runtime_pkgs[@]}")"
fi
if [[ $want_ide -eq 1 ]]; then
  need="$need $(missing "${ide_image_pkgs[@]}")"
  # npm fetches Node 20 and code-server from the npm registry.
  command -v npm >/dev/null || need="$need npm"
fi
if [[ $want_tests -eq 1 ]]; then
  need="$need $(missing "${ui_test_pkgs[@]}") $(missing "${package_pkgs[@]}") $(missing "${store_test_pkgs[@]}")"
  # The UI's unit tests run under node (node --test); Debian's when there is none.
  command -v node >/dev/null || need="$need nodejs"
  # The kubectl e2e test: Debian's kubectl (1.20) when the machine has none.
  command -v kubectl >/dev/null || need="$need kubernetes-client"
fi
need=$(echo $need)
if [[ -n "$need" ]]; then
  echo "install-deps: installing $need"
  apt_update
  $SUDO apt-get install -y -qq --no-install-recommends $need >/dev/null
fi

if [[ $want_runtime -eq 1 ]]; then
  optional=$(missing "${optional_runtime_pkgs[@]}")
  if [[ -n "$optional" ]]; then
    # shellcheck disable=SC2086
    (apt_update 2>/dev/null; $SUDO apt-get install -y -qq --no-install-recommends $optional >/dev/null 2>&1) ||
      echo "install-deps: optional $optional not installed (no archive reachable?)"
  fi
  need=$(missing "${backports_pkgs[@]}")
  if [[ -n "$need" ]]; then
    list=/etc/apt/sources.list.d/rockpool-backports.sources
    if ! grep -rqs bookworm-backports /etc/apt/sources.list /etc/apt/sources.list.d/; then
      echo "install-deps: enabling bookworm-backports"
      $SUDO tee "$list" >/dev/null <<'SRC'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
      updated=0
    fi
    echo "install-deps: installing $need from bookworm-backports"
    apt_update
    $SUDO apt-get install -y -qq -t bookworm-backports --no-install-recommends $need >/dev/null
  fi
fi
echo "install-deps: ok"
