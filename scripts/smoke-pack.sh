#!/usr/bin/env bash
# Packs ndgrad and installs the tarball into a fresh project with --ignore-scripts (so the addon can
# only come from prebuilds/), then runs scripts/smoke.js there: with this machine's Node, and with
# `--arm64`, also with Debian's arm64 Node under qemu-aarch64 from the private sysroot
# (scripts/arm64-sysroot.sh), which loads prebuilds/linux-arm64.
# Usage: scripts/smoke-pack.sh [--arm64]   (after npm run prebuilds [and npm run prebuilds:arm64])
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
ARM64=0
[ "${1:-}" = "--arm64" ] && ARM64=1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$ROOT"
tgz=$(npm pack --silent --pack-destination "$tmp" | tail -1)
echo "packed $tgz: $(tar tzf "$tmp/$tgz" | grep -c .) files, prebuilds: $(tar tzf "$tmp/$tgz" | grep '^package/prebuilds/.*\.node$' | tr '\n' ' ')"
mkdir "$tmp/app"
cd "$tmp/app"
echo '{ "name": "ndgrad-smoke", "version": "1.0.0", "private": true }' > package.json
npm install --silent --no-audit --no-fund --prefer-offline --ignore-scripts "$tmp/$tgz"
cp "$ROOT/scripts/smoke.js" .
# LD_BIND_NOW: resolve every symbol (and symbol version) of the addon at load, not on first call.
echo "--- host: node $(node -v) $(node -p process.arch)"
LD_BIND_NOW=1 PREBUILDS_ONLY=1 node smoke.js
if [ $ARM64 = 1 ]; then
  SYSROOT=$ROOT/.cache/arm64-sysroot
  [ -x "$SYSROOT/usr/bin/node" ] || bash "$ROOT/scripts/arm64-sysroot.sh" "$SYSROOT"
  echo "--- arm64 under qemu-aarch64: $(qemu-aarch64 -L "$SYSROOT" "$SYSROOT/usr/bin/node" -v)"
  LD_BIND_NOW=1 PREBUILDS_ONLY=1 qemu-aarch64 -L "$SYSROOT" "$SYSROOT/usr/bin/node" smoke.js neon
fi
