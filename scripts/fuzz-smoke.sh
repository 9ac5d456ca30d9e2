#!/usr/bin/env bash
# scripts/fuzz-smoke.sh FUZZ_BUILD_DIR SECONDS [PARALLEL]
# Runs every libFuzzer target for SECONDS on a scratch copy of its seed
# corpus (the repository's corpus is never written to), PARALLEL targets at
# a time (default: the number of CPUs). Any crash or property violation
# fails the run and leaves the reproducer in the scratch directory, whose
# path is printed.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
dir=$1
seconds=$2
parallel=${3:-$(nproc)}
scratch=$(mktemp -d)

# fuzz_one NAME: fuzzes one target; its summary goes to $scratch/NAME/summary
# and its status to $scratch/NAME/status.
fuzz_one() {
  local target=$1 name
  name=$(basename "$target")
  mkdir -p "$scratch/$name/corpus" "$scratch/$name/artifacts"
  if [ -d "$top/tests/fuzz/corpus/$name" ]; then
    cp -r "$top/tests/fuzz/corpus/$name/." "$scratch/$name/corpus/"
  fi
  if timeout $((seconds + 60)) "$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
      -artifact_prefix="$scratch/$name/artifacts/" -print_final_stats=1 "$scratch/$name/corpus" \
      >"$scratch/$name/log" 2>&1; then
    { echo "fuzzed $name for ${seconds}s"
      grep -E "stat::number_of_executed_units|stat::new_units_added" "$scratch/$name/log" | tr '\n' ' '
      echo; } >"$scratch/$name/summary"
    echo 0 >"$scratch/$name/status"
  else
    { echo "FAILED: $name (log and reproducer in $scratch/$name)"
      tail -n 40 "$scratch/$name/log"; } >"$scratch/$name/summary"
    echo 1 >"$scratch/$name/status"
  fi
}

targets=()
for target in "$dir"/tests/fuzz/fuzz_*; do
  [ -x "$target" ] && targets+=("$target")
done

# Runs the targets in waves of $parallel; each wave is waited for by pid.
status=0
for ((i = 0; i < ${#targets[@]}; i += parallel)); do
  pids=()
  for target in "${targets[@]:i:parallel}"; do
    fuzz_one "$target" &
    pids+=($!)
  done
  for pid in "${pids[@]}"; do
    wait "$pid" || status=1
  done
done

for target in "${targets[@]}"; do
  name=$(basename "$target")
  cat "$scratch/$name/summary"
  [ "$(cat "$scratch/$name/status" 2>/dev/null || echo 1)" = 0 ] || status=1
done
[ $status -eq 0 ] && rm -rf "$scratch"
exit $status
