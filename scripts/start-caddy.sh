#!/usr/bin/env bash
# Starts Caddy with an empty JSON config and its admin API on a loopback
# address (default 127.0.0.1:2019), unless one already answers there.
# rockpoold's route table writes the servers and routes. Idempotent.
# Usage: scripts/start-caddy.sh [ADMIN_ADDR]   (state in ${ROCKPOOL_HOME:-./.run})
set -euo pipefail
admin=${1:-127.0.0.1:2019}
home=${ROCKPOOL_HOME:-$(cd "$(dirname "$0")/.." && pwd)/.run}
mkdir -p "$home"
if curl -fsS -m 2 "http://$admin/config/" >/dev/null 2>&1; then
  echo "caddy: already answering on $admin"
  exit 0
fi
cat >"$home/caddy.json" <<JSON
{"admin": {"listen": "$admin"}, "apps": {}}
JSON
XDG_DATA_HOME=$home/caddy-data XDG_CONFIG_HOME=$home/caddy-config \
  setsid caddy run --config "$home/caddy.json" >>"$home/caddy.log" 2>&1 </dev/null &
echo $! >"$home/caddy.pid"
for _ in $(seq 50); do
  curl -fsS -m 2 "http://$admin/config/" >/dev/null 2>&1 && { echo "caddy: ready on $admin"; exit 0; }
  sleep 0.1
done
echo "caddy: did not answer on $admin; see $home/caddy.log" >&2
exit 1
