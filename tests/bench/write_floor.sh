#!/bin/bash
# Durable writes through etcd, rockpoold and write_floor (append + fdatasync
# behind a minimal HTTP/1.1 server) in one run, one client (the shared
# load generator), same document: how far each server is above the floor.
#
#   ROCKPOOLD=build/controller/rockpoold FLOOR=build/tests/bench/write_floor \
#     bash tests/bench/write_floor.sh        [CONCS="1 16 64" REPS=3 DUR=10]
set -euo pipefail
CONCS=${CONCS:-1 16 64}; REPS=${REPS:-3}; DUR=${DUR:-10}
RP=$(realpath "${ROCKPOOLD:?set ROCKPOOLD}"); FLOOR=$(realpath "${FLOOR:?set FLOOR}")
PERFCMP=${PERFCMP:-$(dirname "$0")/../../../shared/perfcmp}
W=$(mktemp -d /var/tmp/write-floor.XXXXXX)
PIDS=()
trap 'kill ${PIDS[@]+"${PIDS[@]}"} 2>/dev/null; wait 2>/dev/null; rm -rf "$W"' EXIT
gcc -O2 -o "$W/loadgen" "$PERFCMP/loadgen.c" -lcurl
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_up() { for _ in $(seq 200); do curl -s -o /dev/null "$1" && return 0; sleep 0.05; done; echo "not up: $1" >&2; exit 1; }

EP=$(free_port); PP=$(free_port); FP=$(free_port); RPP=$(free_port)
etcd --name floor --data-dir "$W/etcd" --listen-client-urls "http://127.0.0.1:$EP" \
  --advertise-client-urls "http://127.0.0.1:$EP" --listen-peer-urls "http://127.0.0.1:$PP" \
  --initial-advertise-peer-urls "http://127.0.0.1:$PP" --initial-cluster "floor=http://127.0.0.1:$PP" \
  >"$W/etcd.log" 2>&1 & PIDS+=($!); EPID=$!
"$FLOOR" "$FP" "$W/floor.log" & PIDS+=($!); FPID=$!
OP=$(free_port); "$FLOOR" "$OP" "$W/floor-overwrite.log" --overwrite & PIDS+=($!); OPID=$!
(umask 077; head -c16 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$W/token"); TOK=$(cat "$W/token")
"$RP" --runtime none --data-dir "$W/rp" --socket "$W/sock" --listen "127.0.0.1:$RPP" --plain-http \
  --token-file "$W/token" >"$W/rp.log" 2>&1 & PIDS+=($!); RPID=$!
wait_up "http://127.0.0.1:$EP/health"; wait_up "http://127.0.0.1:$RPP/readyz"
DOC='{"apiVersion":"rockpool.dev/v1alpha1","kind":"Workspace","metadata":{"name":"{{NAME}}"},"spec":{"image":"rockpool-tiny"}}'

run() { # server conc rep -> "rps p99"
  local args
  case $1 in
    etcd) args=(-u "http://127.0.0.1:$EP/v3/kv/put" -k '/floor/{{NAME}}' -v "$DOC"
                -b '{"key":"{{KEY64}}","value":"{{VAL64}}"}' -P "$EPID") ;;
    floor) args=(-u "http://127.0.0.1:$FP/" -b "$DOC" -P "$FPID") ;;
    overwrite) args=(-u "http://127.0.0.1:$OP/" -b "$DOC" -P "$OPID") ;;
    rockpoold) args=(-u "http://127.0.0.1:$RPP/apis/rockpool.dev/v1alpha1/workspaces"
                     -H "Authorization: Bearer $TOK" -b "$DOC" -P "$RPID") ;;
  esac
  "$W/loadgen" -H 'Content-Type: application/json' "${args[@]}" -p "$1-$2-$3" -c "$2" -w 1 -d "$DUR" |
    python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["rps"], d["p99_ms"])'
}
median() { sort -n | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }
printf '%-5s %8s %8s %10s %10s %11s %15s %15s %9s\n' conc etcd floor overwrite rockpoold floor/etcd overwrite/etcd rockpoold/etcd rp/floor
for c in $CONCS; do
  declare -A r=()
  for rep in $(seq "$REPS"); do
    for s in etcd floor overwrite rockpoold; do r[$s]+="$(run $s "$c" "$rep" | cut -d' ' -f1)"$'\n'; done
  done
  m() { printf %s "${r[$1]}" | median; }
  e=$(m etcd); f=$(m floor); o=$(m overwrite); p=$(m rockpoold)
  printf '%-5s %8.0f %8.0f %10.0f %10.0f %10.2fx %14.2fx %14.2fx %8.2fx\n' "$c" "$e" "$f" "$o" "$p" \
    "$(echo "$f/$e" | bc -l)" "$(echo "$o/$e" | bc -l)" "$(echo "$p/$e" | bc -l)" "$(echo "$p/$f" | bc -l)"
done
