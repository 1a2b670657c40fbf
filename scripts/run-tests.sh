#!/bin/sh
# Runs each test program given, with a time limit, and prints one closing
# line "N passed, N failed". Exits non-zero if any failed.
set -u

passed=0
failed=0
failures=""
for t in "$@"; do
	echo "== $t"
	if timeout 300 "$t"; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
		failures="$failures $t"
	fi
done
[ -n "$failures" ] && echo "failed:$failures"
echo "tests: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
