#!/usr/bin/env bash
# run_case.sh BINARY EXPECTED_EXIT EXPECTED_STDOUT|- ARGS...
# Runs BINARY ARGS, checks the exit code and, unless "-", that stdout equals
# the expected file byte for byte. stderr is shown on failure.
set -u
bin=$1 want_exit=$2 expected=$3
shift 3
out=$(mktemp) err=$(mktemp)
trap 'rm -f "$out" "$err"' EXIT
"$bin" "$@" >"$out" 2>"$err"
got_exit=$?
status=0
if [[ "$got_exit" != "$want_exit" ]]; then
  echo "exit code $got_exit, expected $want_exit"
  status=1
fi
if [[ "$expected" != "-" ]] && ! diff -u "$expected" "$out"; then
  echo "stdout differs from $expected"
  status=1
fi
if ((status != 0)); then
  echo "--- stderr:"
  cat "$err"
else
  cat "$err" >&2
fi
exit $status
