#!/usr/bin/env bash
# packaging.systemd (issue 26, item 2): the Debian package under a real
# systemd. This machine has no systemd as PID 1, so the test boots one in an
# Incus container (Debian 12 with systemd, and the libraries the package
# Depends on, so no archive is needed inside), installs the package there and
# checks what an operator relies on:
#   - `systemctl start` returns once rockpoold said READY=1 (Type=notify), and
#     it serves the packaged socket under the unit's hardening;
#   - a workspace applied through rpctl converges (fake runtime: the
#     container has no Incus of its own);
#   - kill -9 of the main process: systemd restarts it (Restart=on-failure)
#     and the store kept what was acknowledged;
#   - `systemctl stop` with a watch open: the watch ends cleanly (a complete
#     chunked stream), the unit stops well within TimeoutStopSec, and
#     systemd records a clean exit;
#   - its log is in the journal.
# The container has no network device at all. The image is cached by a hash
# of its inputs (package list, mirror, this script's recipe).
# Usage: systemd_test.sh BUILD_DIR
set -euo pipefail
build=$(cd "$1" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
name=rp-systemd-test
alias=rockpool-systemd-test
pool=${ROCKPOOL_TEST_POOL:-default}
cache=${ROCKPOOL_IMAGE_CACHE:-/var/cache/rockpool}
recipe=1  # bump when the image steps below change
out=$(mktemp -d)
fail() {
  echo "FAIL: $*" >&2
  incus exec "$name" -- journalctl -u rockpoold --no-pager -n 40 2>/dev/null >&2 || true
  exit 1
}
cleanup() {
  incus delete --force "$name" >/dev/null 2>&1 || true
  rm -rf "$out"
}
trap cleanup EXIT
in_ct() { incus exec "$name" -- env ROCKPOOL_SERVER=unix:///run/rockpool/rockpoold.sock "$@"; }
since() { echo $((($(date +%s%N) - $1) / 1000000)); }

if ! { command -v incus >/dev/null && incus info >/dev/null 2>&1; }; then
  [[ ${CI:-} == true ]] && fail "incusd is not reachable (scripts/start-incus.sh)"
  echo "skipped: incusd is not reachable"; exit 0
fi
[[ $(id -u) -eq 0 ]] || fail "needs root (debootstrap, incus)"

(cd "$build" && cpack -G DEB -B "$out" >"$out/cpack.log" 2>&1) || { cat "$out/cpack.log"; fail "cpack"; }
deb=$(ls "$out"/rockpool_*.deb)

# --- the image: systemd and the package's Depends, from the mirror ----------
# shellcheck source=../../runtime/images/common/debian-mirror.sh
. "$repo/runtime/images/common/debian-mirror.sh"
# "libfoo (>= 1), a | b" -> "libfoo a": the first alternative of each.
depends=$(dpkg-deb -f "$deb" Depends | tr ',' '\n' | sed -E 's/\|.*//; s/\(.*\)//; s/ //g' | sort -u | tr '\n' ' ')
pkgs="systemd systemd-sysv dbus $depends"
hash=$( (echo "$recipe $mirror $pkgs"; sed -n '/^# --- the image/,/^# --- the test/p' "$0") | sha256sum | cut -c1-32)
if [[ $(incus image info "$alias" 2>/dev/null || true) != *"rockpool.hash: $hash"* ]]; then
  command -v debootstrap >/dev/null || fail "needs debootstrap (scripts/install-deps.sh --runtime)"
  started=$(date +%s%N)
  root=$cache/systemd-test-rootfs.tmp
  mkdir -p "$cache"
  rm -rf "$root"
  debootstrap --variant=minbase bookworm "$root" "$mirror" >"$out/debootstrap.log" 2>&1 ||
    { tail -n 20 "$out/debootstrap.log" >&2; fail "debootstrap"; }
  printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
  chmod +x "$root/usr/sbin/policy-rc.d"
  mount --bind /proc "$root/proc"
  # shellcheck disable=SC2086
  (chroot "$root" env DEBIAN_FRONTEND=noninteractive PATH=/usr/sbin:/usr/bin:/sbin:/bin \
    sh -c "apt-get update -qq && apt-get install -y -qq --no-install-recommends $pkgs && apt-get clean" \
    >"$out/apt.log" 2>&1) || { umount "$root/proc"; tail -n 20 "$out/apt.log" >&2; fail "apt-get install in the image"; }
  umount "$root/proc"
  rm -f "$root/usr/sbin/policy-rc.d"
  rm -rf "$root"/var/lib/apt/lists/* "$root"/usr/share/doc/* "$root"/usr/share/man/*
  echo "$name" >"$root/etc/hostname"
  cat >"$out/metadata.yaml" <<META
architecture: x86_64
creation_date: $(date +%s)
properties:
  description: Rockpool's systemd test container (Debian bookworm, systemd)
  os: debian
  release: bookworm
  rockpool.hash: "$hash"
META
  tar -C "$out" -cf "$out/metadata.tar" metadata.yaml
  tar --numeric-owner -cf "$out/rootfs.tar" -C "$root" .
  rm -rf "$root"
  incus image delete "$alias" >/dev/null 2>&1 || true
  incus image import "$out/metadata.tar" "$out/rootfs.tar" --alias "$alias" >/dev/null
  rm -f "$out/rootfs.tar"
  echo "image $alias built in $(since "$started") ms (hash $hash)"
else
  echo "image $alias is up to date (hash $hash)"
fi

# --- the test ---------------------------------------------------------------
incus delete --force "$name" >/dev/null 2>&1 || true  # left by an interrupted run
incus init "$alias" "$name" --no-profiles -s "$pool" -c security.nesting=true >"$out/init.log" 2>&1 ||
  { cat "$out/init.log"; fail "incus init"; }
incus start "$name" >/dev/null 2>&1 || fail "incus start $name"
for _ in $(seq 60); do
  state=$(incus exec "$name" -- systemctl is-system-running 2>/dev/null || true)
  [[ $state == running || $state == degraded ]] && break
  sleep 1
done
[[ $state == running || $state == degraded ]] || fail "systemd did not boot in the container ($state)"
echo "systemd booted in the container ($state)"

incus file push -q "$deb" "$name/root/rockpool.deb"
in_ct dpkg -i /root/rockpool.deb >"$out/dpkg.log" 2>&1 || { cat "$out/dpkg.log"; fail "dpkg -i"; }
# The container has no Incus: the control loop runs on the fake runtime.
in_ct sed -i 's/^runtime = "incus"/runtime = "fake"/' /etc/rockpool/rockpoold.conf
in_ct systemctl cat rockpoold.service >/dev/null || fail "systemd does not know rockpoold.service"

started=$(date +%s%N)
in_ct systemctl start rockpoold || fail "systemctl start"
echo "systemctl start returned after $(since "$started") ms (Type=notify: after READY=1)"
[[ $(in_ct systemctl is-active rockpoold) == active ]] || fail "not active after start"
in_ct rpctl version >/dev/null || fail "rpctl through the packaged socket"
[[ $(in_ct stat -c '%a %G' /run/rockpool/rockpoold.sock) == "660 rockpool" ]] ||
  fail "socket mode/group: $(in_ct stat -c '%a %G' /run/rockpool/rockpoold.sock)"
[[ $(in_ct stat -c %a /var/lib/rockpool) == 700 ]] || fail "/var/lib/rockpool is not 0700"

printf 'apiVersion: rockpool.dev/v1alpha1\nkind: Workspace\nmetadata: {name: demo}\nspec: {image: rockpool-tiny}\n' |
  in_ct rpctl apply -f - >/dev/null || fail "rpctl apply"
in_ct rpctl wait workspace demo --for=condition=Ready --timeout 30s >/dev/null ||
  fail "the workspace did not become Ready under the service"
echo "a workspace converged under the unit's hardening"

pid=$(in_ct systemctl show -p MainPID --value rockpoold)
in_ct sh -c "kill -9 $pid"
started=$(date +%s%N)
for _ in $(seq 150); do
  now=$(in_ct systemctl show -p MainPID --value rockpoold)
  [[ $now != 0 && $now != "$pid" && $(in_ct systemctl is-active rockpoold) == active ]] && break
  sleep 0.1
done
[[ $now != 0 && $now != "$pid" ]] || fail "no restart after kill -9 (MainPID $now)"
[[ $(in_ct systemctl show -p NRestarts --value rockpoold) == 1 ]] || fail "NRestarts is not 1"
echo "kill -9: restarted by systemd in $(since "$started") ms (RestartSec=2s)"
in_ct rpctl get workspace demo >/dev/null || fail "the workspace is gone after the restart"

# A watch held open across the stop: rockpoold must end it cleanly.
in_ct sh -c 'nohup curl -sSN --unix-socket /run/rockpool/rockpoold.sock \
  "http://localhost/apis/rockpool.dev/v1alpha1/workspaces?watch=true" >/root/watch.out 2>/root/watch.err \
  & echo $! >/root/watch.pid' </dev/null
for _ in $(seq 50); do in_ct grep -q demo /root/watch.out && break; sleep 0.1; done
in_ct grep -q demo /root/watch.out || fail "the watch got no event"
started=$(date +%s%N)
in_ct systemctl stop rockpoold || fail "systemctl stop"
stop_ms=$(since "$started")
((stop_ms < 30000)) || fail "stop took $stop_ms ms (TimeoutStopSec=30s)"
[[ $(in_ct systemctl show -p Result --value rockpoold) == success ]] ||
  fail "systemd records $(in_ct systemctl show -p Result --value rockpoold) for the stop"
for _ in $(seq 50); do in_ct sh -c 'kill -0 $(cat /root/watch.pid)' 2>/dev/null || break; sleep 0.1; done
! in_ct sh -c 'kill -0 $(cat /root/watch.pid)' 2>/dev/null || fail "the watch is still open after the stop"
[[ -z $(in_ct cat /root/watch.err) ]] || fail "the watch did not end cleanly: $(in_ct cat /root/watch.err)"
echo "systemctl stop: $stop_ms ms, Result=success, the open watch ended cleanly"

in_ct journalctl -u rockpoold --no-pager | grep -q "serving unix:///run/rockpool/rockpoold.sock" ||
  fail "rockpoold's log is not in the journal"
echo "rockpoold logs to the journal"
echo "ok"
