#!/usr/bin/env bash
# Task lifecycle: mkdir, status, rmdir removes the rows (FR-008); bad names
# get EINVAL and the daemon keeps serving; concurrent writers never mix.
. "$(dirname "$0")/lib.sh"
start_daemon

mkdir "$MNT/tasks/gone"
for i in $(seq 1 100); do echo "entry $i"; done >>"$MNT/tasks/gone/logs/all"
sync "$MNT/tasks/gone/logs/all"
expect_eq "rows" "$(sqlite3 "$DB" "SELECT count(*) FROM task_logs WHERE task_id='gone'")" 100
rmdir "$MNT/tasks/gone"
[ ! -e "$MNT/tasks/gone" ] || fail "task still in the mount"
ls "$MNT/tasks" | grep -qx gone && fail "task still listed"
expect_eq "rows after rmdir" "$(sqlite3 "$DB" "SELECT count(*) FROM task_logs WHERE task_id='gone'")" 0
expect_eq "task row" "$(sqlite3 "$DB" "SELECT count(*) FROM tasks WHERE id='gone'")" 0
ok "rmdir removes the task and its rows"

mkdir "$MNT/tasks/s"
expect_eq "status" "$(cat "$MNT/tasks/s/status")" "running"
echo "bogus" >"$MNT/tasks/s/status" 2>/dev/null && fail "bogus status accepted"
echo succeeded >"$MNT/tasks/s/status"
expect_eq "status" "$(cat "$MNT/tasks/s/status")" "succeeded"
ok "status"

# Bad names: EINVAL, and the daemon keeps serving.
for bad in "tasks/.hidden" "tasks/a b" "tasks/s/logs/level/LOUD" \
	"tasks/s/logs/view/level=LOUD" "tasks/s/logs/view/colour=red" \
	"tasks/s/logs/search/50%" "tasks/s/logs/by-source/no%20way"; do
	out=$(cat "$MNT/$bad" 2>&1) && fail "$bad was accepted"
	case "$out" in *"Invalid argument"*) ;; *) fail "$bad: $out" ;; esac
done
mkdir "$MNT/tasks/..." 2>/dev/null && fail "mkdir of a bad id"
grep -q "level=LOUD" "$T/daemon.log" || fail "no reason logged"
echo "still here" >>"$MNT/tasks/s/logs/all"
grep -q "still here" "$MNT/tasks/s/logs/all" || fail "daemon stopped serving"
ok "bad names get EINVAL, reasons logged, daemon serves on"

# Two tasks written by several processes at once never mix.
mkdir "$MNT/tasks/a" "$MNT/tasks/b"
writers=
for w in 1 2 3 4; do
	(for i in $(seq 1 250); do
		echo "task=a writer=$w n=$i" >>"$MNT/tasks/a/logs/all"
		echo "task=b writer=$w n=$i" >>"$MNT/tasks/b/logs/all"
	done) &
	writers="$writers $!"
done
for pid in $writers; do wait "$pid" || fail "a writer failed"; done
for t in a b; do
	expect_eq "task $t count" "$(grep -c . "$MNT/tasks/$t/logs/all")" 1000
	expect_eq "task $t foreign" "$(grep -vc "task=$t " "$MNT/tasks/$t/logs/all")" 0
	python3 -c 'import json,sys; s=[json.loads(l)["seq"] for l in open(sys.argv[1])]; assert s == list(range(1, 1001))' \
		"$MNT/tasks/$t/logs/all.jsonl"
done
ok "concurrent writers: no mixing, no seq gaps"
stop_daemon
