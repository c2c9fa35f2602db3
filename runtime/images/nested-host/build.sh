#!/usr/bin/env bash
# Builds and imports the `rockpool-nested-host` Incus image: a minimal Debian
# bookworm with Incus (bookworm-backports), Caddy, dnsmasq, the runtime
# libraries of rockpoold, the current build's rockpoold and rpctl, the
# rockpool-tiny image for inner workspaces, and an init that runs a whole
# inner Rockpool (rockpool-init, next to this script). No image server needed:
# packages come from the Debian archive.
#
# Two caches keep a rebuild cheap:
#   - the Debian rootfs, keyed by a hash of its package list and of the base
#     recipe, in $ROCKPOOL_IMAGE_CACHE (default /var/cache/rockpool);
#   - the image itself: a hash of everything that goes in (base, init,
#     binaries, the tiny image) is stored as the image property rockpool.hash,
#     and a build whose hash matches the imported image does nothing.
#
# Usage: runtime/images/nested-host/build.sh [--force] [--dev] [BIN_DIR]
#   (or, from the Debian package, /usr/share/rockpool/images/nested-host/build.sh)
#   BIN_DIR   where rockpoold and rpctl both are (default: the checkout's
#             build/controller/rockpoold and build/cli/rpctl; from the
#             package, the installed ones)
#   --dev     the developer variant, rockpool-nested-host-dev: also Rockpool's
#             own build dependencies (scripts/install-deps.sh's list), so a
#             clone of the repository builds and runs inside the nested host
#             without network access, and code-server (the IDE image's, from
#             runtime/images/ide/code-server-app.sh), which the init serves
#             on $ROCKPOOL_IDE_PORT (NestedHost spec.ide.port); needs a
#             source checkout (it is for developing Rockpool)
#   --force   rebuild and re-import even when the hash matches
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
images=$(cd "$here/.." && pwd)  # runtime/images, or /usr/share/rockpool/images
repo=$(cd "$images/../.." && pwd)  # the source checkout, when run from one
force=0
build_deps=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --force) force=1; shift ;;
    --dev) build_deps=1; shift ;;
    -*) echo "build.sh: unknown flag $1" >&2; exit 2 ;;
    *) break ;;
  esac
done
if [[ -n ${1:-} ]]; then
  rockpoold_bin=$1/rockpoold rpctl_bin=$1/rpctl
elif [[ -x $repo/build/controller/rockpoold ]]; then
  rockpoold_bin=$repo/build/controller/rockpoold rpctl_bin=$repo/build/cli/rpctl
else
  bindir=$(dirname "$(command -v rockpoold || echo /usr/bin/rockpoold)")
  rockpoold_bin=$bindir/rockpoold rpctl_bin=$bindir/rpctl
fi
if [[ $build_deps -eq 1 && ! -x $repo/scripts/install-deps.sh ]]; then
  echo "build.sh: --dev builds the image for developing Rockpool: run it from a source checkout" >&2
  exit 2
fi
alias=rockpool-nested-host
[[ $build_deps -eq 1 ]] && alias=rockpool-nested-host-dev
cache=${ROCKPOOL_IMAGE_CACHE:-/var/cache/rockpool}
base_recipe=3  # bump when the base steps below change
started=$(date +%s%N)
say() { echo "nested-host image: $1 ($((($(date +%s%N) - started) / 1000000)) ms)"; }

for bin in "$rockpoold_bin" "$rpctl_bin"; do
  [[ -x $bin ]] || { echo "build.sh: $bin not built" >&2; exit 1; }
done
command -v debootstrap >/dev/null || { echo "build.sh: needs debootstrap (scripts/install-deps.sh --runtime)" >&2; exit 1; }

# shellcheck source=../common/debian-mirror.sh
. "$here/../common/debian-mirror.sh"

# The Debian packages that provide rockpoold's and rpctl's shared libraries,
# so the binaries run in the image exactly as they do here: those linked, and
# those opened when first used (libcurl, libgit2), which the binaries name.
# (dpkg knows some of them only by their /usr path: merged /usr.)
named=$(grep -aohE 'lib[a-z0-9_+-]+\.so\.[0-9]+(\.[0-9]+)*' "$rockpoold_bin" "$rpctl_bin" | sort -u)
ld_cache=$(ldconfig -p)
opened=$(for so in $named; do awk -v so="$so" '$1 == so && !found {print $NF; found = 1}' <<<"$ld_cache"; done)
# shellcheck disable=SC2086
libs=$( (ldd "$rockpoold_bin" "$rpctl_bin" $opened | awk '/=> \//{print $3}'
  printf '%s\n' $opened) | sort -u)
# shellcheck disable=SC2086
lib_pkgs=$( (dpkg -S $libs $(printf '/usr%s ' $libs) 2>/dev/null || true) | cut -d: -f1 | sort -u |
  tr '\n' ' ')
pkgs="dnsmasq-base iproute2 nftables busybox-static curl ca-certificates caddy procps $lib_pkgs"
backports="incus-base"
dev_pkgs=""
if [[ $build_deps -eq 1 ]]; then
  # (code-server's kerberos module loads libgssapi-krb5-2, which rockpoold's
  # libcurl already brings in.)
  dev_pkgs="$("$repo/scripts/install-deps.sh" --print-build-packages) debootstrap"
  ide_app=$("$images/ide/code-server-app.sh")
  ide_hash=$("$images/ide/code-server-app.sh" --print-hash)
fi
base_hash=$(printf '%s\n' "$base_recipe" "$mirror" $pkgs $backports $dev_pkgs | sha256sum | cut -c1-16)
base=$cache/nested-host-base-$base_hash

# The inputs of the image; its hash decides whether anything is to be done.
tiny=$(incus image list rockpool-tiny -f csv -c f 2>/dev/null | head -n1)
[[ -n $tiny ]] || "$images/build-tiny.sh"
tiny=$(incus image list rockpool-tiny -f csv -c F | head -n1)
hash=$( (echo "$base_hash $tiny ${ide_hash:-}"; cat "$here/build.sh" "$here/rockpool-init" \
  "$images/ide/rockpool-code-server" "$rockpoold_bin" "$rpctl_bin") |
  sha256sum | cut -c1-32)
# (The whole output first: grep -q would end the pipe early, and under
# pipefail the SIGPIPE it gives incus would read as "not up to date".)
imported=$(incus image info "$alias" 2>/dev/null || true)
if [[ $force -eq 0 && $imported == *"rockpool.hash: $hash"* ]]; then
  echo "nested-host image: $alias is up to date (hash $hash)"
  exit 0
fi

if [[ ! -f $base/.complete ]]; then
  say "building the Debian base in $base (debootstrap from $mirror)"
  rm -rf "$base" "$base.tmp"
  mkdir -p "$cache"
  debootstrap --variant=minbase bookworm "$base.tmp" "$mirror" >"$cache/debootstrap.log" 2>&1 ||
    { tail -n 20 "$cache/debootstrap.log" >&2; exit 1; }
  say "debootstrap done"
  cat >"$base.tmp/etc/apt/sources.list" <<SRC
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb $mirror bookworm-backports main
SRC
  # No daemons may start while packages are installed.
  printf '#!/bin/sh\nexit 101\n' >"$base.tmp/usr/sbin/policy-rc.d"
  chmod +x "$base.tmp/usr/sbin/policy-rc.d"
  mount --bind /proc "$base.tmp/proc"
  trap 'umount "$base.tmp/proc" 2>/dev/null || true' EXIT
  in_root() { chroot "$base.tmp" env DEBIAN_FRONTEND=noninteractive PATH=/usr/sbin:/usr/bin:/sbin:/bin "$@"; }
  in_root apt-get update -qq
  # shellcheck disable=SC2086
  in_root apt-get install -y -qq --no-install-recommends $pkgs $dev_pkgs >/dev/null
  # shellcheck disable=SC2086
  in_root apt-get install -y -qq --no-install-recommends -t bookworm-backports $backports >/dev/null
  in_root apt-get clean
  umount "$base.tmp/proc"
  trap - EXIT
  rm -f "$base.tmp/usr/sbin/policy-rc.d"
  rm -rf "$base.tmp"/var/lib/apt/lists/* "$base.tmp"/var/cache/apt/*.bin
  # PID 1 is Rockpool's own init (no systemd in a minbase system).
  ln -sf /usr/local/sbin/rockpool-init "$base.tmp/sbin/init"
  echo "rockpool-nested-host" >"$base.tmp/etc/hostname"
  echo "$alias" >"$base.tmp/.variant"
  touch "$base.tmp/.complete"
  mv "$base.tmp" "$base"
  # Older bases of this variant are of no further use.
  for old in "$cache"/nested-host-base-*; do
    [[ $old == "$base" || ! -f $old/.variant ]] && continue
    [[ $(cat "$old/.variant") == "$alias" ]] && rm -rf "$old"
  done
  say "base ready ($(du -sm "$base" | cut -f1) MB)"
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
overlay=$work/overlay
mkdir -p "$overlay/usr/local/bin" "$overlay/usr/local/sbin" "$overlay/usr/share/rockpool/images" "$overlay/opt"
install -m 0755 "$rockpoold_bin" "$rpctl_bin" "$overlay/usr/local/bin/"
install -m 0755 "$here/rockpool-init" "$overlay/usr/local/sbin/rockpool-init"
incus image export rockpool-tiny "$overlay/usr/share/rockpool/images/rockpool-tiny" >/dev/null
if [[ -n ${ide_app:-} ]]; then
  cp -a "$ide_app/opt" "$overlay/opt/rockpool-ide"
  install -m 0755 "$images/ide/rockpool-code-server" "$overlay/opt/rockpool-ide/bin/"
fi
cat >"$work/metadata.yaml" <<META
architecture: x86_64
creation_date: $(date +%s)
properties:
  description: Rockpool nested host (Debian bookworm, Incus, Caddy, rockpoold$([[ $build_deps -eq 1 ]] && echo "; with Rockpool's build dependencies and code-server"))
  os: debian
  release: bookworm
  rockpool.hash: "$hash"
META
tar -C "$work" -cf "$work/metadata.tar" metadata.yaml
# Uncompressed: compressing 600 MB costs half a minute, importing it a second.
tar --numeric-owner -cf "$work/rootfs.tar" -C "$base" --exclude=./.complete --exclude=./.variant . \
  -C "$overlay" .
say "rootfs packed ($(du -m "$work/rootfs.tar" | cut -f1) MB)"
incus image delete "$alias" >/dev/null 2>&1 || true
incus image import "$work/metadata.tar" "$work/rootfs.tar" --alias "$alias" >/dev/null
say "imported as $alias (hash $hash)"
