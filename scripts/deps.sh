#!/bin/sh
# The one list of the Debian packages tasklogfs needs to build, test and run.
# Idempotent: installs only what is missing, so it is cheap to call from make.
set -eu

PACKAGES="build-essential pkg-config sqlite3 libsqlite3-dev libcjson-dev
libfuse3-dev fuse3 libwebsockets-dev libcmocka-dev python3 curl chromium
clang libclang-rt-14-dev"
# Node.js runs the browser tests; the machine image usually brings its own.
command -v npm >/dev/null 2>&1 || PACKAGES="$PACKAGES nodejs npm"

missing=""
for p in $PACKAGES; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
		missing="$missing $p"
	fi
done

if [ -n "$missing" ]; then
	echo "deps: installing$missing" >&2
	SUDO=""
	if [ "$(id -u)" -ne 0 ]; then
		SUDO="sudo"
	fi
	export DEBIAN_FRONTEND=noninteractive
	$SUDO apt-get update -qq
	# shellcheck disable=SC2086
	$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

# playwright-core for the browser tests, from the committed lockfile; it
# drives Debian's chromium and never downloads a browser.
browser=$(dirname "$0")/../tests/browser
if [ ! -d "$browser/node_modules/playwright-core" ]; then
	echo "deps: npm ci in tests/browser" >&2
	(cd "$browser" && npm ci --no-audit --no-fund --loglevel=error)
fi
