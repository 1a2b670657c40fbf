#!/usr/bin/env bash
# The Python helper through `tasklog run`, and what plugins see when the
# mount goes away under them: a clear error, no crash.
. "$(dirname "$0")/lib.sh"
start_daemon

# The Python example: default source, with_source, metadata, config, and
# the logging-module bridge.
"$TASKLOG" run -q --id users --config users=14 "$ROOT/plugins/examples/import_users.py"
expect_eq "python status" "$(cat "$MNT/tasks/users/status")" "succeeded"
expect_eq "ldap warnings" "$(grep -c "WARNING ldap user .* has no e-mail" "$(L users by-source/ldap)")" 2
expect_eq "meta user_id=7" "$(cut -d' ' -f2- "$(L users meta/user_id/7)")" \
"WARNING ldap user 7 has no e-mail user_id=7
INFO plugin imported user 7 user_id=7"
grep -q "INFO plugin importing 14 users into task users$" "$(L users all)" ||
	fail "config or default source wrong"
grep -q "WARNING legacy done through logging users=14$" "$(L users all)" ||
	fail "TaskLogHandler did not write"
ok "python example: sources, metadata, config, logging handler"

# The helper's API from a plugin of our own: threads, errors on bad input.
cat >"$T/plugin.py" <<PY
import sys, threading
sys.path.insert(0, "$ROOT/plugins/python")
import tasklog
ctx = tasklog.TaskContext.from_env()
def work(n):
    log = ctx.logger.with_source("t%d" % n)
    for i in range(500):
        log.info("line %d", i, metadata={"thread": n}, i=i)
threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
for t in threads: t.start()
for t in threads: t.join()
for bad in (".x", "a/b", ""):
    try:
        ctx.logger.with_source(bad)
        raise SystemExit("accepted source %r" % bad)
    except ValueError:
        pass
try:
    ctx.logger.log("LOUD", "x")
    raise SystemExit("accepted level LOUD")
except ValueError:
    pass
try:
    tasklog.TaskContext.from_env({})
    raise SystemExit("from_env without a task")
except KeyError:
    pass
ctx.close()
PY
"$TASKLOG" run -q --id pythreads python3 "$T/plugin.py"
expect_eq "python threads status" "$(cat "$MNT/tasks/pythreads/status")" "succeeded"
python3 - "$(L pythreads all.jsonl)" <<'PY'
import json, sys
entries = [json.loads(l) for l in open(sys.argv[1])]
assert len(entries) == 2000, len(entries)
for n in range(4):
    mine = [e for e in entries if e["source"] == "t%d" % n]
    assert [e["metadata"]["i"] for e in mine] == list(range(500))
    assert all(e["metadata"]["thread"] == n for e in mine)
PY
ok "python helper: 4 threads x 500 lines whole and in order; bad input refused"

# The mount goes away while plugins log: the C SDK returns ENOTCONN (or
# ECONNABORTED for a write in flight at the kill) and the plugin reports it
# and exits; the Python helper raises OSError with the same errno.
mkdir "$MNT/tasks/gone"
TASKLOG_TASK_ID=gone TASKLOG_DIR=$MNT/tasks/gone \
	"$B/examples/checksum" 2000000000 100 >"$T/checksum.out" 2>"$T/checksum.err" &
C_PID=$!
TASKLOG_TASK_ID=gone TASKLOG_DIR=$MNT/tasks/gone python3 -c "
import errno, sys, time
sys.path.insert(0, '$ROOT/plugins/python')
import tasklog
ctx = tasklog.TaskContext.from_env()
try:
    while True:
        ctx.logger.info('python is logging')
        time.sleep(0.01)
except OSError as e:
    print('python: logging failed:', e.strerror, file=sys.stderr)
    sys.exit(3 if e.errno in (errno.ENOTCONN, errno.ECONNABORTED) else 4)
" 2>"$T/python.err" &
P_PID=$!
eventually grep -q "python is logging" "$MNT/tasks/gone/logs/all"
eventually grep -q "checksum" "$MNT/tasks/gone/logs/all"
kill -9 "$DAEMON_PID"
wait "$DAEMON_PID" 2>/dev/null || true
DAEMON_PID=
rc=0
wait "$C_PID" || rc=$?
[ "$rc" = 1 ] || fail "C plugin exited $rc (1 expected, not a crash): $(cat "$T/checksum.err")"
grep -Eq "checksum: logging failed: (Transport endpoint is not connected|Software caused connection abort)" "$T/checksum.err" ||
	fail "C plugin: $(cat "$T/checksum.err")"
rc=0
wait "$P_PID" || rc=$?
[ "$rc" = 3 ] || fail "python plugin exited $rc: $(cat "$T/python.err")"
grep -Eq "python: logging failed: (Transport endpoint is not connected|Software caused connection abort)" "$T/python.err" ||
	fail "python plugin: $(cat "$T/python.err")"
ok "mount gone: the C SDK returns ENOTCONN or ECONNABORTED, python raises OSError; no crash"

# The runner refuses to start on a dead or missing mount, saying why.
rc=0
"$TASKLOG" run -q true 2>"$T/err" || rc=$?
expect_eq "run on a dead mount" "$rc" 2
grep -q "the tasklogfs daemon of this mount is gone" "$T/err" || fail "$(cat "$T/err")"
rc=0
"$TASKLOG" ls --mount "$T/nowhere" 2>"$T/err" || rc=$?
expect_eq "ls on a missing mount" "$rc" 2
grep -q "is not a tasklogfs mount" "$T/err" || fail "$(cat "$T/err")"
ok "tasklog on a dead or missing mount: a clear error"

fusermount3 -u -z "$MNT"
