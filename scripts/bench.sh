#!/bin/sh
# make bench: runs the benchmark programs in a scratch directory under /tmp
# (or $BENCH_DIR) and removes it afterwards.
set -eu

engine_bench=$1
daemon=$2
checksum=$3
dir=$(mktemp -d "${BENCH_DIR:-/tmp}/tl-bench-XXXXXX")
trap 'rm -rf "$dir"' EXIT INT TERM

"$engine_bench" "$dir" "${BENCH_ENTRIES:-1000000}"
echo
python3 scripts/bench_mount.py "$daemon" "$engine_bench" "$dir" "${BENCH_ENTRIES:-1000000}"
echo
mkdir "$dir/plugin"
python3 scripts/bench_plugin.py "$daemon" "$checksum" "$dir/plugin"
echo
echo "page (headless Chromium, 100k-entry task):"
TASKLOGFS=$daemon bash tests/mount/test_web_browser.sh | grep -E "source filter" | sed 's/^[# \\]*/  /' || true
