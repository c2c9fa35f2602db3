#!/usr/bin/env bash
# The main job: install what is missing, build, start rockpoold, apply the
# quickstart, print how to reach it. `./run.sh down` stops what it started.
# State (database, socket, token, log) lives in $ROCKPOOL_HOME (default ./.run).
set -euo pipefail
cd "$(dirname "$0")"
home=${ROCKPOOL_HOME:-$PWD/.run}
api_port=${ROCKPOOL_API_PORT:-7070}
pidfile=$home/rockpoold.pid
socket=$home/rockpoold.sock

running() { [[ -f $pidfile ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }

if [[ "${1:-}" == "down" ]]; then
  if running; then
    pid=$(cat "$pidfile")
    kill "$pid"
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    echo "rockpoold stopped (pid $pid); data kept in $home/data"
  else
    echo "rockpoold is not running"
  fi
  rm -f "$pidfile"
  exit 0
fi

scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)" --target rockpoold rpctl

mkdir -p "$home"
chmod 700 "$home"
if [[ ! -s $home/token ]]; then
  head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$home/token"
  chmod 600 "$home/token"
fi
if running; then
  echo "rockpoold already running (pid $(cat "$pidfile"))"
else
  setsid build/controller/rockpoold --data-dir "$home/data" --socket "$socket" \
    --listen "127.0.0.1:$api_port" --token-file "$home/token" --runtime fake \
    >>"$home/rockpoold.log" 2>&1 </dev/null &
  echo $! >"$pidfile"
  for _ in $(seq 100); do
    [[ -S $socket ]] && break
    running || { echo "rockpoold failed to start:"; tail -n 20 "$home/rockpoold.log"; exit 1; }
    sleep 0.1
  done
fi

export ROCKPOOL_SERVER=unix://$socket
build/controller/rpctl apply -f samples/quickstart.yaml
build/controller/rpctl wait workspace demo --for=condition=Ready --timeout 30s
build/controller/rpctl get workspaces
build/controller/rpctl get portroutes
cat <<MSG

Rockpool control plane is up.
  API (unix socket):   $socket
  API (loopback TCP):  http://127.0.0.1:$api_port  (bearer token in $home/token)
  Try:                 export ROCKPOOL_SERVER=unix://$socket
                       build/controller/rpctl get workspaces -o wide
  Log:                 $home/rockpoold.log
  Stop:                ./run.sh down

The actor runtime reconciles against the in-memory FAKE runtime (--runtime=fake):
statuses, conditions, events, finalizers and routes are real controller output,
but no Incus instance or Caddy route exists yet, so nothing answers on
http://127.0.0.1:8081/workspace/demo/. See docs/operations.md, "What runs today".
MSG
