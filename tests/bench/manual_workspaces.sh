#!/usr/bin/env bash
# The by-hand baseline for workspace_bench: what an operator's shell script
# does to give N workspaces an IDE URL behind Caddy, without Rockpool.
# For each workspace: incus init, a proxy device from a host loopback port to
# the IDE port, incus start, and one route appended through Caddy's admin API.
#
# With BRIDGE=NAME and SUBNET=A.B.C set, each workspace instead gets a NIC on
# that (existing) bridge with the static address A.B.C.(10+i), and its route
# goes straight to ADDRESS:8080 (no proxy device, no host port).
#
# Usage: [BRIDGE=b SUBNET=10.x.y] manual_workspaces.sh PROJECT COUNT seq|par CADDY_ADMIN SERVER FIRST_HOST_PORT PREFIX
#   seq: one workspace after another; par: every workspace's steps at once.
# Caddy must already have an HTTP server named SERVER (workspace_bench loads it).
set -euo pipefail
project=$1 count=$2 mode=$3 admin=$4 server=$5 first_port=$6 prefix=$7
lock=$(mktemp)
trap 'rm -f "$lock"' EXIT

one() {
  local i=$1 name="${prefix}$1" port=$((first_port + $1)) dial
  incus init rockpool-tiny "$name" --project "$project" -q >/dev/null
  if [[ -n "${BRIDGE:-}" ]]; then
    dial="$SUBNET.$((10 + i)):8080"
    incus config device add "$name" eth0 nic network="$BRIDGE" name=eth0 \
      ipv4.address="$SUBNET.$((10 + i))" --project "$project" -q >/dev/null
  else
    dial="127.0.0.1:$port"
    incus config device add "$name" ide proxy bind=host \
      listen="tcp:127.0.0.1:$port" connect=tcp:127.0.0.1:8080 --project "$project" -q >/dev/null
  fi
  incus start "$name" --project "$project"
  # One admin-API change at a time: Caddy 2.6 resets connections that arrive
  # while it reloads its config for another change.
  flock "$lock" curl -fsS -o /dev/null -X POST -H 'Content-Type: application/json' \
    "http://$admin/config/apps/http/servers/$server/routes" --data-binary @- <<JSON
{"@id":"$name","match":[{"path":["/workspace/$name/*"]}],
 "handle":[{"handler":"rewrite","strip_path_prefix":"/workspace/$name"},
           {"handler":"reverse_proxy","upstreams":[{"dial":"$dial"}]}]}
JSON
}

if [[ $mode == seq ]]; then
  for ((i = 0; i < count; i++)); do one "$i"; done
else
  pids=()
  for ((i = 0; i < count; i++)); do one "$i" & pids+=($!); done
  for p in "${pids[@]}"; do wait "$p"; done
fi
