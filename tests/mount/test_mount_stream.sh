#!/usr/bin/env bash
# stream/ files: reads wait for new entries, end when the task finishes; poll
# wakes; Ctrl-C ends a blocked read at once.
. "$(dirname "$0")/lib.sh"
start_daemon
mkdir "$MNT/tasks/live"
L=$MNT/tasks/live/logs
echo "before" >>"$L/all"

timeout 20 cat "$L/stream/all" >"$T/stream.out" &
cat_pid=$!
sleep 0.5
kill -0 "$cat_pid" || fail "cat stream/all did not wait"
echo "[WARNING] during" >>"$L/all"
eventually grep -q "WARNING plugin during" "$T/stream.out"
kill -0 "$cat_pid" || fail "cat stream/all ended early"
echo succeeded >"$MNT/tasks/live/status"
wait "$cat_pid" || fail "cat stream/all failed"
expect_eq "streamed" "$(wc -l <"$T/stream.out")" 2
ok "cat stream/all waits, follows, ends with the task"

mkdir "$MNT/tasks/poll"
python3 - "$MNT/tasks/poll/logs" <<'PY'
import os, select, signal, subprocess, sys, threading, time
logs = sys.argv[1]
fd = os.open(logs + "/stream/level/ERROR+", os.O_RDONLY)
p = select.poll()
p.register(fd, select.POLLIN)
assert p.poll(300) == [], "readable with nothing to read"
def later():
    time.sleep(0.3)
    with open(logs + "/all", "a") as f:
        f.write("ERROR: wake up\n")
threading.Thread(target=later).start()
t = time.time()
events = p.poll(5000)
assert events and events[0][1] & select.POLLIN, events
data = os.read(fd, 4096)
assert b"ERROR plugin wake up" in data, data
os.close(fd)
print("ok - poll wakes on a new entry (%.0f ms)" % ((time.time() - t - 0.3) * 1000))

# Ctrl-C ends a blocked read within a second.
def dfl():
    signal.signal(signal.SIGINT, signal.SIG_DFL)
c = subprocess.Popen(["cat", logs + "/stream/all"], stdout=subprocess.DEVNULL, preexec_fn=dfl)
time.sleep(0.5)
assert c.poll() is None, "cat ended on its own"
t = time.time()
c.send_signal(signal.SIGINT)
c.wait(timeout=5)
elapsed = time.time() - t
assert elapsed < 1.0, elapsed
print("ok - SIGINT ends a blocked cat in %.0f ms" % (elapsed * 1000))
PY
stop_daemon
