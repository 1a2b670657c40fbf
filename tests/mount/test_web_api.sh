#!/usr/bin/env bash
# The REST API over a real socket, against a running daemon, next to the
# mount: the same entries, the same filters.
. "$(dirname "$0")/lib.sh"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
HTTP=127.0.0.1:$PORT start_daemon
eventually grep -q "web view on http://127.0.0.1:$PORT/" "$T/daemon.log"

mkdir "$MNT/tasks/web"
python3 - "$MNT/tasks/web/logs/all" <<'PY'
import json, sys
with open(sys.argv[1], "a") as f:
    for i in range(2500):
        f.write(json.dumps({"message": "row %d%s" % (i, " timeout" if i % 100 == 0 else ""),
                            "level": ["debug", "info", "warning", "error"][i % 4],
                            "source": ["plugin", "superset_api"][i % 2],
                            "metadata": {"dashboard_id": i % 10}}) + "\n")
PY
printf 'raw \xff\xfe bytes\n' >>"$MNT/tasks/web/logs/all"

python3 - "$PORT" "$MNT/tasks/web/logs" <<'PY'
import json, sys, urllib.error, urllib.request
port, logs = sys.argv[1], sys.argv[2]
base = "http://127.0.0.1:%s" % port

def get(path, headers=None):
    req = urllib.request.Request(base + path, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())

status, tasks = get("/api/tasks")
assert status == 200 and [t["id"] for t in tasks] == ["web"], tasks
status, record = get("/api/tasks/web")
assert record["entries"] == 2501 and record["sources"]["superset_api"] == 1250, record

# Paging with next= walks the whole filtered set, and agrees with the mount.
seen, after = [], 0
while True:
    status, page = get("/api/tasks/web/logs?level=WARNING%%2B&source=superset_api&limit=300&after=%d" % after)
    assert status == 200, page
    seen += page["entries"]
    if page["next"] is None:
        break
    after = page["next"]
with open(logs + "/view/level=WARNING+&source=superset_api") as f:
    mount_lines = f.read().splitlines()
assert len(seen) == len(mount_lines) == 625, (len(seen), len(mount_lines))
assert all(e["level"] in ("WARNING", "ERROR", "CRITICAL") and e["source"] == "superset_api" for e in seen)
assert [e["seq"] for e in seen] == sorted(set(e["seq"] for e in seen))
print("ok - paging with next= matches the mount's view/ (625 entries)")

status, page = get("/api/tasks/web/logs?q=TIMEOUT&meta.dashboard_id=0")
assert status == 200 and len(page["entries"]) == 25, len(page["entries"])
status, page = get("/api/tasks/web/logs?level=INFO+&limit=1")   # a form-encoded +
assert status == 200 and page["entries"][0]["level"] == "INFO", page
status, page = get("/api/tasks/web/logs?after=2500")
assert [e["message"] for e in page["entries"]][-1] == "raw \ufffd\ufffd bytes", page
print("ok - search, metadata, level+, invalid UTF-8 as valid JSON")

for path, want in [("/api/tasks/web/logs?level=LOUD", 400), ("/api/tasks/web/logs?colour=red", 400),
                   ("/api/tasks/nope/logs", 404), ("/api/tasks/.x", 400), ("/nowhere", 404),
                   ("/api/tasks/web/logs?limit=999999", 400)]:
    status, body = get(path)
    assert status == want and "error" in body, (path, status, body)
status, body = get("/api/tasks", {"Host": "evil.example:80"})
assert status == 421, status
status, body = get("/api/tasks", {"Origin": "http://evil.example"})
assert status == 403, status
print("ok - errors as JSON with 400/404; foreign Host 421, foreign Origin 403")
PY
stop_daemon
ok "clean exit with the web view running"

# Beyond loopback the web view needs a token (traffic here stays on 127.0.0.1).
HTTP=0.0.0.0:$PORT start_daemon
eventually grep -q "beyond loopback, -o token= of 16+ characters is needed" "$T/daemon.log"
stop_daemon
TOKEN=0123456789abcdef-secret
HTTP=0.0.0.0:$PORT start_daemon -o "token=$TOKEN"
eventually grep -q "web view on http://0.0.0.0:$PORT/" "$T/daemon.log"
PYTHONPATH=$(dirname "$0")/../lib python3 - "$PORT" "$TOKEN" <<'PY'
import json, sys, urllib.error, urllib.request
from wsclient import WS
port, token = int(sys.argv[1]), sys.argv[2]
def status(path, headers={}):
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (port, path), headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
assert status("/api/tasks") == 401
assert status("/api/tasks", {"Authorization": "Bearer wrong"}) == 401
assert status("/api/tasks", {"Authorization": "Bearer " + token}) == 200
assert status("/api/tasks?token=" + token) == 200
assert status("/api/tasks/web/logs?level=INFO%2B&token=" + token) == 200
assert status("/?token=" + token) == 200
assert WS(port, "/ws/tasks/web/logs").status != 101
ws = WS(port, "/ws/tasks/web/logs?token=%s&limit=5" % token)
assert ws.status == 101 and len(ws.entries(5)) >= 5
print("ok - beyond loopback: token required (Bearer or ?token=), on HTTP and WebSocket")
PY
stop_daemon
