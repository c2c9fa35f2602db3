#!/usr/bin/env bash
# Starts incusd if it is not running (through systemd where there is one,
# directly where there is none) and initialises it once with a `dir` storage
# pool and no network, plus a btrfs pool where the kernel has btrfs (below). Idempotent. Prints "incus: ready" when the API answers.
set -euo pipefail
socket=/var/lib/incus/unix.socket

answers() { [[ -S $socket ]] && timeout 5 incus query /1.0 >/dev/null 2>&1; }

if ! answers; then
  if [[ -d /run/systemd/system ]] && systemctl list-unit-files incus.service >/dev/null 2>&1; then
    systemctl start incus
  else
    mkdir -p /var/log/incus
    # From /: incusd runs rsync and other tools in its working directory, and
    # the caller's (a test's build directory, a clone) may be deleted later.
    # `cd /;` and not `cd / &&`: `a && b &` backgrounds the whole list, and
    # that background shell would hold the caller's stdout open until incusd
    # exits (a caller reading through a pipe would wait forever).
    (cd /; setsid /usr/libexec/incus/incusd --group root >>/var/log/incus/rockpool-incusd.log 2>&1 </dev/null &)
  fi
  for _ in $(seq 100); do answers && break; sleep 0.2; done
  answers || { echo "incus: incusd did not come up; see /var/log/incus/rockpool-incusd.log" >&2; exit 1; }
fi

if ! incus storage show default >/dev/null 2>&1; then
  cat <<'YAML' | incus admin init --preseed
storage_pools:
- name: default
  driver: dir
profiles:
- name: default
  devices:
    root:
      path: /
      pool: default
      type: disk
YAML
fi
# Where the kernel has btrfs, a second pool `rockpool` on a sparse loop file:
# a new instance is a snapshot of its image there (tenths of a second)
# instead of a copy of the whole rootfs (seconds, on `dir`). Best effort: an
# unprivileged container (a nested host) cannot make loop devices, and then
# workspaces stay on `default`. rockpoold uses it with --storage-pool rockpool.
if ! incus storage show rockpool >/dev/null 2>&1 && grep -qw btrfs /proc/filesystems &&
  command -v mkfs.btrfs >/dev/null; then
  if incus storage create rockpool btrfs size=${ROCKPOOL_POOL_SIZE:-60GiB} >/dev/null 2>&1; then
    echo "incus: storage pool rockpool (btrfs, loop file) created"
  else
    echo "incus: no btrfs pool here; workspaces use the dir pool"
  fi
fi
echo "incus: ready ($(incus version 2>/dev/null | tr '\n' ' '))"
