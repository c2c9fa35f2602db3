#!/usr/bin/env bash
# Runs every test: installs what is missing (build tools, Incus, Caddy),
# builds (Release), starts incusd and imports the rockpool-tiny,
# rockpool-nested-host and rockpool-ide images (stopping incusd again at the end if this script
# started it), fuzzes the decoder and
# the HTTP request path for FUZZ_SECONDS each (default 60) under ASan+UBSan,
# then runs ctest. Under CI=true a
# missing or broken Incus fails the run. ctest's summary line is printed last.
set -euo pipefail
cd "$(dirname "$0")"
jobs=$(nproc)

scripts/install-deps.sh --runtime --tests --ide

echo "== runtime: incusd and the rockpool-tiny image"
started_incus=0
if ! timeout 5 incus query /1.0 >/dev/null 2>&1; then started_incus=1; fi
stop_incus() {
  if [[ $started_incus -eq 1 ]]; then
    timeout 60 incus admin shutdown >/dev/null 2>&1 || pkill -x incusd || true
  fi
}
trap stop_incus EXIT
scripts/start-incus.sh
runtime/images/build-tiny.sh

echo "== build (Release)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$jobs"

# The nested host image carries this build's rockpoold and rpctl (cached: a
# rebuild with the same inputs is a no-op; the Debian base is kept in
# /var/cache/rockpool).
echo "== runtime: the rockpool-nested-host images (plain and --dev)"
runtime/images/nested-host/build.sh
runtime/images/nested-host/build.sh --dev
# The IDE image (code-server): cached by a hash of its inputs, ~3 min cold.
echo "== runtime: the rockpool-ide image"
runtime/images/ide/build.sh

# Runs one libFuzzer target for FUZZ_SECONDS from a copy of its corpus. A
# sanitizer report can hang instead of exiting here: kill after a margin and
# treat the kill as a finding.
fuzz() {
  local target=$1 seeds=$2 corpus artifacts rc
  echo "== fuzz: $target, ${FUZZ_SECONDS:-60}s, ASan+UBSan"
  corpus=$(mktemp -d)
  artifacts=$(mktemp -d)
  cp "$seeds"/* "$corpus"/
  set +e
  timeout -s KILL $(( ${FUZZ_SECONDS:-60} + 60 )) "build-fuzz/tests/fuzz/$target" \
    -max_total_time="${FUZZ_SECONDS:-60}" -rss_limit_mb=2048 -max_len=65536 -timeout=10 \
    -artifact_prefix="$artifacts/" "$corpus" >"$artifacts/log" 2>&1
  rc=$?
  set -e
  tail -n 2 "$artifacts/log"
  if [[ $rc -ne 0 ]]; then
    echo "fuzz: $target FAILED (exit $rc); reproducer and log in $artifacts"
    ls -la "$artifacts"
    exit 1
  fi
  rm -rf "$corpus" "$artifacts"
}

if command -v clang++ >/dev/null; then
  CC=clang CXX=clang++ cmake -S . -B build-fuzz -DROCKPOOL_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build build-fuzz -j"$jobs" --target decode_fuzzer http_fuzzer backup_fuzzer
  fuzz decode_fuzzer tests/fuzz/corpus
  fuzz http_fuzzer tests/fuzz/http-corpus
  FUZZ_SECONDS=${BACKUP_FUZZ_SECONDS:-20} fuzz backup_fuzzer tests/fuzz/backup-corpus
elif [[ "${CI:-}" == "true" ]]; then
  echo "fuzz: clang++ missing under CI" >&2
  exit 1
else
  echo "fuzz: skipped (no clang++)"
fi

echo "== ctest"
# The browser test's screenshots are artifacts: their paths go in this log
# (ctest shows a passing test's output only in its own log), then ctest's
# summary line again, last.
set +e
ctest --test-dir build --output-on-failure -j2 --timeout 600 | tee build/ctest-summary.log
rc=${PIPESTATUS[0]}
set -e
grep -h "screenshot:" build/Testing/Temporary/LastTest.log 2>/dev/null | sed 's/^ */UI /' || true
grep -E "tests passed|tests failed" build/ctest-summary.log | tail -n 1
exit "$rc"
