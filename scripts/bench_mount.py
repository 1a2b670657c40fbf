#!/usr/bin/env python3
"""make bench, the mount part: lines through FUSE until committed, filtered
reads next to grep on the same lines in a plain file, and write -> stream/
reader latency. Every figure stands next to a baseline run in this script.

usage: bench_mount.py DAEMON BENCH_ENGINE DIR [ENTRIES]
"""
import os
import random
import statistics
import subprocess
import sys
import threading
import time

daemon, bench_engine, root = sys.argv[1:4]
n = int(sys.argv[4]) if len(sys.argv) > 4 else 1000000
mnt = os.path.join(root, "mnt")
os.makedirs(mnt, exist_ok=True)
RARE = "zebra-unicorn"

def lines(count):
    rnd = random.Random(7)
    words = ["migrating", "dashboard", "chart", "dataset", "connection",
             "retry", "exported", "imported", "validated", "cache"]
    levels = ["DEBUG"] * 30 + ["INFO"] * 55 + ["WARNING"] * 10 + ["ERROR"] * 5
    out = []
    for i in range(count):
        rare = RARE + " " if i % (count // 10 or 1) == 7 else ""
        msg = "step %d: " % i + rare + " ".join(rnd.choice(words) for _ in range(11))
        out.append(("[%s] %s\n" % (rnd.choice(levels), msg[:92])).encode())
    return out

def mounted():
    with open("/proc/mounts") as f:
        return any(l.split()[1] == mnt for l in f)

import socket
sock = socket.socket()
sock.bind(("127.0.0.1", 0))
port = sock.getsockname()[1]
sock.close()
proc = subprocess.Popen([daemon, "-f", "-o", "db=%s/bench.db,http=127.0.0.1:%d" % (root, port), mnt],
                        stderr=subprocess.DEVNULL)
try:
    for _ in range(100):
        if mounted() and os.path.exists(mnt + "/README"):
            break
        time.sleep(0.05)
    data = lines(n)
    blob = b"".join(data)
    chunks = [blob[i:i + 65536] for i in range(0, len(blob), 65536)]

    def timed_write(path, pieces):
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        t = time.monotonic()
        for p in pieces:
            os.write(fd, p)
        os.fsync(fd)
        os.close(fd)
        return time.monotonic() - t

    os.mkdir(mnt + "/tasks/big")
    t_mount_64k = timed_write(mnt + "/tasks/big/logs/all", chunks)
    plain = os.path.join(root, "plain.log")
    t_plain_64k = timed_write(plain, chunks)

    small = data[:200000]
    os.mkdir(mnt + "/tasks/lines")
    t_mount_1 = timed_write(mnt + "/tasks/lines/logs/all", small)
    t_plain_1 = timed_write(os.path.join(root, "plain1.log"), small)

    engine_rate = float(subprocess.check_output(
        [bench_engine, root, str(min(n, 1000000)), "ingest"]).decode())

    def run(cmd):
        t = time.monotonic()
        out = subprocess.run(cmd, shell=True, stdout=subprocess.PIPE, check=True).stdout
        return time.monotonic() - t, out

    # The same rendered lines as the mount shows, for grep.
    rendered = os.path.join(root, "rendered.log")
    subprocess.run("cat %s/tasks/big/logs/all > %s" % (mnt, rendered), shell=True, check=True)
    grep_warn = min(run("grep -c -E ' (WARNING|ERROR|CRITICAL) ' " + rendered)[0] for _ in range(2))
    grep_rare = min(run("grep -c -i -F %s %s" % (RARE, rendered))[0] for _ in range(2))
    first_warn, out_w = run("cat %s/tasks/big/logs/level/WARNING+ | wc -l" % mnt)
    again_warn, _ = run("cat %s/tasks/big/logs/level/WARNING+ | wc -l" % mnt)
    first_rare, out_r = run("cat %s/tasks/big/logs/search/%s | wc -l" % (mnt, RARE))
    again_rare, _ = run("cat %s/tasks/big/logs/search/%s | wc -l" % (mnt, RARE))
    want_w = run("grep -c -E ' (WARNING|ERROR|CRITICAL) ' " + rendered)[1]
    assert int(out_w) == int(want_w), (out_w, want_w)

    # REST: one task's 1,000 entries, over one kept-alive connection.
    import http.client
    os.mkdir(mnt + "/tasks/small")
    with open(mnt + "/tasks/small/logs/all", "ab") as f:
        f.write(b"".join(data[:1000]))
        os.fsync(f.fileno())
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    rest = []
    for _ in range(200):
        t = time.monotonic()
        conn.request("GET", "/api/tasks/small/logs?limit=1000")
        body = conn.getresponse().read()
        rest.append((time.monotonic() - t) * 1000)
    conn.close()
    assert body.count(b'"seq"') == 1000
    rest.sort()
    t = time.monotonic()
    for _ in range(20):
        with open(mnt + "/tasks/small/logs/all.jsonl", "rb") as f:
            f.read()
    jsonl_ms = (time.monotonic() - t) / 20 * 1000

    # write -> WebSocket client latency
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "lib"))
    from wsclient import WS
    os.mkdir(mnt + "/tasks/wslive")
    ws = WS(port, "/ws/tasks/wslive/logs?level=DEBUG%2B")
    fd_w = os.open(mnt + "/tasks/wslive/logs/all", os.O_WRONLY | os.O_APPEND)
    ws_lat = []
    for i in range(300):
        t = time.monotonic()
        os.write(fd_w, b"ws ping %d\n" % i)
        got = ws.entries(1)
        ws_lat.append((time.monotonic() - t) * 1000)
        time.sleep(0.002)
    os.close(fd_w)
    ws.close()
    ws_lat.sort()

    # write -> stream/ reader latency
    os.mkdir(mnt + "/tasks/live")
    lat = []
    fd_r = os.open(mnt + "/tasks/live/logs/stream/all", os.O_RDONLY)
    samples = 1000
    def reader():
        got = 0
        buf = b""
        while got < samples:
            chunk = os.read(fd_r, 65536)
            if not chunk:
                break
            now = time.monotonic_ns()
            buf += chunk
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                sent = int(line.rsplit(b" ", 1)[1])
                lat.append((now - sent) / 1e6)
                got += 1
    th = threading.Thread(target=reader)
    th.start()
    fd_w = os.open(mnt + "/tasks/live/logs/all", os.O_WRONLY | os.O_APPEND)
    for i in range(samples):
        os.write(fd_w, b"ping %d\n" % time.monotonic_ns())
        time.sleep(0.002)
    os.close(fd_w)
    with open(mnt + "/tasks/live/status", "w") as f:
        f.write("succeeded\n")
    th.join(timeout=30)
    os.close(fd_r)
    lat.sort()

    rate = lambda count, t: count / t
    print("tasklogfs mount bench: %d lines of ~100 bytes (levels 30/55/10/5 %%)\n" % n)
    print("%-52s %12s %12s %8s" % ("measure", "tasklogfs", "baseline", "ratio"))
    print("%-52s %10.0f/s %10.0f/s %7.2fx" % ("(a) 64 KiB writes until committed (vs engine)",
          rate(n, t_mount_64k), engine_rate, rate(n, t_mount_64k) / engine_rate))
    print("%-52s %10.0f/s %10.0f/s %7.2fx" % ("    same writes to a plain file + fsync",
          rate(n, t_mount_64k), rate(n, t_plain_64k), t_plain_64k / t_mount_64k))
    print("%-52s %10.0f/s %10.0f/s %7.2fx" % ("(b) one write() per line (vs plain file)",
          rate(len(small), t_mount_1), rate(len(small), t_plain_1), t_plain_1 / t_mount_1))
    print("%-52s %9.0f ms %9.0f ms %7.2fx" % ("cat level/WARNING+, first read (vs grep)",
          first_warn * 1000, grep_warn * 1000, first_warn / grep_warn))
    print("%-52s %9.0f ms %9.0f ms %7.2fx" % ("cat level/WARNING+, read again",
          again_warn * 1000, grep_warn * 1000, again_warn / grep_warn))
    print("%-52s %9.0f ms %9.0f ms %7.2fx" % ("cat search/%s, first read (vs grep -i)" % RARE,
          first_rare * 1000, grep_rare * 1000, first_rare / grep_rare))
    print("%-52s %9.0f ms %9.0f ms %7.2fx" % ("cat search/%s, read again" % RARE,
          again_rare * 1000, grep_rare * 1000, again_rare / grep_rare))
    print("%-52s %9.2f ms %9.2f ms %7.2fx" % ("REST: one task's 1,000 entries p50 (vs cat all.jsonl)",
          rest[100], jsonl_ms, rest[100] / jsonl_ms))
    print("%-52s %9.2f ms" % ("REST: one task's 1,000 entries p99", rest[197]))
    print("%-52s %9.2f ms" % ("write -> WebSocket client latency p50", ws_lat[150]))
    print("%-52s %9.2f ms   (300 samples)" % ("write -> WebSocket client latency p99", ws_lat[296]))
    if lat:
        print("%-52s %9.2f ms" % ("write -> stream/ reader latency p50", statistics.median(lat)))
        print("%-52s %9.2f ms   (%d samples)" % ("write -> stream/ reader latency p99",
              lat[int(len(lat) * 0.99) - 1], len(lat)))
finally:
    subprocess.run(["fusermount3", "-u", mnt])
    proc.wait(timeout=60)
