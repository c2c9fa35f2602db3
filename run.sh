#!/usr/bin/env bash
# The main job: install what is missing, build, start incusd (left alone if
# running) and Caddy, import the rockpool-tiny image, start rockpoold, apply
# samples/quickstart.yaml, wait until it is Ready and print the URLs that
# answer. Running it twice is harmless. `./run.sh down` tears the demo down.
# State (database, socket, token, logs) lives in $ROCKPOOL_HOME (default ./.run).
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
pidfile=$home/rockpoold.pid
socket=$home/rockpoold.sock
rpctl="build/controller/rpctl"
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
    # Deleting the workspace removes its owned port route first (foreground deletion).
    $rpctl delete workspace demo --wait --timeout 60s || true
  fi
  stop_pid "$pidfile" rockpoold
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

scripts/install-deps.sh --runtime
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)" --target rockpoold rpctl

mkdir -p "$home"
chmod 700 "$home"
if ! timeout 5 incus query /1.0 >/dev/null 2>&1; then touch "$home/incusd.started"; fi
scripts/start-incus.sh
scripts/start-caddy.sh "$caddy_admin"
runtime/images/build-tiny.sh
if [[ ! -s $home/token ]]; then
  head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$home/token"
  chmod 600 "$home/token"
fi
# rockpoold creates the bridge when it is missing; if so, `down` removes it.
if ! incus network show "$bridge" >/dev/null 2>&1; then echo "$bridge" >"$home/bridge.created"; fi
if running "$pidfile"; then
  echo "rockpoold already running (pid $(cat "$pidfile"))"
else
  setsid build/controller/rockpoold --data-dir "$home/data" --socket "$socket" \
    --listen "127.0.0.1:$api_port" --token-file "$home/token" --runtime incus \
    --incus-project "$project" --caddy-admin "$caddy_admin" --bridge "$bridge" \
    --caddy-control-listen "$control_listen" --caddy-workspace-listen "$workspace_listen" \
    >>"$home/rockpoold.log" 2>&1 </dev/null &
  echo $! >"$pidfile"
  for _ in $(seq 100); do
    [[ -S $socket ]] && break
    running "$pidfile" || { echo "rockpoold failed to start:"; tail -n 20 "$home/rockpoold.log"; exit 1; }
    sleep 0.1
  done
fi

# Workspaces go on the bridge when the Host has found it usable (else proxy devices).
$rpctl wait host local --for=condition=BridgeReady --timeout 30s ||
  echo "bridge $bridge is not usable (see: $rpctl preflight); workspaces use proxy devices"
$rpctl apply -f samples/quickstart.yaml
$rpctl wait workspace demo --for=condition=Ready --timeout 120s
$rpctl wait portroute demo-9000 --for=condition=Ready --timeout 60s
$rpctl get workspaces -o wide
$rpctl get portroutes -o wide

echo
echo "Rockpool is up. These answer now:"
for url in "http://$workspace_listen/workspace/demo/" "http://$workspace_listen/workspace/demo/port/9000/"; do
  code=$(curl -s -o /dev/null -w '%{http_code}' -m 5 "$url" || true)
  echo "  $url   (HTTP $code)"
done
code=$(curl -s -o /dev/null -w '%{http_code}' -m 5 -H "Authorization: Bearer $(cat "$home/token")" \
  "http://$control_listen/api/version" || true)
echo "  http://$control_listen/api/version   (HTTP $code; bearer token in $home/token)"
echo "  http://$control_listen/app/   (the web UI; sign in with the token in $home/token)"
cat <<MSG

  API (unix socket):  export ROCKPOOL_SERVER=unix://$socket; $rpctl get ws
  API (HTTPS):        export ROCKPOOL_SERVER=https://127.0.0.1:$api_port \\
                        ROCKPOOL_CA_FILE=$home/data/tls/ca.crt ROCKPOOL_TOKEN=\$(cat $home/token)
  kubectl:            (with those set) $rpctl config kubeconfig > $home/kubeconfig
                      kubectl --kubeconfig $home/kubeconfig get workspaces
  Incus project:      incus list --project $project
  Logs:               $home/rockpoold.log, $home/caddy.log
  Stop the demo:      ./run.sh down
MSG
