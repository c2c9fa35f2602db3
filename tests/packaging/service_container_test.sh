#!/usr/bin/env bash
# packaging.systemd and packaging.openrc (issue 26, item 2): the Debian
# package under a real init. This machine has no init system as PID 1, so the
# test boots one in an Incus container (Debian 12 with systemd, or with
# sysvinit and OpenRC; and the libraries the package Depends on, so no
# archive is needed inside), installs the package there and checks what an
# operator relies on:
#   - start returns once rockpoold is ready (systemd: Type=notify, READY=1;
#     OpenRC: start_post polls /readyz), and it serves the packaged socket;
#   - a workspace applied through rpctl converges (fake runtime: the
#     container has no Incus of its own), under the unit's hardening;
#   - kill -9 of the daemon: the init restarts it (systemd Restart=on-failure,
#     OpenRC supervise-daemon respawn) and the store kept what was acknowledged;
#   - stop with a watch open: the watch ends cleanly (a complete chunked
#     stream), the stop is well within the 30 s the unit and script allow,
#     and the daemon exited cleanly;
#   - its log is where the init keeps logs (the journal; /var/log/rockpool).
# The container has no network device at all. The image is cached by a hash
# of its inputs (package list, mirror, this script's recipe).
# Usage: service_container_test.sh systemd|openrc BUILD_DIR
set -euo pipefail
init=$1
build=$(cd "$2" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
name=rp-$init-test
alias=rockpool-$init-test
pool=${ROCKPOOL_TEST_POOL:-default}
cache=${ROCKPOOL_IMAGE_CACHE:-/var/cache/rockpool}
recipe=1  # bump when the image steps below change
out=$(mktemp -d)
fail() {
  echo "FAIL: $*" >&2
  logs 2>/dev/null | tail -n 40 >&2 || true
  exit 1
}
cleanup() {
  incus delete --force "$name" >/dev/null 2>&1 || true
  rm -rf "$out"
}
trap cleanup EXIT
in_ct() { incus exec "$name" -- env ROCKPOOL_SERVER=unix:///run/rockpool/rockpoold.sock "$@"; }
since() { echo $((($(date +%s%N) - $1) / 1000000)); }

# What differs between the two inits.
case $init in
  systemd)
    init_pkgs="systemd systemd-sysv dbus"
    booted() { [[ $(incus exec "$name" -- systemctl is-system-running 2>/dev/null || true) =~ ^(running|degraded)$ ]]; }
    enable() { in_ct systemctl cat rockpoold.service >/dev/null; }
    svc() { in_ct systemctl "$1" rockpoold; }
    running() { [[ $(in_ct systemctl is-active rockpoold || true) == active ]]; }
    daemon_pid() { in_ct systemctl show -p MainPID --value rockpoold; }
    stopped_cleanly() { [[ $(in_ct systemctl show -p Result --value rockpoold) == success ]]; }
    logs() { in_ct journalctl -u rockpoold --no-pager; }
    # rockpoold.service wants the gate: it started with it.
    gate_enable() { :; }
    gate_running() { [[ $(in_ct systemctl is-active rockpool-gate || true) == active ]]; }
    gate_logs() { in_ct journalctl -u rockpool-gate --no-pager; }
    ;;
  openrc)
    init_pkgs="sysvinit-core openrc procps"
    booted() { [[ $(incus exec "$name" -- rc-status -r 2>/dev/null || true) == default ]]; }
    # The package ships the script for Alpine-style hosts; an OpenRC host
    # installs it as a service (docs/operations.md).
    enable() { in_ct install -m 0755 /usr/share/rockpool/openrc/rockpoold /etc/init.d/rockpoold; }
    svc() { in_ct rc-service rockpoold "$1"; }
    running() { in_ct rc-service rockpoold status >/dev/null 2>&1 && [[ -n $(daemon_pid) ]]; }
    # The daemon, not its standby gate (`rockpoold gate`, the same binary).
    daemon_pid() { in_ct pgrep -o -xf '/usr/bin/rockpoold --config /etc/rockpool/rockpoold.conf' || true; }
    # supervise-daemon logs no exit status: no process is left, and the
    # daemon's own log ends with its drain.
    stopped_cleanly() { [[ -z $(daemon_pid) ]] && in_ct tail -n 3 /var/log/rockpool/rockpoold.log | grep -q "received signal 15"; }
    logs() { in_ct cat /var/log/rockpool/rockpoold.log; }
    # Debian's OpenRC has no service that brings up the loopback interface
    # (Alpine's `loopback` does) and the image has no ip tool: bring it up
    # from the host, in the container's network namespace.
    gate_enable() {
      nsenter -t "$(incus info "$name" | awk '/^PID:/ {print $2}')" -n ip link set lo up &&
        in_ct install -m 0755 /usr/share/rockpool/openrc/rockpool-gate /etc/init.d/rockpool-gate &&
        in_ct rc-service rockpool-gate start >/dev/null
    }
    gate_running() { in_ct rc-service rockpool-gate status >/dev/null 2>&1; }
    gate_logs() { in_ct cat /var/log/rockpool/gate.log; }
    ;;
  *) echo "usage: $0 systemd|openrc BUILD_DIR" >&2; exit 2 ;;
esac

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
pkgs="$init_pkgs $depends"
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
  description: Rockpool's $init test container (Debian bookworm)
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
for _ in $(seq 60); do booted && break; sleep 1; done
booted || fail "$init did not boot in the container"
echo "$init booted in the container"

incus file push -q "$deb" "$name/root/rockpool.deb"
in_ct dpkg -i /root/rockpool.deb >"$out/dpkg.log" 2>&1 || { cat "$out/dpkg.log"; fail "dpkg -i"; }
# The container has no Incus: the control loop runs on the fake runtime.
in_ct sed -i 's/^runtime = "incus"/runtime = "fake"/' /etc/rockpool/rockpoold.conf
enable || fail "$init does not know the rockpoold service"

started=$(date +%s%N)
svc start || fail "$init: start"
echo "start returned after $(since "$started") ms, once rockpoold was ready"
running || fail "not running after start"
in_ct rpctl version >/dev/null || fail "rpctl through the packaged socket"
[[ $(in_ct stat -c '%a %G' /run/rockpool/rockpoold.sock) == "660 rockpool" ]] ||
  fail "socket mode/group: $(in_ct stat -c '%a %G' /run/rockpool/rockpoold.sock)"
[[ $(in_ct stat -c %a /var/lib/rockpool) == 700 ]] || fail "/var/lib/rockpool is not 0700"

printf 'apiVersion: rockpool.dev/v1alpha1\nkind: Workspace\nmetadata: {name: demo}\nspec: {image: rockpool-tiny}\n' |
  in_ct rpctl apply -f - >/dev/null || fail "rpctl apply"
in_ct rpctl wait workspace demo --for=condition=Ready --timeout 30s >/dev/null ||
  fail "the workspace did not become Ready under the service"
echo "a workspace converged under the service"

# The standby sign-in gate (decision 87) runs beside it and checks sessions
# with the key rockpoold made: without a cookie, 401.
gate_enable || fail "$init: starting the standby gate"
for _ in $(seq 50); do gate_running && break; sleep 0.1; done
gate_running || fail "the standby gate is not running"
code=
for _ in $(seq 50); do
  code=$(in_ct curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:8082/.rockpool/auth || true)
  [[ $code == 401 ]] && break
  sleep 0.1
done
[[ $code == 401 ]] || fail "the standby gate answered $code, not 401, without a session: $(gate_logs)"
echo "the standby gate runs and refuses a request without a session"

pid=$(daemon_pid)
[[ -n $pid && $pid != 0 ]] || fail "no rockpoold process"
in_ct sh -c "kill -9 $pid"
started=$(date +%s%N)
now=
for _ in $(seq 150); do
  now=$(daemon_pid)
  [[ -n $now && $now != 0 && $now != "$pid" ]] && running && break
  sleep 0.1
done
[[ -n $now && $now != 0 && $now != "$pid" ]] || fail "no restart after kill -9"
echo "kill -9: restarted by $init in $(since "$started") ms (2 s delay configured)"
for _ in $(seq 50); do in_ct rpctl version >/dev/null 2>&1 && break; sleep 0.1; done
in_ct rpctl get workspace demo >/dev/null || fail "the workspace is gone after the restart"

# A watch held open across the stop: rockpoold must end it cleanly.
in_ct sh -c 'nohup curl -sSN --unix-socket /run/rockpool/rockpoold.sock \
  "http://localhost/apis/rockpool.dev/v1alpha1/workspaces?watch=true" >/root/watch.out 2>/root/watch.err \
  & echo $! >/root/watch.pid' </dev/null
for _ in $(seq 50); do in_ct grep -q demo /root/watch.out && break; sleep 0.1; done
in_ct grep -q demo /root/watch.out || fail "the watch got no event"
started=$(date +%s%N)
svc stop || fail "$init: stop"
stop_ms=$(since "$started")
((stop_ms < 30000)) || fail "stop took $stop_ms ms (the unit and the script allow 30 s)"
stopped_cleanly || fail "the daemon did not exit cleanly on stop"
for _ in $(seq 50); do in_ct sh -c 'kill -0 $(cat /root/watch.pid)' 2>/dev/null || break; sleep 0.1; done
! in_ct sh -c 'kill -0 $(cat /root/watch.pid)' 2>/dev/null || fail "the watch is still open after the stop"
[[ -z $(in_ct cat /root/watch.err) ]] || fail "the watch did not end cleanly: $(in_ct cat /root/watch.err)"
echo "stop: $stop_ms ms, a clean exit, the open watch ended cleanly"
gate_running || fail "stopping rockpoold stopped the standby gate"
echo "the standby gate still runs with rockpoold stopped"

logs | grep -q "serving unix:///run/rockpool/rockpoold.sock" || fail "rockpoold's log is not kept by $init"
echo "rockpoold's log is kept by $init"
echo "ok"
