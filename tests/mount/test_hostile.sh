#!/usr/bin/env bash
# Hostile input: odd names and traversal on the mount and in URLs, huge
# lines, NUL bytes, invalid UTF-8, 10,000 open files, garbage and a flood of
# idle connections on the web port. The daemon stays up, answers the others,
# and refuses with clear errors.
. "$(dirname "$0")/lib.sh"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
HTTP=127.0.0.1:$PORT start_daemon
URL=http://127.0.0.1:$PORT
mkdir "$MNT/tasks/h"
L=$MNT/tasks/h/logs

# Names on the mount: each refused with EINVAL (the daemon logs why) or by
# the kernel, none reaches outside the tree.
refuse() { # refuse WHAT COMMAND...: the command must fail
	if "${@:2}" 2>/dev/null; then fail "accepted: $1"; fi
}
refuse "task .hidden" mkdir "$MNT/tasks/.hidden"
refuse "task with a newline" mkdir "$MNT/tasks/$(printf 'a\nb')"
refuse "task of 129 bytes" mkdir "$MNT/tasks/$(printf 'x%.0s' $(seq 129))"
refuse "task of 300 bytes" mkdir "$MNT/tasks/$(printf 'x%.0s' $(seq 300))"
refuse "source with %2F" sh -c "echo x >> '$L/by-source/a%2Fb'"
refuse "source with a space" sh -c "echo x >> '$L/by-source/a b'"
refuse "level LOUD" cat "$L/level/LOUD+"
refuse "bad percent escape" cat "$L/view/q=%ZZ"
refuse "unknown filter term" cat "$L/view/drop=table"
refuse "write to a view" sh -c "echo x >> '$L/level/INFO+'"
refuse "write to README" sh -c "echo x >> '$MNT/README'"
refuse "file in a missing task" cat "$MNT/tasks/nope/logs/all"
[ -z "$(cat "$L/search/..%2F..%2F..%2Fetc%2Fpasswd")" ] || fail "search/ read a file"
expect_eq "README through .." "$(head -c 10 "$MNT/tasks/../README")" "$(head -c 10 "$MNT/README")"
grep -q "bad_requests [1-9]" "$MNT/stats" || fail "bad requests not counted"
ok "odd names and traversal on the mount: refused, counted"

# URLs: traversal, NUL, invalid UTF-8, huge queries.
code() { curl -s -o /dev/null -w '%{http_code}' --path-as-is "$@" || true; }
expect_eq "traversal" "$(code "$URL/api/tasks/../../etc/passwd")" 404
expect_eq "encoded traversal" "$(code "$URL/api/tasks/%2e%2e%2fetc/logs")" 404
# libwebsockets' URI parser drops a request with %00 before we see it: the
# connection is closed without an answer (curl: 000).
expect_eq "NUL in a filter" "$(code "$URL/api/tasks/h/logs?q=%00")" 000
expect_eq "NUL in a task id" "$(code "$URL/api/tasks/h%00/logs")" 000
expect_eq "bad UTF-8 in a filter" "$(code "$URL/api/tasks/h/logs?q=%ff%fe")" 200
expect_eq "bad level" "$(code "$URL/api/tasks/h/logs?level=%ff")" 400
LONG=$(head -c 20000 /dev/zero | tr '\0' a)
# Over the 4 KiB header cap: libwebsockets closes the connection.
c=$(code "$URL/api/tasks/h/logs?q=$LONG")
case $c in 4* | 000) ;; *) fail "a 20 KB query got $c" ;; esac
# More than 32 query pieces, or one over 1 KiB: refused as a whole, never
# answered for a filter with pieces dropped (REST 400, WebSocket error frame).
MANY=$(python3 -c 'print("&".join("source=s%d" % i for i in range(40)))')
expect_eq "40 query pieces" "$(code "$URL/api/tasks/h/logs?$MANY")" 400
PIECE=$(head -c 1500 /dev/zero | tr '\0' a)
expect_eq "a 1.5 KB piece" "$(code "$URL/api/tasks/h/logs?q=$PIECE")" 400
PYTHONPATH=$(dirname "$0")/../lib python3 - "$PORT" "$MANY" <<'PY'
import sys
from wsclient import WS
ws = WS(int(sys.argv[1]), "/ws/tasks/h/logs?" + sys.argv[2])
assert "at most 32 pieces" in ws.recv()["error"]
PY
expect_eq "still answering" "$(code "$URL/api/tasks")" 200
ok "odd URLs: 404/400/4xx, never a crash"

# Huge lines, NUL bytes, invalid UTF-8: stored as written, nothing lost.
python3 - "$L" <<'PY'
import json, os, sys
logs = sys.argv[1]
fd = os.open(logs + "/all", os.O_WRONLY | os.O_APPEND)
big = b"".join(b"%09d" % i for i in range(600000))          # 5.4 MB, one line
for off in range(0, len(big), 100000):
    os.write(fd, big[off:off + 100000])
os.write(fd, b"\nnul\x00inside\n\xff\xfe invalid utf-8\n")
os.fsync(fd)
os.close(fd)
entries = [json.loads(l) for l in open(logs + "/all.jsonl", encoding="utf-8")]
parts = [e for e in entries if e["metadata"] and "cut" in e["metadata"]]
assert [e["metadata"]["cut"] for e in parts] == list(range(1, len(parts) + 1)), len(parts)
assert "".join(e["message"] for e in parts).encode() == big, "the huge line changed"
assert entries[-2]["message"] == "nul\x00inside", entries[-2]
assert entries[-1]["message"] == "\ufffd\ufffd invalid utf-8", entries[-1]
raw = open(logs + "/level/INFO", "rb").read()
assert b"nul\x00inside" in raw and b"\xff\xfe invalid utf-8" in raw
PY
grep -q "cut_lines [1-9]" "$L/stats" || grep -q "cut_lines [1-9]" "$MNT/stats" ||
	fail "cut lines not counted"
ok "a 5.4 MB line (cut in marked parts), NUL bytes, invalid UTF-8: kept as written"

# 10,000 files open at once (views and writers), then all closed.
python3 - "$MNT" <<'PY'
import os, resource, sys
mnt = sys.argv[1]
hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 20000), hard))
count = min(10000, min(hard, 20000) - 100)   # 10,000 unless the hard limit is lower
fds = []
for i in range(count):
    path = ("/tasks/h/logs/level/INFO+" if i % 2 else "/tasks/h/logs/by-source/many")
    fds.append(os.open(mnt + path, os.O_RDONLY if i % 2 else os.O_WRONLY | os.O_APPEND | os.O_CREAT))
os.write(fds[0], b"written with 10000 files open\n")
assert open(mnt + "/README").read(10)
for fd in fds:
    os.close(fd)
print("ok - %d open files: the daemon answers, nothing lost" % count)
PY
grep -q "written with 10000 files open" "$L/by-source/many" || fail "lost with 10k files open"

# Garbage and a flood of idle connections on the web port: others are
# still served, quickly.
python3 - "$PORT" <<'PY'
import resource, socket, sys, time, urllib.request
port = int(sys.argv[1])
hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 4096), hard))
idle = []
for i in range(900):
    s = socket.create_connection(("127.0.0.1", port))
    if i % 3 == 0:
        s.sendall(b"GET /api/tasks HTTP/1.1\r\n")   # and never the rest
    idle.append(s)
for junk in (b"\x00\xff" * 2000, b"GET / HTTP/1.1\r\n" + b"X: " + b"a" * 10000 + b"\r\n\r\n",
             b"GET /ws/tasks/h/logs HTTP/1.1\r\nUpgrade: websocket\r\n\r\n\x81\xff" + b"\xff" * 64):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(junk)
    idle.append(s)
t = time.monotonic()
with urllib.request.urlopen("http://127.0.0.1:%d/api/tasks" % port, timeout=10) as r:
    assert r.status == 200
elapsed = time.monotonic() - t
assert elapsed < 2, elapsed
print("ok - 900 idle or unfinished connections and garbage: another client served in %.1f ms" % (elapsed * 1000))
for s in idle:
    s.close()
PY
kill -0 "$DAEMON_PID" || fail "the daemon died"
stop_daemon
