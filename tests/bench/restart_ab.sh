#!/bin/bash
# Restart time of rockpoold holding N objects, for one or more builds
# alternated on one store: the time from starting the process to the first
# 200 from /readyz, as ../shared/perfcmp/compare.sh measures it.
#
#   bash tests/bench/restart_ab.sh OLD/rockpoold NEW/rockpoold   (N=10000 REPS=8)
#
# Run by hand; loopback only; writes go through the perfcmp load generator.
set -euo pipefail
N=${N:-10000}
REPS=${REPS:-8}
PERFCMP=${PERFCMP:-$(cd "$(dirname "$0")/../../.." && pwd)/shared/perfcmp}
B=$(mktemp -d)
trap 'rm -rf "$B"' EXIT
gcc -O2 -o "$B/loadgen" "$PERFCMP/loadgen.c" -lcurl
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
head -c16 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$B/token"
chmod 600 "$B/token"
args=(--runtime none --data-dir "$B/data" --socket "$B/sock" --listen "127.0.0.1:$PORT"
  --plain-http --token-file "$B/token")
"$1" "${args[@]}" >"$B/log" 2>&1 &
P=$!
for _ in $(seq 1000); do curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null && break; sleep 0.01; done
DOC='{"apiVersion":"rockpool.dev/v1alpha1","kind":"Workspace","metadata":{"name":"{{NAME}}"},"spec":{"image":"rockpool-tiny"}}'
"$B/loadgen" -u "http://127.0.0.1:$PORT/apis/rockpool.dev/v1alpha1/workspaces" \
  -H 'Content-Type: application/json' -H "Authorization: Bearer $(cat "$B/token")" \
  -b "$DOC" -p w-load -c 16 -n "$N" >/dev/null
kill -TERM $P
wait $P || true
for _ in $(seq "$REPS"); do
  for bin in "$@"; do
    python3 - "$PORT" "$B/log" "$bin" "${args[@]}" <<'PY'
import http.client, signal, subprocess, sys, time
port, log, cmd = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
t0 = time.monotonic()
p = subprocess.Popen(cmd, stdout=open(log, "ab"), stderr=subprocess.STDOUT, start_new_session=True)
while time.monotonic() - t0 < 60:
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        c.request("GET", "/readyz")
        if c.getresponse().status == 200:
            break
    except OSError:
        pass
    time.sleep(0.002)
print(f"{cmd[0]} {time.monotonic() - t0:.4f}")
p.send_signal(signal.SIGTERM)
p.wait(timeout=60)
PY
  done
done
