#!/bin/sh
# make lint: functions we do not use, then clang-tidy's analyzer and bugprone
# checks over the C sources.
set -eu

status=0
files=$(git ls-files '*.c' '*.h' 2>/dev/null || find engine tests scripts -name '*.[ch]')

banned='\b(sprintf|vsprintf|strcpy|strcat|gets|atoi)[[:space:]]*\('
if grep -nE "$banned" $files; then
	echo "lint: banned function (use snprintf, memcpy with a length, strtol)" >&2
	status=1
fi

if command -v clang-tidy >/dev/null 2>&1; then
	cflags="-std=c11 -D_GNU_SOURCE -Iengine -Iwebview -Ifs -Itests/fuzz -Iplugins -Iplugins/runner $(pkg-config --cflags sqlite3 libcjson cmocka fuse3 libwebsockets 2>/dev/null)"
	for f in $(echo "$files" | tr ' ' '\n' | grep '\.c$'); do
		clang-tidy -quiet --warnings-as-errors='*' \
			--checks='-*,clang-analyzer-*,bugprone-*,-bugprone-easily-swappable-parameters,-bugprone-reserved-identifier,-bugprone-narrowing-conversions,-bugprone-assignment-in-if-condition,-bugprone-sizeof-expression,-clang-analyzer-security.insecureAPI.DeprecatedOrUnsafeBufferHandling' \
			"$f" -- $cflags 2>/dev/null || status=1
	done
else
	echo "lint: clang-tidy not installed; skipped" >&2
fi
exit $status
