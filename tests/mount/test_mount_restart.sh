#!/usr/bin/env bash
# Entries survive a restart (SC-003), and fsynced lines survive kill -9.
. "$(dirname "$0")/lib.sh"
start_daemon
mkdir "$MNT/tasks/keep"
for i in $(seq 1 300); do echo "line $i"; done >>"$MNT/tasks/keep/logs/all"
echo "failed 3" >"$MNT/tasks/keep/status"
cat "$MNT/tasks/keep/logs/all" >"$T/before"
stop_daemon
ok "SIGTERM: exit 0, no mount left"

start_daemon
cmp "$T/before" "$MNT/tasks/keep/logs/all" || fail "entries changed across restart"
expect_eq "status" "$(cat "$MNT/tasks/keep/status")" "failed 3"
ok "restart keeps every entry, byte for byte"

# kill -9 after the writers' fsync returned: every fsynced line, once.
mkdir "$MNT/tasks/crash"
python3 - "$MNT/tasks/crash/logs/all" <<'PY'
import os, sys
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_APPEND)
for i in range(500):
    os.write(fd, b"synced %d\n" % i)
os.fsync(fd)
os.close(fd)
PY
for i in $(seq 1 50); do echo "maybe $i"; done >>"$MNT/tasks/crash/logs/all"
kill -9 "$DAEMON_PID"
wait "$DAEMON_PID" 2>/dev/null || true
DAEMON_PID=
# The dead daemon left a stale mount; the next start clears it.
start_daemon
expect_eq "fsynced lines" "$(grep -c ' synced ' "$MNT/tasks/crash/logs/all")" 500
expect_eq "distinct" "$(grep ' synced ' "$MNT/tasks/crash/logs/all" | awk '{print $5}' | sort -u | wc -l)" 500
ok "kill -9: every fsynced line is there exactly once"

# SIGTERM while a writer still holds its file open with an unfinished line:
# the line is accepted, so it is stored (the kernel sends no close then).
exec 3>>"$MNT/tasks/crash/logs/all"
printf "held open, no newline" >&3
stop_daemon
exec 3>&-
start_daemon
expect_eq "unfinished line" "$(grep -c 'INFO plugin held open, no newline$' "$MNT/tasks/crash/logs/all")" 1
ok "SIGTERM with a file held open: its unfinished line is stored"
stop_daemon
