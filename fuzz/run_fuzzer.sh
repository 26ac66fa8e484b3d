#!/usr/bin/env bash
# run_fuzzer.sh FUZZER SEEDS_DIR CORPUS_DIR SECONDS
# Fuzzes from the seeds for a bounded time. Any crash, leak, timeout or
# sanitizer report makes libFuzzer exit non-zero, which fails the test; the
# reproducer is left in the corpus directory's parent.
set -euo pipefail
fuzzer=$1 seeds=$2 corpus=$3 seconds=$4
mkdir -p "$corpus"
cp -r "$seeds"/. "$corpus"/ 2>/dev/null || true
cd "$(dirname "$corpus")"
exec "$fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 "$corpus"
