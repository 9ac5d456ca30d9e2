#!/usr/bin/env bash
# The full test run (README's test command, and what CI runs):
#   1. install dependencies (apt-get, Debian 12);
#   2. build with -Werror and run every test (unit, fuzz corpus replay, e2e);
#   3. build with ASan+UBSan (clang, with libFuzzer's coverage
#      instrumentation) and run every test again;
#   4. fuzz each libFuzzer target of that build for a short while;
#   5. run each benchmark once, briefly, so they cannot rot.
# Build trees go to $SHYPE_BUILD_ROOT (default: ./out).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
out=${SHYPE_BUILD_ROOT:-$top/out}
fuzz_seconds=${SHYPE_FUZZ_SECONDS:-8}
jobs=$(nproc)

step() { printf '\n== %s == (%ds elapsed)\n' "$*" "$SECONDS"; }

step "dependencies"
"$top/scripts/install-deps.sh"

# Line tables only (-g1): enough for backtraces and sanitizer reports, and
# about a third less compile time than full debug information.
step "build (RelWithDebInfo, -Werror)"
"$top/scripts/build.sh" "$out/release" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O2 -g1 -DNDEBUG" "-DCMAKE_C_FLAGS_RELWITHDEBINFO=-O2 -g1 -DNDEBUG"
# Most tests wait on daemons and guests rather than compute: two per CPU.
step "tests"
ctest --test-dir "$out/release" --output-on-failure -j $((jobs * 2)) --timeout 600

# The sanitizer build uses clang: at -O0 with ASan it compiles this code
# about twice as fast as gcc, and a second compiler's -Werror warnings are
# checked on every file. The release build above is gcc's. The same tree
# carries libFuzzer's coverage instrumentation (SHYPE_FUZZ): its fuzz
# targets are libFuzzer programs, which replay their seed corpora under
# ctest and are fuzzed below. One tree instead of two saves about 200 s of
# building; the instrumentation costs about 10 s of build and 10 s of tests.
step "build (ASan+UBSan+libFuzzer, clang)"
"$top/scripts/build.sh" "$out/asan" -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_C_COMPILER=clang \
  -DCMAKE_BUILD_TYPE=Debug -DSHYPE_SANITIZE=address,undefined -DSHYPE_FUZZ=ON \
  -DSHYPE_BUILD_BENCHMARKS=OFF -DSHYPE_TESTS_PER_BINARY=ON \
  -DCMAKE_CXX_FLAGS_DEBUG=-g1 -DCMAKE_C_FLAGS_DEBUG=-g1
step "tests under ASan+UBSan"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir "$out/asan" --output-on-failure -j $((jobs + 1)) --timeout 900

step "libFuzzer smoke (${fuzz_seconds}s per target)"
"$top/scripts/fuzz-smoke.sh" "$out/asan" "$fuzz_seconds"

step "benchmarks (smoke)"
for b in "$out"/release/tests/bench/*_bench; do
  [ -x "$b" ] || continue
  "$b" --benchmark_min_time=0.001 >/dev/null
  echo "ran $(basename "$b")"
done

step "all tests passed"
