#!/usr/bin/env bash
# Builds and imports the `rockpool-ide` Incus image: Debian bookworm minbase,
# Node 20 and code-server (both pinned, from the npm registry), git, bash,
# curl, ca-certificates, openssh-client, less and sudo; a user `dev` (uid
# 1000, sudo without a password inside the instance) with home /home/dev; and
# an init (rockpool-ide-init, next to this script) that takes the DHCP lease,
# runs code-server on $ROCKPOOL_IDE_PORT and restarts it when it exits.
# No GitHub and no image server: see shared/FACTS.md and docs/operations.md,
# "The IDE image".
#
# Three caches keep a rebuild cheap, all in $ROCKPOOL_IMAGE_CACHE
# (default /var/cache/rockpool):
#   - the code-server app (node + node_modules), keyed by its versions;
#   - the Debian rootfs, keyed by its package list and recipe;
#   - the image itself: a hash of every input is the image property
#     rockpool.hash, and a build whose hash matches the imported image is a
#     no-op (well under a second).
#
# Usage: runtime/images/ide/build.sh [--force]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
force=0
[[ "${1:-}" == "--force" ]] && force=1
alias=rockpool-ide
cache=${ROCKPOOL_IMAGE_CACHE:-/var/cache/rockpool}
base_recipe=1  # bump when the base steps below change
started=$(date +%s%N)
say() { echo "ide image: $1 ($((($(date +%s%N) - started) / 1000000)) ms)"; }

# shellcheck source=../common/debian-mirror.sh
. "$here/../common/debian-mirror.sh"
# What a developer expects in a shell, and what code-server's native modules
# load at run time (libgssapi for kerberos; the rest is in minbase).
pkgs="bash git curl ca-certificates openssh-client less sudo procps iproute2 busybox-static
  libgssapi-krb5-2 nano"

app_hash=$("$here/code-server-app.sh" --print-hash)
base_hash=$(printf '%s\n' "$base_recipe" "$mirror" $pkgs | sha256sum | cut -c1-16)
base=$cache/ide-base-$base_hash
hash=$( (echo "$app_hash $base_hash"; cat "$here/build.sh" "$here/rockpool-ide-init" \
  "$here/rockpool-code-server" "$here/../common/udhcpc.script") | sha256sum | cut -c1-32)
imported=$(incus image info "$alias" 2>/dev/null || true)
if [[ $force -eq 0 && $imported == *"rockpool.hash: $hash"* ]]; then
  echo "ide image: $alias is up to date (hash $hash)"
  exit 0
fi
command -v debootstrap >/dev/null || { echo "ide/build.sh: needs debootstrap (scripts/install-deps.sh --runtime)" >&2; exit 1; }
mkdir -p "$cache"

# --- code-server: the shared, cached app --------------------------------------
app=$("$here/code-server-app.sh")

# --- the Debian rootfs ------------------------------------------------------
if [[ ! -f $base/.complete ]]; then
  say "building the Debian base in $base (debootstrap from $mirror)"
  rm -rf "$base" "$base.tmp"
  debootstrap --variant=minbase bookworm "$base.tmp" "$mirror" >"$cache/ide-debootstrap.log" 2>&1 ||
    { tail -n 20 "$cache/ide-debootstrap.log" >&2; exit 1; }
  printf '#!/bin/sh\nexit 101\n' >"$base.tmp/usr/sbin/policy-rc.d"
  chmod +x "$base.tmp/usr/sbin/policy-rc.d"
  mount --bind /proc "$base.tmp/proc"
  trap 'umount "$base.tmp/proc" 2>/dev/null || true' EXIT
  in_root() { chroot "$base.tmp" env DEBIAN_FRONTEND=noninteractive PATH=/usr/sbin:/usr/bin:/sbin:/bin "$@"; }
  in_root apt-get update -qq
  # shellcheck disable=SC2086
  in_root apt-get install -y -qq --no-install-recommends $pkgs >/dev/null
  in_root apt-get clean
  in_root useradd --create-home --uid 1000 --shell /bin/bash dev
  echo 'dev ALL=(ALL) NOPASSWD:ALL' >"$base.tmp/etc/sudoers.d/dev"
  chmod 0440 "$base.tmp/etc/sudoers.d/dev"
  umount "$base.tmp/proc"
  trap - EXIT
  rm -f "$base.tmp/usr/sbin/policy-rc.d"
  # Cut what a development container never reads (docs/operations.md).
  rm -rf "$base.tmp"/var/lib/apt/lists/* "$base.tmp"/var/cache/apt/*.bin \
    "$base.tmp"/usr/share/doc/* "$base.tmp"/usr/share/man/* "$base.tmp"/usr/share/info/*
  find "$base.tmp/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name 'en*' ! -name locale.alias \
    -exec rm -rf {} + 2>/dev/null || true
  echo "rockpool-ide" >"$base.tmp/etc/hostname"
  touch "$base.tmp/.complete"
  mv "$base.tmp" "$base"
  for old in "$cache"/ide-base-*; do [[ $old == "$base" ]] || rm -rf "$old"; done
  say "base ready ($(du -sm "$base" | cut -f1) MB)"
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
overlay=$work/overlay
mkdir -p "$overlay/opt" "$overlay/usr/local/sbin" "$overlay/usr/sbin" "$overlay/etc"
cp -a "$app/opt" "$overlay/opt/rockpool-ide"
install -m 0755 "$here/rockpool-code-server" "$overlay/opt/rockpool-ide/bin/rockpool-code-server"
# /sbin is /usr/sbin (merged /usr): PID 1 is Rockpool's own init.
install -m 0755 "$here/rockpool-ide-init" "$overlay/usr/local/sbin/rockpool-ide-init"
ln -s /usr/local/sbin/rockpool-ide-init "$overlay/usr/sbin/init"
install -m 0755 "$here/../common/udhcpc.script" "$overlay/etc/udhcpc.script"
cat >"$work/metadata.yaml" <<META
architecture: x86_64
creation_date: $(date +%s)
properties:
  description: Rockpool IDE workspace (Debian bookworm, $("$here/code-server-app.sh" --describe))
  os: debian
  release: bookworm
  rockpool.hash: "$hash"
META
tar -C "$work" -cf "$work/metadata.tar" metadata.yaml
tar --numeric-owner -cf "$work/rootfs.tar" -C "$base" --exclude=./.complete . \
  -C "$overlay" .
say "rootfs packed ($(du -m "$work/rootfs.tar" | cut -f1) MB)"
incus image delete "$alias" >/dev/null 2>&1 || true
incus image import "$work/metadata.tar" "$work/rootfs.tar" --alias "$alias" >/dev/null
say "imported as $alias (hash $hash)"
