#!/usr/bin/env bash
# The WebSocket feed: backlog then live, filter changes, resuming with
# after=, a stalled client that delays nobody, errors as frames.
. "$(dirname "$0")/lib.sh"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
HTTP=127.0.0.1:$PORT start_daemon
eventually grep -q "web view on" "$T/daemon.log"
mkdir "$MNT/tasks/live"
L=$MNT/tasks/live/logs
for i in $(seq 1 100); do
	echo "plugin line $i" >>"$L/all"
	echo "api line $i" >>"$L/by-source/superset_api"
done

PYTHONPATH=$(dirname "$0")/../lib python3 - "$PORT" "$L" "$MNT/tasks/live/status" <<'PY'
import os, socket, sys, time
from wsclient import WS
port, logs, status = int(sys.argv[1]), sys.argv[2], sys.argv[3]

def append(path, text):
    with open(path, "a") as f:
        f.write(text + "\n")

# US1: a source filter, the backlog, then only matching new entries, live.
ws = WS(port, "/ws/tasks/live/logs?source=superset_api")
assert ws.status == 101, ws.status
backlog = ws.entries(100)
assert [e["message"] for e in backlog] == ["api line %d" % i for i in range(1, 101)]
append(logs + "/all", "plugin must not show")
t = time.monotonic()
append(logs + "/by-source/superset_api", "api live")
live = ws.entries(1)
assert [e["message"] for e in live] == ["api live"], live
print("ok - backlog, then live superset_api entries only (%.1f ms)" % ((time.monotonic() - t) * 1000))

# A filter change without reconnecting.
ws.send({"filter": "q=LINE%2099"})
frame = ws.recv()
assert frame == {"reset": True, "filter": "q=LINE%2099"}, frame
assert [e["message"] for e in ws.entries(2)] == ["plugin line 99", "api line 99"]
ws.send({"filter": "level=LOUD"})
assert "LOUD" in ws.recv()["error"]
print("ok - {\"filter\": …} resets; a bad one is an error frame")
ws.close()

# Resume with after=: no gap, no duplicate.
ws = WS(port, "/ws/tasks/live/logs?after=150")
first = ws.entries(52)
assert [e["seq"] for e in first] == list(range(151, 203)), [e["seq"] for e in first][:5]
ws.close()
print("ok - after= resumes exactly")

# A stalled client (never reads) does not delay another one.
slow = WS(port, "/ws/tasks/live/logs", rcvbuf=4096)
fast = WS(port, "/ws/tasks/live/logs?source=system")
with open(logs + "/all", "a") as f:
    for i in range(20000):
        f.write("flood %d %s\n" % (i, "x" * 80))
t = time.monotonic()
append(logs + "/by-source/system", "for the fast one")
assert [e["message"] for e in fast.entries(1, timeout=5)] == ["for the fast one"]
print("ok - a stalled client delays nobody (%.1f ms)" % ((time.monotonic() - t) * 1000))
got = slow.entries(202 + 20000 + 1, timeout=30)
assert [e["seq"] for e in got] == list(range(1, 20204)), "the slow client lost entries"
slow.close()
print("ok - the stalled client then gets every entry, in order")

# Errors: bad filter or task in the URL, foreign Origin.
ws = WS(port, "/ws/tasks/live/logs?level=LOUD")
assert "LOUD" in ws.recv()["error"]
ws = WS(port, "/ws/tasks/nope/logs")
assert "error" in ws.recv()
bad = WS(port, "/ws/tasks/live/logs", origin="http://evil.example")
assert bad.status != 101, bad.status
print("ok - bad filter, missing task: error frames; foreign Origin refused")

with open(status, "w") as f:
    f.write("succeeded\n")
assert fast.recv() == {"status": "succeeded"}
print("ok - the end of the task is announced")
PY
stop_daemon
