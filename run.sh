#!/usr/bin/env bash
# The main job: install what is missing, build, start incusd (left alone if
# running) and Caddy, build and import the rockpool-ide image (cached: a
# no-op when its inputs are unchanged), start rockpoold, apply the demo
# (samples/quickstart.yaml: a VS Code workspace; ROCKPOOL_DEMO picks another
# file, e.g. samples/tiny.yaml), wait until it is Ready and print how to open
# it. Running it twice is harmless. `./run.sh down` tears the demo down (the
# images stay). State (database, socket, token, logs) lives in $ROCKPOOL_HOME
# (default ./.run).
set -euo pipefail
cd "$(dirname "$0")"
home=${ROCKPOOL_HOME:-$PWD/.run}
export ROCKPOOL_HOME=$home
api_port=${ROCKPOOL_API_PORT:-7070}
caddy_admin=${ROCKPOOL_CADDY_ADMIN:-127.0.0.1:2019}
control_listen=${ROCKPOOL_CONTROL_LISTEN:-127.0.0.1:8080}
workspace_listen=${ROCKPOOL_WORKSPACE_LISTEN:-127.0.0.1:8081}
project=${ROCKPOOL_INCUS_PROJECT:-rockpool}
bridge=${ROCKPOOL_BRIDGE:-rockpoolbr0}
demo_file=${ROCKPOOL_DEMO:-samples/quickstart.yaml}
pidfile=$home/rockpoold.pid
# The standby sign-in check (`rockpoold gate`): Caddy asks it while rockpoold
# is down, so a restart of rockpoold signs no browser out of its workspace.
gate=${ROCKPOOL_GATE_STANDBY:-127.0.0.1:8082}
gatepid=$home/gate.pid
socket=$home/rockpoold.sock
rpctl="build/cli/rpctl"
export ROCKPOOL_SERVER=unix://$socket

running() { [[ -f $1 ]] && kill -0 "$(cat "$1")" 2>/dev/null; }
stop_pid() {
  local file=$1 what=$2
  if running "$file"; then
    local pid
    pid=$(cat "$file")
    kill "$pid"
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    echo "$what stopped (pid $pid)"
  fi
  rm -f "$file"
}

if [[ "${1:-}" == "down" ]]; then
  if running "$pidfile"; then
    # Deleting the workspaces removes their port routes first (foreground deletion).
    $rpctl delete -f "$demo_file" --wait --timeout 60s || true
  fi
  stop_pid "$pidfile" rockpoold
  stop_pid "$gatepid" "standby gate"
  if [[ -f $home/bridge.created ]]; then
    # rockpoold created the bridge for this demo: remove it (and its leases).
    incus network delete "$(cat "$home/bridge.created")" >/dev/null 2>&1 &&
      echo "bridge $(cat "$home/bridge.created") deleted"
    rm -f "$home/bridge.created"
  fi
  stop_pid "$home/caddy.pid" caddy
  if [[ -f $home/incusd.started ]]; then
    timeout 60 incus admin shutdown >/dev/null 2>&1 || true
    rm -f "$home/incusd.started"
    echo "incusd stopped"
  fi
  echo "demo down; data kept in $home/data"
  exit 0
fi

deps=(--runtime)
if grep -q 'image: rockpool-ide' "$demo_file"; then deps+=(--ide); fi
scripts/install-deps.sh "${deps[@]}"
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)" --target rockpoold rpctl

mkdir -p "$home"
chmod 700 "$home"
if ! timeout 5 incus query /1.0 >/dev/null 2>&1; then touch "$home/incusd.started"; fi
scripts/start-incus.sh
scripts/start-caddy.sh "$caddy_admin"
runtime/images/build-tiny.sh
# The IDE image: about 3 minutes the first time (Node and code-server from the
# npm registry, a Debian base), then cached by a hash of its inputs.
if grep -q 'image: rockpool-ide' "$demo_file"; then runtime/images/ide/build.sh; fi
if [[ ! -s $home/token ]]; then
  head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$home/token"
  chmod 600 "$home/token"
fi
# rockpoold creates the bridge when it is missing; if so, `down` removes it.
if ! incus network show "$bridge" >/dev/null 2>&1; then echo "$bridge" >"$home/bridge.created"; fi
if running "$pidfile"; then
  echo "rockpoold already running (pid $(cat "$pidfile"))"
else
  # The btrfs pool where start-incus.sh could make one: instances in tenths of a second.
  pool=default
  if incus storage show rockpool >/dev/null 2>&1; then pool=rockpool; fi
  # Inside a nested host (its init's environment names it) this Rockpool is an
  # inner one, and its UI and /version say so.
  inner=()
  if [[ -n ${ROCKPOOL_NESTED_HOST:-} ]]; then inner=(--inner --nested-host "$ROCKPOOL_NESTED_HOST"); fi
  setsid build/controller/rockpoold --data-dir "$home/data" --socket "$socket" \
    --storage-pool "$pool" \
    --listen "127.0.0.1:$api_port" --token-file "$home/token" --runtime incus \
    --incus-project "$project" --caddy-admin "$caddy_admin" --bridge "$bridge" \
    --caddy-control-listen "$control_listen" --caddy-workspace-listen "$workspace_listen" \
    --gateway-standby "$gate" "${inner[@]}" >>"$home/rockpoold.log" 2>&1 </dev/null &
  echo $! >"$pidfile"
  for _ in $(seq 100); do
    [[ -S $socket ]] && break
    running "$pidfile" || { echo "rockpoold failed to start:"; tail -n 20 "$home/rockpoold.log"; exit 1; }
    sleep 0.1
  done
fi
if ! running "$gatepid"; then
  # After rockpoold, which makes the sign-in key the gate checks with.
  setsid build/controller/rockpoold gate --data-dir "$home/data" --gateway-standby "$gate" \
    --caddy-control-listen "$control_listen" >>"$home/gate.log" 2>&1 </dev/null &
  echo $! >"$gatepid"
fi

# Workspaces go on the bridge when the Host has found it usable (else proxy devices).
$rpctl wait host local --for=condition=BridgeReady --timeout 30s ||
  echo "bridge $bridge is not usable (see: $rpctl preflight); workspaces use proxy devices"
$rpctl apply -f "$demo_file"
$rpctl wait workspace demo --for=condition=Ready --timeout 120s
for route in $(sed -n '/^kind: PortRoute/,/^---/s/^  name: //p' "$demo_file"); do
  $rpctl wait portroute "$route" --for=condition=Ready --timeout 60s
done
$rpctl get workspaces -o wide
$rpctl get portroutes -o wide 2>/dev/null | grep -v '^No resources' || true

anon=$(curl -s -o /dev/null -w '%{http_code}' -m 5 "http://$workspace_listen/workspace/demo/" || true)
code=$(curl -s -o /dev/null -w '%{http_code}' -m 5 -H "Authorization: Bearer $(cat "$home/token")" \
  "http://$control_listen/api/version" || true)
echo
echo "Rockpool is up."
echo "  Open the demo workspace (a single-use sign-in link, valid for a minute):"
echo "    $($rpctl open demo --print-url)"
echo "  or later:  ROCKPOOL_SERVER=unix://$socket $rpctl open demo"
echo "  http://$workspace_listen/workspace/demo/   (HTTP $anon without signing in)"
echo "  http://$control_listen/api/version   (HTTP $code; bearer token in $home/token)"
echo "  http://$control_listen/app/   (the web UI; sign in with the token in $home/token)"
cat <<MSG

  API (unix socket):  export ROCKPOOL_SERVER=unix://$socket; $rpctl get ws
  Shell:              $rpctl shell demo      (or: $rpctl exec demo -- CMD)
  API (HTTPS):        export ROCKPOOL_SERVER=https://127.0.0.1:$api_port \\
                        ROCKPOOL_CA_FILE=$home/data/tls/ca.crt ROCKPOOL_TOKEN=\$(cat $home/token)
  kubectl:            (with those set) $rpctl config kubeconfig > $home/kubeconfig
                      kubectl --kubeconfig $home/kubeconfig get workspaces
  Incus project:      incus list --project $project
  Logs:               $home/rockpoold.log, $home/gate.log, $home/caddy.log, $rpctl logs workspace/demo
  Stop the demo:      ./run.sh down
MSG
