#!/usr/bin/env bash
# Appending with echo, reading with cat and tail -f, and what may not be
# written.
. "$(dirname "$0")/lib.sh"
start_daemon

mkdir "$MNT/tasks/job1"
L=$MNT/tasks/job1/logs
echo "first line" >>"$L/all"
echo "[ERROR] second line" >>"$L/all"
expect_eq "entries" "$(wc -l <"$L/all")" 2
grep -q "INFO plugin first line$" "$L/all" || fail "cat does not show the line"
grep -q "ERROR plugin second line$" "$L/all" || fail "level tag not taken"
ok "echo >> then cat"

# The size is exact, and only grows.
size=$(stat -c %s "$L/all")
expect_eq "size" "$size" "$(cat "$L/all" | wc -c)"
echo "third" >>"$L/all"
[ "$(stat -c %s "$L/all")" -gt "$size" ] || fail "size did not grow"
ok "exact size"

# tail -f sees lines appended after it started.
tail -n 3 -f -s 0.2 "$L/all" >"$T/tail.out" &
tail_pid=$!
sleep 0.5
for i in 1 2 3; do echo "live $i" >>"$L/all"; done
eventually grep -q "live 3" "$T/tail.out"
kill "$tail_pid"
wait "$tail_pid" 2>/dev/null || true
expect_eq "tail lines" "$(wc -l <"$T/tail.out")" 6
head -1 "$T/tail.out" | grep -q "first line" || fail "tail -n 3 started wrong"
ok "tail -n 3 -f -s 0.2 follows"

# A partial line waits until close; `>` appends too.
printf "no newline" >>"$L/all"
grep -q "plugin no newline$" "$L/all" || fail "unfinished line lost at close"
echo "with truncate" >"$L/all"
grep -q "first line" "$L/all" || fail "> truncated the log"
grep -q "with truncate" "$L/all" || fail "> did not append"
ok "partial line at close, > appends"

# Views are read-only; tasks need mkdir first.
if echo x 2>/dev/null >>"$L/level/INFO+"; then fail "wrote to a view"; fi
if echo x 2>/dev/null >>"$MNT/tasks/nope/logs/all"; then fail "wrote to a missing task"; fi
if rm "$L/all" 2>/dev/null; then fail "removed a log file"; fi
ok "views and missing tasks refuse writes"

# by-source files: creating one declares the source.
[ ! -e "$L/by-source/api" ] || fail "undeclared source exists"
touch "$L/by-source/api"
ls "$L/by-source" | grep -qx api || fail "declared source not listed"
echo "from api" >>"$L/by-source/api"
grep -q "INFO api from api$" "$L/all" || fail "by-source default source"
ok "by-source/<s> declares and writes"

# less and grep read the same bytes.
expect_eq "less" "$(less -FX "$L/all" | wc -l)" "$(wc -l <"$L/all")"
ls -l "$MNT/tasks/job1/logs/all" | grep -q -- "-rw-r--r--" || fail "mode"
ok "less"

stop_daemon
ok "clean exit"
