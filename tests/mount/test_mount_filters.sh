#!/usr/bin/env bash
# grep -c on every kind of view equals what was written (FR-005, FR-011).
. "$(dirname "$0")/lib.sh"
start_daemon

mkdir "$MNT/tasks/mix"
L=$MNT/tasks/mix/logs
# 600 lines: levels, sources, a rare term and metadata in known proportions.
python3 - "$L" >"$T/expected" <<'PY'
import json, sys
logs = sys.argv[1]
levels = ["DEBUG", "INFO", "INFO", "WARNING", "ERROR", "CRITICAL"]
sources = ["plugin", "superset_api", "system"]
count = {}
def bump(k):
    count[k] = count.get(k, 0) + 1
with open(logs + "/all", "a") as f:
    for i in range(600):
        level, source = levels[i % 6], sources[i % 5 % 3]
        entry = {"message": "step %d %s" % (i, "Timeout talking to db" if i % 50 == 0 else "fine"),
                 "level": level, "source": source}
        if i % 4 == 0:
            entry["metadata"] = {"dashboard_id": i % 3, "database_uuid": "u-%d" % (i % 2)}
            bump("meta:dashboard_id=%d" % (i % 3))
        f.write(json.dumps(entry) + "\n")
        bump("level:" + level)
        bump("source:" + source)
        if i % 50 == 0:
            bump("q:timeout")
        rank = ["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"].index(level)
        if rank >= 2:
            bump("warn+")
            if source == "plugin" and i % 50 == 0:
                bump("combo")
for k in sorted(count):
    print(k, count[k])
PY
want() { awk -v k="$1" '$1 == k { print $2 }' "$T/expected"; }

expect_eq "all" "$(grep -c . "$L/all")" 600
expect_eq "all.jsonl" "$(grep -c '"seq"' "$L/all.jsonl")" 600
for level in DEBUG INFO WARNING ERROR CRITICAL; do
	expect_eq "level/$level" "$(grep -c . "$L/level/$level")" "$(want "level:$level")"
done
expect_eq "level/WARNING+" "$(grep -c . "$L/level/WARNING+")" "$(want warn+)"
expect_eq "level/DEBUG+" "$(grep -c . "$L/level/DEBUG+")" 600
ok "level/"
for s in plugin superset_api system; do
	expect_eq "by-source/$s" "$(grep -c . "$L/by-source/$s")" "$(want "source:$s")"
done
expect_eq "by-source listing" "$(ls "$L/by-source" | tr '\n' ' ')" "plugin superset_api system "
ok "by-source/"
expect_eq "search/timeout" "$(grep -c . "$L/search/timeout")" "$(want q:timeout)"
expect_eq "search/TIMEOUT TALKING" "$(grep -c . "$L/search/TIMEOUT TALKING")" "$(want q:timeout)"
expect_eq "search with %20" "$(grep -c . "$L/search/talking%20to")" "$(want q:timeout)"
expect_eq "grep agrees" "$(grep -ci timeout "$L/all")" "$(want q:timeout)"
ok "search/"
for v in 0 1 2; do
	expect_eq "meta/dashboard_id/$v" "$(grep -c . "$L/meta/dashboard_id/$v")" "$(want "meta:dashboard_id=$v")"
done
expect_eq "meta keys" "$(ls "$L/meta" | tr '\n' ' ')" "dashboard_id database_uuid "
expect_eq "meta values" "$(ls "$L/meta/dashboard_id" | tr '\n' ' ')" "0 1 2 "
grep -q "dashboard_id=0 database_uuid=u-0" "$L/meta/dashboard_id/0" || fail "metadata not rendered"
ok "meta/"
expect_eq "view combo" "$(grep -c . "$L/view/level=WARNING+&source=plugin&q=timeout")" "$(want combo)"
expect_eq "view canonical twin" "$(cat "$L/view/q=Timeout&source=plugin&level=warn+" | md5sum)" \
	"$(cat "$L/view/level=WARNING+&source=plugin&q=timeout" | md5sum)"
expect_eq "view meta" "$(grep -c . "$L/view/meta.dashboard_id=1&meta.database_uuid=u-1")" \
	"$(grep -c "dashboard_id=1 database_uuid=u-1" "$L/all")"
ok "view/"
echo succeeded >"$MNT/tasks/mix/status"
expect_eq "stream twin" "$(timeout 5 cat "$L/stream/level/ERROR" | md5sum)" "$(cat "$L/level/ERROR" | md5sum)"
ok "stream/ twin ends once the task is finished"
# tail -n on a view reads from the end, and the bytes agree with cat.
expect_eq "tail -n 5" "$(tail -n 5 "$L/level/INFO+")" "$(cat "$L/level/INFO+" | tail -n 5)"
dd if="$L/all" bs=1 skip=1000 count=300 status=none >"$T/slice"
expect_eq "random access" "$(md5sum <"$T/slice")" "$(cut -b 1001-1300 <<<"$(cat "$L/all" | tr '\n' '\1')" | tr '\1' '\n' | head -c 300 | md5sum)"
ok "tail -n and random access"
stop_daemon
