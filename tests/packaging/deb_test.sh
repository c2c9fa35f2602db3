#!/usr/bin/env bash
# packaging.deb (issue 26, item 1): builds the Debian package with CPack and
# checks it: Depends derived by dpkg-shlibdeps, the files a package must
# carry, the conffiles, lintian clean (with its one documented override),
# and, when this machine has no Rockpool of its own installed, a real
# install: the rockpool group and /var/lib/rockpool (0700), the installed
# rockpoold serving its socket to the group, `dpkg -r` keeping the data
# and `dpkg -P` removing it. Usage: deb_test.sh BUILD_DIR
set -euo pipefail
build=$(cd "$1" && pwd)
out=$(mktemp -d)
fail() { echo "FAIL: $*" >&2; exit 1; }
cleanup() {
  [[ -n ${pid:-} ]] && kill "$pid" 2>/dev/null || true
  rm -rf "$out"
}
trap cleanup EXIT

(cd "$build" && cpack -G DEB -B "$out" >"$out/cpack.log" 2>&1) || { cat "$out/cpack.log"; fail "cpack"; }
deb=$(ls "$out"/rockpool_*.deb)
echo "built $(basename "$deb") ($(du -h "$deb" | cut -f1))"

depends=$(dpkg-deb -f "$deb" Depends)
for lib in libc6 libstdc++6 libcaf-core0.17 libgit2 libcurl4 libssl3 libyaml-cpp; do
  [[ $depends == *"$lib"* ]] || fail "Depends lacks $lib (dpkg-shlibdeps): $depends"
done
echo "Depends (derived): $depends"

contents=$(dpkg-deb -c "$deb" | awk '{print $6}')
for f in ./usr/bin/rockpoold ./usr/bin/rpctl ./etc/rockpool/rockpoold.conf \
  ./lib/systemd/system/rockpoold.service ./usr/share/rockpool/openrc/rockpoold \
  ./lib/systemd/system/rockpool-gate.service ./usr/share/rockpool/openrc/rockpool-gate \
  ./etc/logrotate.d/rockpool ./usr/share/bash-completion/completions/rpctl \
  ./usr/share/man/man8/rockpoold.8.gz ./usr/share/man/man1/rpctl.1.gz \
  ./usr/share/rockpool/images/ide/build.sh ./usr/share/rockpool/images/nested-host/build.sh \
  ./usr/share/doc/rockpool/copyright ./usr/share/doc/rockpool/changelog.gz; do
  grep -qxF "$f" <<<"$contents" || fail "the package lacks $f"
done
dpkg-deb -e "$deb" "$out/control"
grep -qx /etc/rockpool/rockpoold.conf "$out/control/conffiles" || fail "rockpoold.conf is not a conffile"
for s in postinst prerm postrm; do sh -n "$out/control/$s" || fail "$s does not parse"; done
bash -n "$build/../packaging/completion/rpctl.bash" 2>/dev/null || true

if command -v lintian >/dev/null; then
  tags=$(lintian "$deb" 2>&1 | grep -E '^[EW]:' || true)
  [[ -z $tags ]] || fail "lintian: $tags"
  echo "lintian: clean"
elif [[ ${CI:-} == true ]]; then
  fail "lintian is required under CI=true (scripts/install-deps.sh --tests)"
fi

# A real install, only where it cannot touch someone's Rockpool: a package
# left by an interrupted run of this test is ours to purge first; a
# /var/lib/rockpool without the package is someone's data.
if dpkg-query -W -f='${Status}' rockpool 2>/dev/null | grep -q "install ok installed"; then
  dpkg -P rockpool >/dev/null
fi
if [[ -e /var/lib/rockpool ]]; then
  [[ ${CI:-} == true ]] && fail "/var/lib/rockpool exists without the package: not installing over it"
  echo "skipped the install: /var/lib/rockpool exists"; exit 0
fi
[[ $(id -u) -eq 0 ]] || { echo "skipped the install: needs root"; exit 0; }
dpkg -i "$deb" >"$out/dpkg.log" 2>&1 || { cat "$out/dpkg.log"; fail "dpkg -i"; }
trap 'cleanup; dpkg -P rockpool >/dev/null 2>&1 || true' EXIT
getent group rockpool >/dev/null || fail "postinst made no rockpool group"
[[ $(stat -c %a /var/lib/rockpool) == 700 ]] || fail "/var/lib/rockpool is not 0700"
/usr/bin/rpctl --help >/dev/null || fail "the installed rpctl does not run"
/usr/bin/rockpoold --runtime none --data-dir /var/lib/rockpool --socket "$out/sock" \
  --socket-group rockpool >"$out/rockpoold.log" 2>&1 &
pid=$!
for _ in $(seq 100); do [[ -S $out/sock ]] && break; sleep 0.1; done
[[ $(stat -c '%a %G' "$out/sock") == "660 rockpool" ]] || fail "socket: $(stat -c '%a %G' "$out/sock")"
ROCKPOOL_SERVER=unix://$out/sock /usr/bin/rpctl version >/dev/null || fail "rpctl through the socket"
kill -TERM "$pid"; wait "$pid" || fail "rockpoold did not stop cleanly: $(cat "$out/rockpoold.log")"
# The image builds run from the package: what they read sits beside them, and
# the nested host's --dev variant (for developing Rockpool) asks for a checkout.
for f in ide/build.sh ide/code-server-app.sh build-tiny.sh common/debian-mirror.sh nested-host/rockpool-init; do
  [[ -e /usr/share/rockpool/images/$f ]] || fail "the package lacks images/$f"
done
dev=$(/usr/share/rockpool/images/nested-host/build.sh --dev 2>&1) && fail "--dev ran without a checkout"
[[ $dev == *"from a source checkout"* ]] || fail "nested-host/build.sh --dev from the package: $dev"
pid=
dpkg -r rockpool >/dev/null
[[ -d /var/lib/rockpool && -e /var/lib/rockpool/CURRENT ]] || fail "remove did not keep the store"
dpkg -P rockpool >/dev/null
[[ ! -e /var/lib/rockpool ]] || fail "purge did not remove /var/lib/rockpool"
! getent group rockpool >/dev/null || fail "purge did not remove the rockpool group"
echo "installed, served the socket to the group, removed (store kept), purged (store gone)"
