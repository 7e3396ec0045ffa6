#!/usr/bin/env bash
# Cross-builds test/native/kernels_test.cc for aarch64 (NEON table + scalar reference, statically
# linked, so qemu needs no sysroot) and runs it under qemu-aarch64 in its --small mode (no big
# products: qemu is 10-50x slower). The kernel sources are the ones test/native/build.sh uses.
# Usage: scripts/arm64-kernels-test.sh   (needs g++-aarch64-linux-gnu and qemu-user)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TRIPLE=${TRIPLE:-aarch64-linux-gnu}
CXX=$TRIPLE-g++
OUT=$ROOT/.cache/arm64-kernels
SRC=$ROOT/native/src
mkdir -p "$OUT"
rm -f "$OUT"/*.o
FLAGS="-std=c++17 -O3 -DNDGRAD_HAVE_NEON -Wall -Wno-unused-function"
pids=()
for f in kernels/scalar.cc kernels/generic.cc kernels/gemm.cc kernels/gemm_blocked.cc kernels/dispatch.cc kernels/neon.cc \
         core/threadpool.cc core/allocator.cc; do
  $CXX $FLAGS -c "$SRC/$f" -o "$OUT/$(basename "$f" .cc).o" & pids+=($!)
done
for t in kernels_test gemm_test conv_test; do
  $CXX $FLAGS -I"$SRC" -c "$ROOT/test/native/$t.cc" -o "$OUT/$t.o" & pids+=($!)
done
for p in "${pids[@]}"; do wait "$p"; done   # each wait fails the script if that compile failed
$CXX -static -O3 -o "$OUT/kernels_test" "$OUT"/*.o -lpthread
qemu-aarch64 "$OUT/kernels_test" --small
