#!/usr/bin/env bash
# A Python program logs JSON lines with metadata and reads them back.
. "$(dirname "$0")/lib.sh"
start_daemon
mkdir "$MNT/tasks/py"

python3 - "$MNT/tasks/py" <<'PY'
import json, os, sys
task = sys.argv[1]
with open(task + "/logs/all", "a") as f:
    for i in range(20):
        f.write(json.dumps({"message": "migrated dashboard %d" % i,
                            "level": "info" if i % 5 else "warning",
                            "source": "superset_api",
                            "metadata": {"dashboard_id": i, "database_uuid": "db-%d" % (i % 2)},
                            "timestamp": "2026-12-04T10:00:%02d.250Z" % i}) + "\n")
    f.write('{"message": "multi\\nline", "source": "plugin"}\n')
    f.write('{"message": broken json\n')
    f.write("plain text from python\n")
    f.flush()
    os.fsync(f.fileno())

# meta/<key>/<value> holds exactly the entries with that value.
with open(task + "/logs/meta/dashboard_id/7") as f:
    lines = f.read().splitlines()
assert len(lines) == 1, lines
assert lines[0] == "2026-12-04T10:00:07.250Z INFO superset_api migrated dashboard 7 dashboard_id=7 database_uuid=db-1", lines[0]
with open(task + "/logs/meta/database_uuid/db-0") as f:
    assert len(f.read().splitlines()) == 10

# all.jsonl gives the same entries as machines want them.
with open(task + "/logs/all.jsonl") as f:
    entries = [json.loads(line) for line in f]
assert len(entries) == 23, len(entries)
assert [e["seq"] for e in entries] == list(range(1, 24))
assert entries[0]["metadata"] == {"dashboard_id": 0, "database_uuid": "db-0"}
assert entries[0]["level"] == "WARNING" and entries[1]["level"] == "INFO"
assert entries[3]["timestamp"] == "2026-12-04T10:00:03.250Z"
assert entries[20]["message"] == "multi\nline" and entries[20]["source"] == "plugin"
assert entries[21]["message"] == '{"message": broken json' and entries[21]["metadata"] is None
assert entries[22]["message"] == "plain text from python"

# A multi-line message continues with a tab on the text side.
with open(task + "/logs/all") as f:
    text = f.read()
assert "plugin multi\n\tline\n" in text

with open(task + "/task.json") as f:
    record = json.load(f)
assert record["entries"] == 23 and record["sources"]["superset_api"] == 20
assert record["meta_keys"] == ["dashboard_id", "database_uuid"]
assert record["levels"]["WARNING"] == 4
print("ok - python round trip through meta/ and all.jsonl")
PY
grep -qx "bad_json 1" "$MNT/stats" || fail "bad JSON not counted: $(cat "$MNT/stats")"
ok "malformed JSON kept as text and counted"

# Invalid UTF-8 is kept in text and replaced only in JSON.
printf 'bytes \xff\xfe end\n' >>"$MNT/tasks/py/logs/all"
grep -a -q $'bytes \xff\xfe end' "$MNT/tasks/py/logs/all" || fail "bytes changed in text"
tail -n 1 "$MNT/tasks/py/logs/all.jsonl" | python3 -c 'import json,sys; assert json.loads(sys.stdin.read())["message"] == "bytes \ufffd\ufffd end"'
ok "invalid UTF-8"

# A line over 1 MiB is cut into parts, nothing lost.
python3 -c 'import sys; sys.stdout.write("x" * (1024 * 1024 + 10) + "\n")' >>"$MNT/tasks/py/logs/all"
expect_eq "parts" "$(grep -c '"cut"' "$MNT/tasks/py/logs/all.jsonl")" 2
expect_eq "bytes kept" "$(tail -n 2 "$MNT/tasks/py/logs/all" | tr -cd x | wc -c)" $((1024 * 1024 + 10))
ok "1 MiB cut"
stop_daemon
