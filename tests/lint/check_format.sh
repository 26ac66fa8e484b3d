#!/usr/bin/env bash
# check_format.sh CLANG_FORMAT: every C/C++ file under version control is formatted.
set -euo pipefail
fmt=$1
mapfile -t files < <(git ls-files -- '*.h' '*.cpp' '*.c' 2>/dev/null || find include src cli tests fuzz bench examples -name '*.h' -o -name '*.cpp' -o -name '*.c')
if ((${#files[@]} == 0)); then echo "no files"; exit 1; fi
"$fmt" --dry-run --Werror "${files[@]}"
echo "clang-format: ${#files[@]} files clean"
