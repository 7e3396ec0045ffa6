#!/bin/sh
# Builds the standalone kernel test and benchmark into $OUT (default /tmp/ndgrad_native) with g++.
# Baseline flags for every TU except avx2.cc (-mavx2 -mfma) and avx512.cc (AVX-512 F/BW/DQ/VL).
# Then checks that no baseline object contains ymm/zmm instructions.
set -e
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${OUT:-/tmp/ndgrad_native}
CXX=${CXX:-g++}
mkdir -p "$OUT"
rm -f "$OUT"/*.o
BASE="-std=c++17 -O3 -fPIC -DNDGRAD_HAVE_AVX2 -DNDGRAD_HAVE_AVX512 -Wall -Wno-unused-function"
SRC="$ROOT/native/src"
BASELINE_OBJS=""
for f in kernels/scalar.cc kernels/generic.cc kernels/gemm.cc kernels/gemm_blocked.cc kernels/dispatch.cc core/threadpool.cc core/allocator.cc; do
  o="$OUT/$(basename "$f" .cc).o"
  $CXX $BASE -c "$SRC/$f" -o "$o" &
  BASELINE_OBJS="$BASELINE_OBJS $o"
done
$CXX $BASE -mavx2 -mfma -c "$SRC/kernels/avx2.cc" -o "$OUT/avx2.o" &
$CXX $BASE -mavx512f -mavx512bw -mavx512dq -mavx512vl -mfma -c "$SRC/kernels/avx512.cc" -o "$OUT/avx512.o" &
$CXX $BASE -I"$SRC" -c "$ROOT/test/native/kernels_test.cc" -o "$OUT/kernels_test.o" &
$CXX $BASE -I"$SRC" -c "$ROOT/test/native/gemm_test.cc" -o "$OUT/gemm_test.o" &
$CXX $BASE -I"$SRC" -c "$ROOT/test/native/conv_test.cc" -o "$OUT/conv_test.o" &
$CXX $BASE -I"$SRC" -c "$ROOT/test/native/gemm_bench.cc" -o "$OUT/gemm_bench.o" &
wait
# wait returns 0 even if a job failed: check every object exists and is newer than the sources
for o in $BASELINE_OBJS "$OUT/avx2.o" "$OUT/avx512.o" "$OUT/kernels_test.o" "$OUT/gemm_test.o" "$OUT/conv_test.o" "$OUT/gemm_bench.o"; do
  [ -f "$o" ] || { echo "build failed: $o"; exit 1; }
done
OBJS="$BASELINE_OBJS $OUT/avx2.o $OUT/avx512.o"
$CXX -O3 -o "$OUT/kernels_test" "$OUT/kernels_test.o" "$OUT/gemm_test.o" "$OUT/conv_test.o" $OBJS -lpthread
$CXX -O3 -o "$OUT/gemm_bench" "$OUT/gemm_bench.o" $OBJS -lpthread
# the FMA peak the GEMM is judged against (its loops are asm: no ISA flags)
$CXX $BASE -o "$OUT/fma_peak" "$ROOT/test/native/fma_peak.cc" -lpthread
# neon.cc's vector path, built on x86 against an emulation of the NEON intrinsics it uses
$CXX $BASE -DNDGRAD_NEON_EMULATE -I"$ROOT/test/native/neon_emu" -c "$SRC/kernels/neon.cc" -o "$OUT/neon_emu.o"
$CXX $BASE -DNDGRAD_HAVE_NEON -c "$SRC/kernels/dispatch.cc" -o "$OUT/dispatch_neon.o"
$CXX -O3 -o "$OUT/kernels_test_neon_emu" "$OUT/kernels_test.o" "$OUT/gemm_test.o" "$OUT/conv_test.o" $(echo $OBJS | sed "s|$OUT/dispatch.o|$OUT/dispatch_neon.o|") \
  "$OUT/neon_emu.o" -lpthread
bad=0
for o in $BASELINE_OBJS; do
  if objdump -d "$o" | grep -qE '%[yz]mm'; then echo "ISA LEAK: $o uses ymm/zmm"; bad=1; fi
done
[ $bad = 0 ] && echo "objdump: baseline objects contain no ymm/zmm instructions"
echo "built $OUT/kernels_test $OUT/kernels_test_neon_emu $OUT/gemm_bench $OUT/fma_peak"
exit $bad
