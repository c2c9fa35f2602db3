#!/usr/bin/env bash
# Snapshots (issue 23; docs/benchmarks.md), measured by hand on real Incus:
# a tiny workspace whose home holds SIZE_MIB (default 1024) MiB of files;
#   1. a WorkspaceSnapshot: apply -> Ready, and how long the container was
#      frozen (status.pauseMilliseconds), 3 rounds;
#   2. rpctl restore --wait after a change, 3 rounds;
#   3. a clone (spec.source.snapshot): apply -> Ready.
# Usage: [POOL=default] [SIZE_MIB=1024] tests/bench/snapshot_bench.sh
set -euo pipefail
source "$(dirname "$0")/real_incus_lib.sh"
size=${SIZE_MIB:-1024}
bench_start

ws_yaml() {
  printf 'apiVersion: rockpool.dev/v1alpha1\nkind: Workspace\nmetadata: {name: %s}\nspec: {image: rockpool-tiny, home: {size: 4Gi}%s}\n' "$1" "${2:-}"
}
snap_yaml() { printf 'apiVersion: rockpool.dev/v1alpha1\nkind: WorkspaceSnapshot\nmetadata: {name: %s}\nspec: {workspace: snap}\n' "$1"; }
ws_yaml snap | $rpctl apply -f - >/dev/null
$rpctl wait ws snap --for=condition=Ready --timeout 120s >/dev/null
t=$(date +%s%N)
incus exec --project "$project" snap -- sh -c \
  "for i in \$(seq 1 $((size / 64))); do dd if=/dev/urandom of=/home/dev/f\$i bs=1M count=64 2>/dev/null; done; sync"
echo "home filled with $size MiB in $(ms "$t") ms (pool $pool)"

echo "== 1. snapshot: apply -> Ready"
for round in 1 2 3; do
  t=$(date +%s%N)
  snap_yaml "s$round" | $rpctl apply -f - >/dev/null
  $rpctl wait wss "s$round" --for=condition=Ready --timeout 600s >/dev/null
  echo "round $round: $(ms "$t") ms, frozen $($rpctl get wss "s$round" -o json | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"]["pauseMilliseconds"])') ms"
done

echo "== 2. restore --wait"
for round in 1 2 3; do
  incus exec --project "$project" snap -- sh -c 'echo changed > /home/dev/f1'
  t=$(date +%s%N)
  $rpctl restore s1 --wait --timeout 600s >/dev/null
  echo "round $round: $(ms "$t") ms"
done

echo "== 3. clone: apply -> Ready"
t=$(date +%s%N)
ws_yaml copy ", source: {snapshot: s1}" | $rpctl apply -f - >/dev/null
$rpctl wait ws copy --for=condition=Ready --timeout 600s >/dev/null
echo "clone Ready: $(ms "$t") ms"
