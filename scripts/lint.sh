#!/usr/bin/env bash
# scripts/lint.sh [BUILD_DIR]
# Runs clang-tidy (.clang-tidy) over shype's own sources using the build's
# compile_commands.json (default build dir: out/release, configured by
# scripts/build.sh), and reports files clang-format (.clang-format) would
# change. Exits non-zero if clang-tidy reports anything.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$top/out/release}
[ -f "$build/compile_commands.json" ] || "$top/scripts/build.sh" "$build"

mapfile -t sources < <(cd "$top" && git ls-files '*.cpp' | grep -v '^tests/fuzz/corpus/')
echo "clang-tidy over ${#sources[@]} files"
status=0
for f in "${sources[@]}"; do
  out=$(clang-tidy -p "$build" --quiet "$top/$f" 2>/dev/null | grep -E "warning:|error:" || true)
  if [ -n "$out" ]; then
    echo "$out"
    status=1
  fi
done

unformatted=$(cd "$top" && git ls-files '*.cpp' '*.hpp' | xargs clang-format --dry-run 2>&1 | grep -c "warning:" || true)
echo "clang-format: $unformatted lines would change (clang-format -i to apply)"
exit $status
