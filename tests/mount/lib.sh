# lib.sh - what the mount tests share. Source it, then call start_daemon.
#
# Each test mounts in its own temporary directory, with a time limit, waits
# until the mount is really there, and always unmounts, even on failure.
set -eu

TASKLOGFS=${TASKLOGFS:-build/tasklogfs}
TASKLOGFS=$(cd "$(dirname "$TASKLOGFS")" && pwd)/$(basename "$TASKLOGFS")
T=$(mktemp -d /tmp/tl-mount-XXXXXX)
MNT=$T/mnt
DB=$T/tasklog.db
DAEMON_PID=
mkdir -p "$MNT"

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

# Starts the daemon in the foreground (in the background of this shell).
start_daemon() {
	"$TASKLOGFS" -f -o "db=$DB,flush_ms=${FLUSH_MS:-100},http=${HTTP:-off}" "$@" "$MNT" \
		>>"$T/daemon.log" 2>&1 &
	DAEMON_PID=$!
	for _ in $(seq 100); do
		if grep -q " $MNT fuse" /proc/mounts && [ -e "$MNT/README" ]; then
			return 0
		fi
		kill -0 "$DAEMON_PID" 2>/dev/null || break
		sleep 0.05
	done
	cat "$T/daemon.log" >&2
	fail "the daemon did not mount $MNT"
}

# Stops the daemon with SIGTERM and checks it exited 0 with no mount left.
stop_daemon() {
	kill -TERM "$DAEMON_PID"
	local rc=0
	wait "$DAEMON_PID" || rc=$?
	DAEMON_PID=
	[ "$rc" -eq 0 ] || { cat "$T/daemon.log" >&2; fail "daemon exited $rc"; }
	! grep -q " $MNT fuse" /proc/mounts || fail "a mount was left behind"
}

cleanup() {
	local rc=$?
	if [ -n "$DAEMON_PID" ]; then
		kill -TERM "$DAEMON_PID" 2>/dev/null || true
		wait "$DAEMON_PID" 2>/dev/null || true
	fi
	if grep -q " $MNT fuse" /proc/mounts; then
		fusermount3 -u -z "$MNT" 2>/dev/null || true
	fi
	if [ $rc -ne 0 ] && [ -f "$T/daemon.log" ]; then
		echo "--- daemon log" >&2
		tail -20 "$T/daemon.log" >&2
	fi
	rm -rf "$T"
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# expect_eq WHAT GOT WANT
expect_eq() {
	[ "$2" = "$3" ] || fail "$1: got '$2', want '$3'"
}

# Waits (up to 5 s) until a command succeeds.
eventually() {
	for _ in $(seq 100); do
		if "$@"; then
			return 0
		fi
		sleep 0.05
	done
	fail "never true: $*"
}

ok() {
	echo "ok - $*"
}

# For the plugin tests: the build folder (B), the runner, the repository's
# root, the mount as the runner's default, and L TASK FILE for a log file.
B=$(cd "${TASKLOG_BUILD:-build}" && pwd)
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
TASKLOG=$B/tasklog
export TASKLOG_MOUNT=$MNT
L() { echo "$MNT/tasks/$1/logs/$2"; }
