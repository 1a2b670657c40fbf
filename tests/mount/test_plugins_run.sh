#!/usr/bin/env bash
# Every plugin kind run through `tasklog run`, checked through the mount:
# a shared object with the new entry point, one with the old execute(), a
# shell script, a program that only prints, the burst plugin; config, exit
# codes, signals, and the ls / rm / tail conveniences.
. "$(dirname "$0")/lib.sh"
EX=$ROOT/plugins/examples
start_daemon

# A shared object exporting tasklog_execute(ctx, …): sources, levels and
# metadata as the SDK wrote them (US3).
"$TASKLOG" run -q --id dm --config dashboards=8 "$B/examples/dashboard_migration.so"
expect_eq "status" "$(cat "$MNT/tasks/dm/status")" "succeeded"
expect_eq "superset_api entries" "$(grep -c . "$(L dm by-source/superset_api)")" 10
expect_eq "plugin entries" "$(grep -c . "$(L dm by-source/plugin)")" 18
expect_eq "debug entries" "$(grep -c . "$(L dm level/DEBUG)")" 8
grep -q "INFO plugin migrating 8 dashboards (task dm)$" "$(L dm all)" ||
	fail "the default source is not plugin"
expect_eq "meta dashboard_id=4" "$(cut -d' ' -f2- "$(L dm meta/dashboard_id/4)")" \
"INFO superset_api GET /api/v1/dashboard/4 200 dashboard_id=4
WARNING superset_api POST /api/v1/dashboard/import slow, retrying dashboard_id=4 retry=1
INFO plugin migrated dashboard 4 dashboard_id=4"
ok "new entry point: plugin and superset_api sources, metadata, status"

# The plugin's return code is the task's status and the runner's exit code.
rc=0
"$TASKLOG" run -q --id dm-fail --config fail_at=2 "$B/examples/dashboard_migration.so" || rc=$?
expect_eq "exit code" "$rc" 3
expect_eq "status" "$(cat "$MNT/tasks/dm-fail/status")" "failed 3"
grep -q "CRITICAL plugin dashboard 2 failed, stopping" "$(L dm-fail level/ERROR+)" ||
	fail "the critical entry is missing"
ok "a failing plugin: status 'failed 3', exit code 3"

# The old signature execute(argc, argv): stdout INFO, stderr ERROR (FR-007).
rc=0
"$TASKLOG" run --id legacy "$B/examples/legacy_export.so" --rows 3 --exit 4 \
	>"$T/legacy.out" 2>"$T/legacy.err" || rc=$?
expect_eq "legacy exit code" "$rc" 4
expect_eq "legacy status" "$(cat "$MNT/tasks/legacy/status")" "failed 4"
expect_eq "stdout entries" "$(cut -d' ' -f2- "$(L legacy level/INFO)")" \
"INFO plugin export started: 3 rows
INFO plugin export finished"
expect_eq "stderr entries" "$(cut -d' ' -f2- "$(L legacy level/ERROR)")" \
	"ERROR plugin row 3 has no owner, exported anyway"
grep -q "export finished" "$T/legacy.out" || fail "stdout was not echoed"
grep -q "row 3 has no owner" "$T/legacy.err" || fail "stderr was not echoed"
ok "old execute(argc, argv): stdout INFO, stderr ERROR, exit code"

# A shell script appending to the mount, with its config in the environment.
"$TASKLOG" run -q --id backup --config target=/srv/www "$EX/backup.sh"
expect_eq "backup status" "$(cat "$MNT/tasks/backup/status")" "succeeded"
expect_eq "storage source" "$(grep -c "INFO storage uploaded part" "$(L backup by-source/storage)")" 3
grep -q "WARNING plugin /srv/www/cache skipped" "$(L backup level/WARNING)" ||
	fail "the [WARNING] tag or the config did not arrive"
grep -q "archive ready bytes=73400320 parts=3" "$(L backup meta/parts/3)" ||
	fail "the JSON line did not arrive"
grep -q "INFO plugin backup of /srv/www finished" "$(L backup all)" ||
	fail "the script's stdout was not captured"
ok "shell script: by-source/, level tags, JSON lines, config"

# Any program: output lines kept whole, however they were written, and a
# line over 128 KiB cut into parts marked "cut"; a last line without \n.
"$TASKLOG" run -q --id printer python3 -c '
import sys, time
sys.stdout.write("first half, "); sys.stdout.flush(); time.sleep(0.2)
sys.stdout.write("second half\n")
sys.stdout.write("x" * 300000 + "\n")
sys.stderr.write("to stderr\nno newline at the end")
'
python3 - "$MNT/tasks/printer/logs/all.jsonl" <<'PY'
import json, sys
entries = [json.loads(l) for l in open(sys.argv[1])]
msgs = [(e["level"], e["message"][:20], e["metadata"]) for e in entries]
assert msgs[0] == ("INFO", "first half, second h", None), msgs[0]
big = [e for e in entries if e["message"].startswith("xxx")]
assert "".join(e["message"] for e in big) == "x" * 300000
assert [e["metadata"]["cut"] for e in big] == [1, 2, 3], [e["metadata"] for e in big]
errors = [e["message"] for e in entries if e["level"] == "ERROR"]
assert errors == ["to stderr", "no newline at the end"], errors
PY
ok "a program's output: lines whole, long lines cut and marked, last line kept"

# A program that cannot be run, and one killed by a signal.
rc=0
"$TASKLOG" run -q --id missing ./no-such-plugin 2>/dev/null || rc=$?
expect_eq "missing plugin exit code" "$rc" 127
expect_eq "missing plugin status" "$(cat "$MNT/tasks/missing/status")" "failed 127"
grep -q "ERROR plugin tasklog: cannot run ./no-such-plugin: No such file or directory" \
	"$(L missing all)" || fail "the reason is not in the task's log"
rc=0
"$TASKLOG" run -q --id noentry "$B/libtasklog.so" 2>/dev/null || rc=$?
expect_eq "no entry point exit code" "$rc" 127
grep -q "exports neither tasklog_execute() nor execute()" "$(L noentry all)" ||
	fail "a shared object without entry point is not explained"
python3 - "$TASKLOG" <<'PY'
import signal, subprocess, sys, time
p = subprocess.Popen([sys.argv[1], "run", "-q", "--id", "sleeper", "sh", "-c",
                      "echo started; exec sleep 30"],
                     preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
time.sleep(0.5)
p.send_signal(signal.SIGTERM)
assert p.wait(timeout=10) == 128 + signal.SIGTERM, p.returncode
PY
expect_eq "signalled status" "$(cat "$MNT/tasks/sleeper/status")" "failed 143"
ok "cannot run: 127 with the reason logged; SIGTERM passed on: failed 143"

# A plugin whose child keeps its output open: the run ends ~2 s after the
# plugin exits, with what it printed.
start=$(date +%s)
"$TASKLOG" run -q --id lingering sh -c "sleep 30 & echo \$! >'$T/child.pid'; echo started a child" 2>"$T/err"
[ $(($(date +%s) - start)) -lt 10 ] || fail "the runner waited for the plugin's child"
grep -q "still holds its output open" "$T/err" || fail "no warning: $(cat "$T/err")"
expect_eq "lingering status" "$(cat "$MNT/tasks/lingering/status")" "succeeded"
grep -q "INFO plugin started a child" "$(L lingering all)" || fail "output lost"
kill "$(cat "$T/child.pid")" 2>/dev/null || true
ok "a plugin's child holding its output: the run ends anyway"

# Existing id, bad id, bad --config.
rc=0
"$TASKLOG" run -q --id dm true 2>"$T/err" || rc=$?
expect_eq "existing id" "$rc" 2
grep -q "task dm exists already" "$T/err" || fail "no reason for an existing id"
rc=0
"$TASKLOG" run -q --id ../x true 2>"$T/err" || rc=$?
expect_eq "bad id" "$rc" 2
rc=0
"$TASKLOG" run -q --config "no value" true 2>"$T/err" || rc=$?
expect_eq "bad config" "$rc" 2
grep -q "want KEY=VALUE" "$T/err" || fail "no reason for a bad --config"
ok "refused: existing id, bad id, bad --config"

# The burst plugin: 20,000 entries from 4 threads in a few seconds, none lost.
"$TASKLOG" run -q --id burst "$B/examples/burst" 20000
python3 - "$MNT/tasks/burst/logs/all.jsonl" <<'PY'
import json, sys
entries = [json.loads(l) for l in open(sys.argv[1])]
ns = sorted(e["metadata"]["n"] for e in entries if e["metadata"])
assert ns == list(range(20000)), (len(ns), ns[:3])
sources = {e["source"] for e in entries}
assert sources == {"plugin", "worker-1", "worker-2", "worker-3"}, sources
PY
ok "burst: 20,000 entries, each exactly once"

# A generated id, ls, tail, rm.
"$TASKLOG" run -q "$B/examples/dashboard_migration.so" 2>/dev/null
ls "$MNT/tasks" | grep -q "^dashboard_migration-[0-9]\{8\}-[0-9]\{6\}-[0-9]*$" ||
	fail "no generated id: $(ls "$MNT/tasks")"
"$TASKLOG" ls >"$T/ls"
grep -q "^dm  *succeeded$" "$T/ls" || fail "ls: $(cat "$T/ls")"
grep -q "^legacy  *failed 4$" "$T/ls" || fail "ls: $(cat "$T/ls")"
expect_eq "tail -n 2" "$("$TASKLOG" tail -n 2 dm | cut -d' ' -f2-)" \
"INFO plugin migrated dashboard 8 dashboard_id=8
INFO plugin all 8 dashboards migrated"
expect_eq "tail with a filter" "$("$TASKLOG" tail -n 1 dm 'source=superset_api&level=WARNING+' | cut -d' ' -f2-)" \
	"WARNING superset_api POST /api/v1/dashboard/import slow, retrying dashboard_id=8 retry=1"
rc=0
"$TASKLOG" tail dm 'level=LOUD' 2>"$T/err" || rc=$?
expect_eq "tail bad filter" "$rc" 1
"$TASKLOG" rm dm legacy
[ ! -e "$MNT/tasks/dm" ] && [ ! -e "$MNT/tasks/legacy" ] || fail "rm left a task"
rc=0
"$TASKLOG" rm dm 2>"$T/err" || rc=$?
grep -q "dm: no such task" "$T/err" || fail "rm of a missing task: $(cat "$T/err")"
ok "ls, tail -n, tail FILTER, rm"

# tail -f follows a running task and ends when it is finished.
"$TASKLOG" run -q --id ticker sh -c 'for i in 1 2 3 4; do echo tick $i; sleep 0.2; done' &
eventually [ -e "$MNT/tasks/ticker/logs/all" ]
timeout 10 "$TASKLOG" tail -f -n 100 ticker >"$T/follow"
expect_eq "tail -f" "$(cut -d' ' -f4- "$T/follow")" "tick 1
tick 2
tick 3
tick 4"
ok "tail -f follows and ends with the task"

stop_daemon
