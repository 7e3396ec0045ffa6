#!/usr/bin/env bash
# The linux-arm64 prebuild, cross-compiled on x86-64 with Debian's g++-aarch64-linux-gnu through
# prebuildify/node-gyp (N-API: one binary for every Node version; Node's headers are the same for
# every architecture). Writes prebuilds/linux-arm64/ndgrad.glibc.node.
# The build runs in a staging copy (.cache/cross-arm64) because `node-gyp rebuild` starts by
# deleting build/, which holds the host (x64) build the tests use.
# Usage: npm run prebuilds:arm64   (needs: apt-get install g++-aarch64-linux-gnu)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TRIPLE=${TRIPLE:-aarch64-linux-gnu}
if ! command -v "$TRIPLE-g++" >/dev/null; then
  echo "cross-arm64: $TRIPLE-g++ not found (Debian/Ubuntu: apt-get install g++-aarch64-linux-gnu)" >&2
  exit 1
fi
STAGE=$ROOT/.cache/cross-arm64
rm -rf "$STAGE"
mkdir -p "$STAGE"
cp -r "$ROOT/binding.gyp" "$ROOT/package.json" "$ROOT/native" "$STAGE/"
ln -s "$ROOT/node_modules" "$STAGE/node_modules"
cd "$STAGE"
# node-gyp only reuses the running Node's headers for a native build; for --arch it would download
# them (needs network). Point it at the local ones when this Node ships them (they are arch-neutral).
NODE_PREFIX=$(node -p "require('path').resolve(process.execPath, '../..')")
if [ -z "${npm_config_nodedir:-}" ] && [ -f "$NODE_PREFIX/include/node/node_api.h" ]; then
  export npm_config_nodedir=$NODE_PREFIX
fi
CC=$TRIPLE-gcc CXX=$TRIPLE-g++ LINK=$TRIPLE-g++ AR=$TRIPLE-ar \
  "$ROOT/node_modules/.bin/prebuildify" --napi --strip --strip-bin "$TRIPLE-strip" --tag-libc --arch arm64 "$@"
mkdir -p "$ROOT/prebuilds/linux-arm64"
cp prebuilds/linux-arm64/*.node "$ROOT/prebuilds/linux-arm64/"
ls -l "$ROOT"/prebuilds/linux-arm64/*.node
