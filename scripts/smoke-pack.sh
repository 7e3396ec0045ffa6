#!/usr/bin/env bash
# Packs ndgrad and installs the tarball into a fresh project with --ignore-scripts (so the addon can
# only come from prebuilds/), then runs scripts/smoke.js there (and scripts/smoke-dist.js under mpirun
# when the MPI module's prebuild is packed): with this machine's Node, and with
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
# The MPI module (kvstore 'dist_sync'), when the tarball has its prebuild for this machine and mpirun is
# here: the install hook, with no mpicc on PATH and a node-gyp that cannot run, must find the prebuild
# and compile nothing; then a 2-rank pushpull from the installed package.
dist_prebuild=$(tar tzf "$tmp/$tgz" | grep "^package/native/dist/prebuilds/$(node -p 'process.platform + "-" + process.arch')/.*\.node$" || true)
if [ -n "$dist_prebuild" ] && command -v mpirun >/dev/null; then
  echo "--- MPI module: ${dist_prebuild#package/}"
  hook=$(PATH=/nonexistent npm_config_node_gyp=/nonexistent "$(command -v node)" node_modules/ndgrad/native/dist/build.js --if-mpi)
  echo "$hook"
  case "$hook" in *"nothing to build"*) ;; *) echo "smoke-pack: the MPI install hook did not use the prebuild"; exit 1 ;; esac
  cp "$ROOT/scripts/smoke-dist.js" .
  LD_BIND_NOW=1 mpirun --allow-run-as-root --oversubscribe -np 2 --mca btl self,vader,tcp --mca btl_tcp_if_include lo node smoke-dist.js
fi
if [ $ARM64 = 1 ]; then
  SYSROOT=$ROOT/.cache/arm64-sysroot
  [ -x "$SYSROOT/usr/bin/node" ] || bash "$ROOT/scripts/arm64-sysroot.sh" "$SYSROOT"
  echo "--- arm64 under qemu-aarch64: $(qemu-aarch64 -L "$SYSROOT" "$SYSROOT/usr/bin/node" -v)"
  LD_BIND_NOW=1 PREBUILDS_ONLY=1 qemu-aarch64 -L "$SYSROOT" "$SYSROOT/usr/bin/node" smoke.js neon
fi
