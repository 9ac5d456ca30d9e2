#!/usr/bin/env bash
# scripts/build.sh [BUILD_DIR] [extra cmake args...]
# Configures and builds shype (default: build/, RelWithDebInfo, -Werror).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-$top/build}
shift || true
cmake -S "$top" -B "$dir" -G Ninja "$@" >/dev/null
ninja -C "$dir"
