#!/usr/bin/env bash
# The short versions of scripts/soak.py: load, kill -9 at random moments,
# SIGTERM, and the three database faults, each for a few seconds. The long
# versions and their figures: scripts/reliability.sh -> docs/RELIABILITY.md.
set -eu
TASKLOGFS=${TASKLOGFS:-build/tasklogfs}
# The daemon's RSS bound; ASan's shadow memory and quarantine need more.
case $TASKLOGFS in *sanitize*) rss=1536 ;; *) rss=600 ;; esac
SOAK="python3 $(dirname "$0")/../../scripts/soak.py --daemon $TASKLOGFS --tasks 10 --readers 4 --ws 3 --rss-mb $rss"

run() {
	if out=$($SOAK "$@" 2>&1); then
		echo "ok - soak $*: $(echo "$out" | grep -E "lines written" | sed 's/  */ /g')"
	else
		echo "$out" >&2
		echo "FAIL: soak $*" >&2
		exit 1
	fi
}

run --seconds 4
run --seconds 6 --crash 2
run --seconds 4 --sigterm
run --seconds 7 --fault lock --fault-seconds 3
run --seconds 7 --fault readonly --fault-seconds 3 --fsync-every 0
run --seconds 8 --fault full --fault-seconds 3 --fsync-every 0 --mem-max-mb 16 --tmpfs-mb 256
