#!/bin/sh
# Builds test/native/opcall_alloc_test.cc against the op, autograd, core and kernel sources (no
# N-API: those floors know none) into $OUT (default /tmp/ndgrad_opcall) and runs it.
set -e
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${OUT:-/tmp/ndgrad_opcall}
CXX=${CXX:-g++}
mkdir -p "$OUT"
SRC="$ROOT/native/src"
FLAGS="-std=c++17 -O2 -fPIC -Wall -Wno-unused-function -I$SRC"
OBJS=""
# the baseline sources of native/sources.json without the binding (N-API) and the glibc shim
for f in $(node "$ROOT/native/sources.js" core | tr ' ' '\n' | grep -v -e /binding/ -e /compat/ | sed 's|^native/src/||') \
  "$ROOT/test/native/opcall_alloc_test.cc"; do
  case "$f" in /*) src="$f" ;; *) src="$SRC/$f" ;; esac
  o="$OUT/$(echo "$f" | tr '/' '_' | sed 's/\.cc$/.o/')"
  if [ ! -f "$o" ] || [ "$src" -nt "$o" ] || [ -n "$(find "$SRC" -name '*.h' -newer "$o" | head -1)" ]; then
    $CXX $FLAGS -c "$src" -o "$o" &
  fi
  OBJS="$OBJS $o"
done
wait
for o in $OBJS; do [ -f "$o" ] || { echo "build failed: $o"; exit 1; }; done
$CXX -o "$OUT/opcall_alloc_test" $OBJS -lpthread
"$OUT/opcall_alloc_test"
