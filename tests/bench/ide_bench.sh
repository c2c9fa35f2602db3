#!/usr/bin/env bash
# Development workspaces, measured by hand (issue 22; docs/benchmarks.md):
#   1. the rockpool-ide image: a no-op rebuild, its size;
#   2. apply -> the IDE's /healthz answers 200 through Caddy (signed in), from
#      the cached image; the idle RSS of one IDE workspace;
#   3. N IDE workspaces applied at once: time until all answer, memory;
#   4. the gateway's cost per proxied request: the same upstream straight
#      (no Caddy: the baseline), through a public route (the gateway counts
#      it) and through a signed-in one (the gateway checks the cookie too),
#      p50/p99 of each;
#   5. sleep and wake (issue 23): the N IDE workspaces given idleAfter 15s
#      sleep (host memory before and after), then a signed-in request to a
#      sleeping one is held until it answers: time to the first byte, 3 rounds.
# Starts its own Caddy and rockpoold on free loopback ports, in an Incus
# project and on a bridge of its own, and removes them at the end.
# Usage: [POOL=rockpool] tests/bench/ide_bench.sh [N]   (N default 10; needs a
# Release build; POOL: the Incus storage pool, default `default`)
set -euo pipefail
n=${1:-10}
source "$(dirname "$0")/real_incus_lib.sh"

echo "== 1. the image"
t=$(date +%s%N)
"$repo/runtime/images/ide/build.sh" >/dev/null
echo "no-op rebuild: $(ms "$t") ms"
incus image info rockpool-ide | grep -E '^Size' | sed 's/^/image /'

bench_start
ide() { printf 'apiVersion: rockpool.dev/v1alpha1\nkind: Workspace\nmetadata: {name: %s}\nspec: {image: rockpool-ide, resources: {cpu: 2, memory: 2Gi}}\n---\n' "$@"; }

echo "== 2. apply -> /healthz 200 through Caddy"
cookie=""
signin() { curl -s -o /dev/null -D - "$($rpctl open "$1" --print-url)" | tr -d '\r' | sed -n 's/^Set-Cookie: \([^;]*\);.*/\1/p'; }
for round in 1 2 3; do
  t=$(date +%s%N)
  ide ide1 | $rpctl apply -f - >/dev/null
  [[ -n $cookie ]] || cookie=$(signin ide1)
  until [[ $(curl -s -o /dev/null -w '%{http_code}' -m 2 -b "$cookie" "http://$ws/workspace/ide1/healthz") == 200 ]]; do
    [[ $(ms "$t") -gt 60000 ]] && { echo "no answer in 60 s"; exit 1; }
    sleep 0.05
  done
  echo "round $round: $(ms "$t") ms"
  if [[ $round -lt 3 ]]; then $rpctl delete ws ide1 --wait --timeout 60s >/dev/null; fi
done
sleep 10
echo "idle IDE workspace memory (incus, the container's cgroup): $(incus info --project "$project" ide1 | sed -n 's/^ *Memory (current): *//p')"
echo "idle code-server RSS (ps in the instance): $($rpctl exec ide1 -- ps -o rss= -u dev | awk '{s+=$1} END {printf "%.0f MiB", s/1024}')"

echo "== 3. $n IDE workspaces at once"
t=$(date +%s%N)
for i in $(seq 2 $((n + 1))); do ide "ide$i"; done | $rpctl apply -f - >/dev/null
for i in $(seq 2 $((n + 1))); do
  until [[ $(curl -s -o /dev/null -w '%{http_code}' -m 2 -b "$cookie" "http://$ws/workspace/ide$i/healthz") == 200 ]]; do
    [[ $(ms "$t") -gt 300000 ]] && { echo "ide$i: no answer in 300 s"; exit 1; }
    sleep 0.1
  done
done
echo "all $n answer after $(ms "$t") ms"
sleep 10
total=0
for i in $(seq 2 $((n + 1))); do
  m=$(incus query "/1.0/instances/ide$i/state?project=$project" | python3 -c 'import json,sys; print(json.load(sys.stdin)["memory"]["usage"])')
  total=$((total + m))
done
echo "memory of the $n, idle: $((total / 1048576)) MiB ($((total / n / 1048576)) MiB each)"
free -m | sed -n 2p | awk '{print "host: used " $3 " MiB of " $2 " MiB"}'

echo "== 4. the sign-in check per proxied request (1,000 requests each, one connection)"
# The same server (busybox httpd on port 9000) in two workspaces, one route
# public, the other signed in.
for w in ide1 ide2; do $rpctl exec "$w" -- busybox httpd -p 9000 -h /etc; done
printf 'apiVersion: rockpool.dev/v1alpha1\nkind: PortRoute\nmetadata: {name: pub}\nspec: {workspace: ide1, port: 9000, public: true}\n---\napiVersion: rockpool.dev/v1alpha1\nkind: PortRoute\nmetadata: {name: priv}\nspec: {workspace: ide2, port: 9000}\n' | $rpctl apply -f - >/dev/null
$rpctl wait pr pub --for=condition=Ready --timeout 60s >/dev/null
$rpctl wait pr priv --for=condition=Ready --timeout 60s >/dev/null
measure() {
  local url=$1 args=()
  for _ in $(seq 1000); do args+=(-o /dev/null "$url"); done
  curl -s -b "$cookie" -w '%{time_total}\n' "${args[@]}" | sort -n |
    awk '{a[NR]=$1} END {printf "p50 %.3f ms  p99 %.3f ms  (%d requests)\n", a[int(NR*0.5)]*1000, a[int(NR*0.99)]*1000, NR}'
}
addr=$($rpctl get ws ide1 -o json | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"]["address"])')
echo "straight to the instance (baseline): $(measure "http://$addr:9000/hostname")"
echo "public route (gateway counts it):    $(measure "http://$ws/workspace/ide1/port/9000/hostname")"
echo "signed-in route (gateway checks it): $(measure "http://$ws/workspace/ide2/port/9000/hostname")"

echo "== 5. sleep and wake"
sleepy() { printf 'apiVersion: rockpool.dev/v1alpha1\nkind: Workspace\nmetadata: {name: %s}\nspec: {image: rockpool-ide, resources: {cpu: 2, memory: 2Gi}, lifecycle: {idleAfter: 15s}}\n---\n' "$@"; }
$rpctl delete pr pub priv --wait --timeout 60s >/dev/null 2>&1 || true
before=$(free -m | awk 'NR==2 {print $3}')
for i in $(seq 2 $((n + 1))); do sleepy "ide$i"; done | $rpctl apply -f - >/dev/null
t=$(date +%s%N)
for i in $(seq 2 $((n + 1))); do
  until [[ $($rpctl get ws "ide$i" -o json | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"].get("phase"))') == Sleeping ]]; do
    [[ $(ms "$t") -gt 120000 ]] && { echo "ide$i did not sleep in 120 s"; exit 1; }
    sleep 0.5
  done
done
sleep 3
after=$(free -m | awk 'NR==2 {print $3}')
echo "$n asleep after $(ms "$t") ms; host memory used: $before MiB awake, $after MiB asleep ($((before - after)) MiB freed)"
for round in 1 2 3; do
  t=$(date +%s%N)
  code=$(curl -s -o /dev/null -w '%{http_code}' -m 70 -b "$cookie" "http://$ws/workspace/ide2/healthz")
  echo "round $round: a request to a sleeping IDE workspace answered $code after $(ms "$t") ms"
  until [[ $($rpctl get ws ide2 -o json | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"].get("phase"))') == Sleeping ]]; do sleep 0.5; done
done
