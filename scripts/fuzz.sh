#!/bin/sh
# fuzz.sh DIR SECONDS [RUNS]: runs each libFuzzer target in DIR. It first
# replays tests/fuzz/corpus/<target>/ (seeds, and every input that ever
# crashed it, kept as regression cases), then fuzzes for SECONDS (or RUNS
# executions). A crash leaves its input in DIR/crashes/ and fails.
set -eu

dir=$1
seconds=$2
runs=${3:-}
mkdir -p "$dir/crashes"
status=0
for bin in "$dir"/fuzz_*; do
	[ -x "$bin" ] || continue
	target=$(basename "$bin" | sed 's/^fuzz_//')
	seeds=tests/fuzz/corpus/$target
	work=$dir/corpus/$target
	mkdir -p "$seeds" "$work"
	if [ -n "$runs" ]; then
		limit="-runs=$runs"
	else
		limit="-max_total_time=$seconds"
	fi
	log=$dir/fuzz_$target.log
	if "$bin" $limit -timeout=10 -rss_limit_mb=2048 -max_len=4096 \
		-artifact_prefix="$dir/crashes/$target-" -print_final_stats=1 \
		"$work" "$seeds" >"$log" 2>&1; then
		execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
		echo "fuzz $target: ${execs:-?} runs, no crash"
	else
		echo "fuzz $target: FAILED, see $log and $dir/crashes/" >&2
		tail -30 "$log" >&2
		status=1
	fi
done
exit $status
