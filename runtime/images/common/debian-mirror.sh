# Sourced by the image builds: sets $mirror to $DEBIAN_MIRROR, else the Debian
# mirror this machine's apt uses (the only archive reachable here), else
# deb.debian.org.
mirror=${DEBIAN_MIRROR:-$(grep -rhoE '^(URIs:|deb) +https?://[^ ]+/debian/?( |$)' \
  /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null | awk '{print $2}' | head -n1 || true)}
mirror=${mirror:-http://deb.debian.org/debian}
