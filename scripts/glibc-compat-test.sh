#!/usr/bin/env bash
# Builds test/native/glibc_compat_test.cc into a shared object linked the way binding.gyp links the Linux addon
# (native/glibc-compat.js ldflags) and runs it: the old-version pins and local definitions of
# native/src/compat/glibc_compat.cc must work, and the program must pass the same glibc floor check.
# Usage: scripts/glibc-compat-test.sh [--arm64]   (--arm64: cross-built, run under qemu-aarch64 with
# the sysroot of scripts/arm64-sysroot.sh, dynamically linked like the addon)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
arch=x64 CXX=${CXX:-g++} run=() OBJDUMP=objdump
if [ "${1:-}" = "--arm64" ]; then
  arch=arm64 CXX=aarch64-linux-gnu-g++ OBJDUMP=aarch64-linux-gnu-objdump
  SYSROOT=$ROOT/.cache/arm64-sysroot
  [ -x "$SYSROOT/usr/bin/node" ] || bash "$ROOT/scripts/arm64-sysroot.sh" "$SYSROOT"
  run=(qemu-aarch64 -L "$SYSROOT")
fi
OUT=$ROOT/.cache/glibc-compat-$arch
mkdir -p "$OUT"
# shellcheck disable=SC2046
$CXX -std=c++17 -O2 -fPIC -shared -DNDGRAD_GLIBC_COMPAT -pthread -o "$OUT/libcompat_test.so" \
  "$ROOT/test/native/glibc_compat_test.cc" "$ROOT/native/src/compat/glibc_compat.cc" \
  $(CXX=$CXX node "$ROOT/native/glibc-compat.js" ldflags "$arch")
$CXX -DNDGRAD_COMPAT_TEST_MAIN -o "$OUT/glibc_compat_test" "$ROOT/test/native/glibc_compat_test.cc" \
  -L"$OUT" -lcompat_test -Wl,-rpath,'$ORIGIN'
OBJDUMP=$OBJDUMP node "$ROOT/scripts/check-glibc-floor.js" "$OUT/libcompat_test.so"
LD_BIND_NOW=1 "${run[@]}" "$OUT/glibc_compat_test"
