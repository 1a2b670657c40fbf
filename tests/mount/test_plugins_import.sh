#!/usr/bin/env bash
# `tasklog run --import FILE[:SOURCE]` follows a log file a legacy plugin
# writes on its own: across rotation (rename + new file, and writes to the
# old file after the rename), across truncation, until the plugin exits and
# the file is drained. Every line arrives exactly once.
. "$(dirname "$0")/lib.sh"
start_daemon

# The old-signature example rotates its log every 50 rows (about 50 ms):
# 250 rows make five files, of which only the last two are still on disk at
# the end.
"$TASKLOG" run -q --id rotating --import "$T/export.log:legacy" \
	"$B/examples/legacy_export.so" --rows 250 --log "$T/export.log" \
	--rotate 50 --delay-ms 1
python3 - "$(L rotating by-source/legacy)" <<'PY'
import sys
lines = open(sys.argv[1]).read().splitlines()
rows = sorted(int(l.rsplit(" ", 1)[1]) for l in lines)
assert rows == list(range(1, 251)), (len(rows), rows[:5])
warnings = [l for l in lines if " WARNING legacy exported row " in l]
assert len(warnings) == 25, len(warnings)   # "WARNING:" tags became levels
PY
ok "rotation by the plugin every 50 rows: 250 of 250 rows, levels from tags"

# logrotate without copytruncate: the file is renamed, the plugin goes on
# writing to the old one for a while, then opens a new one.
cat >"$T/rotating.sh" <<'EOF'
#!/bin/sh
log=$1
exec 3>>"$log"
echo "INFO: one" >&3
sleep 0.3
mv "$log" "$log.1"
echo "INFO: two, to the renamed file" >&3
sleep 0.3
exec 3>>"$log"
echo "ERROR: three, to the new file" >&3
sleep 0.3
printf "four, without a newline" >&3
EOF
chmod +x "$T/rotating.sh"
"$TASKLOG" run -q --id logrotate --import "$T/app.log" "$T/rotating.sh" "$T/app.log"
expect_eq "rename rotation" "$(cut -d' ' -f2- "$(L logrotate by-source/plugin)")" \
"INFO plugin one
INFO plugin two, to the renamed file
ERROR plugin three, to the new file
INFO plugin four, without a newline"
ok "rename + new file, writes to the old file after the rename, last line without newline"

# copytruncate: the file is copied and truncated in place; reading starts
# again from its beginning. Lines in the file before the run are not taken.
echo "from an earlier run" >"$T/trunc.log"
cat >"$T/truncating.sh" <<'EOF'
#!/bin/sh
log=$1
echo "before truncation" >>"$log"
sleep 0.3
cp "$log" "$log.1" && : >"$log"
sleep 0.3
echo "after truncation" >>"$log"
sleep 0.3
EOF
chmod +x "$T/truncating.sh"
"$TASKLOG" run -q --id truncated --import "$T/trunc.log:app" "$T/truncating.sh" "$T/trunc.log"
expect_eq "truncation" "$(cut -d' ' -f4- "$(L truncated by-source/app)")" \
"before truncation
after truncation"
ok "truncation (copytruncate); an existing file is followed from its end"

# A file in a folder that does not exist is refused before the plugin runs.
rc=0
"$TASKLOG" run -q --id nodir --import "$T/no/such/dir/x.log" true 2>"$T/err" || rc=$?
expect_eq "import into a missing folder" "$rc" 2
grep -q "cannot watch $T/no/such/dir" "$T/err" || fail "no reason: $(cat "$T/err")"
ok "--import of a file in a missing folder: refused with the reason"

stop_daemon
