#!/usr/bin/env bash
# A private arm64 sysroot holding Debian's arm64 `nodejs` and its shared libraries, for running the
# package under qemu-aarch64 (`qemu-aarch64 -L <sysroot> <sysroot>/usr/bin/node ...`).
# The packages are fetched with `apt-get download` and unpacked with `dpkg-deb -x`: nothing is
# installed, so the machine's own Node stays as it is (installing nodejs:arm64 would replace it).
# Needs the arm64 package lists: adds the architecture and runs apt-get update once if missing.
# Usage: scripts/arm64-sysroot.sh [dir]   (default .cache/arm64-sysroot; reused when present)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SYSROOT=${1:-$ROOT/.cache/arm64-sysroot}
if [ -x "$SYSROOT/usr/bin/node" ]; then
  echo "arm64 sysroot: $SYSROOT (cached)"
  exit 0
fi
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
  dpkg --add-architecture arm64
  apt-get update -qq
elif ! apt-cache show nodejs:arm64 >/dev/null 2>&1; then
  apt-get update -qq
fi
# nodejs:arm64 and the arm64 shared libraries it needs, transitively (Debian's node links libnode,
# libuv, OpenSSL, ICU, c-ares, nghttp2, brotli, zlib, libstdc++, glibc), plus the arch-independent
# node-* packages holding builtins Debian keeps outside the binary (cjs-module-lexer, undici, acorn).
pkgs=$(apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks \
         --no-replaces --no-enhances nodejs:arm64 2>/dev/null |
       grep -E '^((nodejs|zlib1g|lib[^ :<]*):arm64|node-[a-z0-9.-]+)$' | sort -u)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && apt-get download -qq $pkgs 2>&1 | grep -v 'unsandboxed' || true)
ls "$tmp"/*.deb >/dev/null
rm -rf "$SYSROOT.tmp"
mkdir -p "$SYSROOT.tmp"
for deb in "$tmp"/*.deb; do dpkg-deb -x "$deb" "$SYSROOT.tmp"; done
[ -x "$SYSROOT.tmp/usr/bin/node" ] || { echo "arm64 sysroot: no usr/bin/node after unpacking" >&2; exit 1; }
rm -rf "$SYSROOT"
mv "$SYSROOT.tmp" "$SYSROOT"
echo "arm64 sysroot: $SYSROOT ($(ls "$tmp" | wc -l) packages: $(echo $pkgs | tr '\n' ' '))"
