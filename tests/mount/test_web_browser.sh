#!/usr/bin/env bash
# The page in headless Chromium (tests/browser/page.test.mjs), against a
# running daemon with a small mixed task and a 100k-entry one.
. "$(dirname "$0")/lib.sh"
[ -x /usr/bin/chromium ] || fail "chromium is not installed (scripts/deps.sh installs it)"
[ -d "$ROOT/tests/browser/node_modules/playwright-core" ] ||
	fail "playwright-core is not installed (scripts/deps.sh runs npm ci)"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
HTTP=127.0.0.1:$PORT start_daemon
eventually grep -q "web view on" "$T/daemon.log"

mkdir "$MNT/tasks/mixed" "$MNT/tasks/big"
python3 - "$MNT/tasks" <<'PY'
import json, os, sys
tasks = sys.argv[1]
with open(tasks + "/mixed/logs/all", "a") as f:
    for i in range(60):
        f.write(json.dumps({
            "message": "step %d%s" % (i, " NEEDLE" if i % 20 == 3 else ""),
            "level": ["debug", "info", "warning"][i % 3],
            "source": ["plugin", "superset_api", "system"][i % 4 % 3],
            "metadata": {"dashboard_id": i % 10}}) + "\n")
lines = [json.dumps({"message": "big entry %d" % i, "level": "info",
                     "source": "system" if i % 1000 == 0 else "plugin"}) + "\n"
         for i in range(100000)]
fd = os.open(tasks + "/big/logs/all", os.O_WRONLY | os.O_APPEND)
blob = "".join(lines).encode()
for i in range(0, len(blob), 65536):
    os.write(fd, blob[i:i + 65536])
os.close(fd)
PY

cd "$ROOT/tests/browser"
PORT=$PORT MNT=$MNT SHOTS=$ROOT/build/artifacts node --test 2>&1 | tee "$T/node.out" |
	grep -E "source filter|^# (pass|fail)|^not ok|Error|assert" || true
grep -q "^# fail 0" "$T/node.out" || { cat "$T/node.out" >&2; fail "browser test failed"; }
cd "$ROOT"
ok "the page: task list, INFO+ default, source/search/metadata filters, live append, 100k scroll, permalink, #e anchor, reconnect without gaps, deleted task"
stop_daemon
