#!/usr/bin/env bash
# check_tidy.sh CLANG_TIDY BUILD_DIR [PATHSPEC...]: the translation units
# that PATHSPEC selects (default: the library and the command) pass
# .clang-tidy, with BUILD_DIR's compile_commands.json. tests/, bench/ and
# fuzz/ have their own .clang-tidy on top of the root's.
# Runs one clang-tidy per core, one file per process so that the cores
# finish together (a batch of four left one core idle for up to a minute at
# the end).
#
# -Wno-zero-as-null-pointer-constant: the compile commands are g++'s, whose
# -Wzero-as-null-pointer-constant clang 14 also honours, and then reports
# every defaulted operator<=> that a file uses (a clang bug; g++ keeps
# checking the real thing in every build).
set -uo pipefail
tidy=$1 build=$2
shift 2
(($# > 0)) || set -- 'src/*.cpp' 'cli/*.cpp'
mapfile -t files < <(git ls-files -- "$@")
if ((${#files[@]} == 0)); then echo "no files"; exit 1; fi
log=$(mktemp)
trap 'rm -f "$log"' EXIT
printf '%s\n' "${files[@]}" |
  xargs -P "$(nproc)" -n 1 "$tidy" -p "$build" --quiet --warnings-as-errors='*' \
    --extra-arg=-Wno-zero-as-null-pointer-constant >"$log" 2>&1
status=$?
grep -v -E '^[0-9]+ warnings? (and [0-9]+ errors? )?generated\.$|^Suppressed [0-9]+ warnings|^Use -header-filter' "$log"
if ((status != 0)); then
  echo "clang-tidy: findings above"
  exit 1
fi
echo "clang-tidy: ${#files[@]} files clean"
