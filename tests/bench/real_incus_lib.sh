# Sourced by the benchmarks that run against real Incus and Caddy: starts a
# Caddy and a rockpoold on free loopback ports, in an Incus project and on a
# bridge of their own, and removes all of it (workspaces first) on exit.
# Sets: repo rockpoold rpctl tmp project bridge admin control ws pool,
# ROCKPOOL_SERVER, and the helpers ms and port. POOL: the storage pool.
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
rockpoold=$repo/build/controller/rockpoold
rpctl=$repo/build/cli/rpctl
tmp=$(mktemp -d)
project=rockpool-bench-$$
bridge=rpb$(($$ % 100000))
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
admin=127.0.0.1:$(port)
control=127.0.0.1:$(port)
ws=127.0.0.1:$(port)
pool=${POOL:-default}
export ROCKPOOL_SERVER=unix://$tmp/sock
ms() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }

bench_cleanup() {
  for w in $($rpctl get ws -o name 2>/dev/null); do
    $rpctl delete ws "${w#*/}" --wait --timeout 120s >/dev/null 2>&1 || true
  done
  [[ -n ${daemon:-} ]] && kill "$daemon" 2>/dev/null && wait "$daemon" 2>/dev/null || true
  [[ -n ${caddy:-} ]] && kill "$caddy" 2>/dev/null || true
  for i in $(incus list --project "$project" -c n -f csv 2>/dev/null); do
    incus delete --force --project "$project" "$i" >/dev/null 2>&1 || true
  done
  incus project delete "$project" >/dev/null 2>&1 || true
  incus network delete "$bridge" >/dev/null 2>&1 || true
  rm -rf "$tmp"
}

trap bench_cleanup EXIT

# Starts Caddy and rockpoold and waits for the bridge.
bench_start() {
  echo '{"admin":{"listen":"'$admin'"},"apps":{}}' >"$tmp/caddy.json"
  XDG_DATA_HOME=$tmp XDG_CONFIG_HOME=$tmp caddy run --config "$tmp/caddy.json" >"$tmp/caddy.log" 2>&1 &
  caddy=$!
  echo "storage pool: $pool"
  "$rockpoold" --runtime incus --data-dir "$tmp/data" --socket "$tmp/sock" --incus-project "$project" \
    --storage-pool "$pool" \
    --caddy-admin "$admin" --caddy-control-listen "$control" --caddy-workspace-listen "$ws" \
    --bridge "$bridge" >"$tmp/rockpoold.log" 2>&1 &
  daemon=$!
  for _ in $(seq 100); do [[ -S $tmp/sock ]] && break; sleep 0.1; done
  $rpctl wait host local --for=condition=BridgeReady --timeout 60s >/dev/null
}
