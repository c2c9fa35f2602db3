#!/usr/bin/env bash
# Builds and imports the `rockpool-tiny` Incus image: a busybox-static rootfs
# whose init brings up loopback, configures eth0 from DHCP when there is one
# (bridge networking: Incus's dnsmasq hands out the address the controller
# chose), and serves an "IDE" page on port 8080 and a second page on port
# 9000, so tests can tell the IDE route from port routes. Needs no image
# server. Idempotent: skips the import when the alias exists at this version,
# unless --force. Usage: runtime/images/build-tiny.sh [--force] [ALIAS]
set -euo pipefail
force=0
[[ "${1:-}" == "--force" ]] && { force=1; shift; }
alias=${1:-rockpool-tiny}
version=4  # bump when the rootfs changes; an older image is replaced
if [[ $force -eq 0 ]] && incus image info "$alias" 2>/dev/null | grep -q "rockpool.version: $version\$"; then
  echo "image $alias: already imported (version $version)"
  exit 0
fi
incus image info "$alias" >/dev/null 2>&1 && force=1  # an older version: replace it
busybox=/bin/busybox
if [[ ! -x $busybox ]] || [[ "$(ldd "$busybox" 2>&1)" != *"not a dynamic executable"* ]]; then
  echo "build-tiny: need busybox-static (apt-get install busybox-static)" >&2
  exit 1
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root=$work/rootfs
mkdir -p "$root"/{bin,sbin,etc,proc,sys,dev,tmp,run,var/www/ide,var/www/port}
cp "$busybox" "$root/bin/busybox"
for app in sh ls cat echo mkdir mount ip ifconfig route httpd sleep hostname ps kill udhcpc nc arping; do
  ln -sf busybox "$root/bin/$app"
done
# udhcpc only reports a lease; this applies it (shared with the IDE image).
install -m 0755 "$(dirname "$0")/common/udhcpc.script" "$root/etc/udhcpc.script"
cat >"$root/sbin/init" <<'INIT'
#!/bin/sh
# PID 1 of rockpool-tiny: loopback up, two web servers, then wait forever.
mount -t proc proc /proc 2>/dev/null
mount -t sysfs sys /sys 2>/dev/null
ip link set lo up 2>/dev/null || ifconfig lo 127.0.0.1 up
# Bridge networking: take the address Incus's DHCP server offers (in the
# background, renewing), so the servers below start at once either way.
if [ -e /sys/class/net/eth0 ]; then
  udhcpc -i eth0 -s /etc/udhcpc.script -b -t 20 -T 1 >/dev/null 2>&1
fi
name=$(hostname)
echo "<html><body><h1>rockpool-tiny IDE</h1><p>workspace $name</p></body></html>" >/var/www/ide/index.html
echo "<html><body><h1>rockpool-tiny port 9000</h1><p>workspace $name</p></body></html>" >/var/www/port/index.html
httpd -p 8080 -h /var/www/ide
httpd -p 9000 -h /var/www/port
trap 'exit 0' TERM INT PWR
while true; do sleep 3600 & wait $!; done
INIT
chmod +x "$root/sbin/init"
cat >"$work/metadata.yaml" <<META
architecture: $(uname -m)
creation_date: $(date +%s)
properties:
  description: Rockpool tiny test workspace (busybox; DHCP on eth0; pages on 8080 and 9000)
  rockpool.version: "$version"
  os: busybox
  release: tiny
templates: {}
META
tar -C "$work" -czf "$work/metadata.tar.gz" metadata.yaml
tar -C "$root" -czf "$work/rootfs.tar.gz" .
[[ $force -eq 1 ]] && incus image delete "$alias" >/dev/null 2>&1 || true
incus image import "$work/metadata.tar.gz" "$work/rootfs.tar.gz" --alias "$alias" >/dev/null
echo "image $alias: imported"
