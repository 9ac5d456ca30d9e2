#!/usr/bin/env bash
# scripts/fuzz-smoke.sh FUZZ_BUILD_DIR SECONDS
# Runs every libFuzzer target for SECONDS on a scratch copy of its seed
# corpus (the repository's corpus is never written to). Any crash or
# property violation fails the run and leaves the reproducer in the scratch
# directory, whose path is printed.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
dir=$1
seconds=$2
scratch=$(mktemp -d)
status=0
for target in "$dir"/tests/fuzz/fuzz_*; do
  [ -x "$target" ] || continue
  name=$(basename "$target")
  mkdir -p "$scratch/$name/corpus" "$scratch/$name/artifacts"
  if [ -d "$top/tests/fuzz/corpus/$name" ]; then
    cp -r "$top/tests/fuzz/corpus/$name/." "$scratch/$name/corpus/"
  fi
  echo "fuzzing $name for ${seconds}s"
  if ! timeout $((seconds + 60)) "$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
      -artifact_prefix="$scratch/$name/artifacts/" -print_final_stats=1 "$scratch/$name/corpus" \
      >"$scratch/$name/log" 2>&1; then
    echo "FAILED: $name (log and reproducer in $scratch/$name)"
    tail -n 40 "$scratch/$name/log"
    status=1
  else
    grep -E "stat::number_of_executed_units|stat::new_units_added" "$scratch/$name/log" | tr '\n' ' '
    echo
  fi
done
[ $status -eq 0 ] && rm -rf "$scratch"
exit $status
