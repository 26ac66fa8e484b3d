#!/usr/bin/env bash
# check_tidy.sh CLANG_TIDY BUILD_DIR: the library and the command pass .clang-tidy.
# Runs one clang-tidy per core over the translation units of the build, one
# file per process so that the cores finish together (a batch of four left
# one core idle for up to a minute at the end).
set -uo pipefail
tidy=$1 build=$2
mapfile -t files < <(git ls-files -- 'src/*.cpp' 'cli/*.cpp')
if ((${#files[@]} == 0)); then echo "no files"; exit 1; fi
log=$(mktemp)
trap 'rm -f "$log"' EXIT
printf '%s\n' "${files[@]}" | xargs -P "$(nproc)" -n 1 "$tidy" -p "$build" --quiet --warnings-as-errors='*' >"$log" 2>&1
status=$?
grep -v -E '^[0-9]+ warnings? (and [0-9]+ errors? )?generated\.$|^Suppressed [0-9]+ warnings|^Use -header-filter' "$log"
if ((status != 0)); then
  echo "clang-tidy: findings above"
  exit 1
fi
echo "clang-tidy: ${#files[@]} files clean"
