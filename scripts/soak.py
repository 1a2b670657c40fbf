#!/usr/bin/env python3
"""soak.py - load, crash and database-fault testing of a real daemon.

    soak.py [--seconds S] [--tasks N] [--writers W] [--readers R] [--ws C]
            [--crash K | --sigterm] [--fault full|readonly|lock]
            [--fault-seconds F] [--rss-mb M] [--json FILE]

Mounts a fresh tasklogfs, creates N tasks, and for S seconds:
- W writer processes append batches of lines to the tasks' logs/all, each
  line "task=<id> writer=<w> n=<counter>"; every few batches they fsync.
  Each writer keeps a journal: which lines went to which task, and whether
  write() returned (accepted) and fsync() returned (committed).
- R readers follow logs/stream/all of a task and check every line they see
  belongs to that task; C WebSocket clients do the same over /ws.
- The daemon's RSS is sampled; it must stay under M MiB.
- --crash K: kill -9 the daemon K times at random moments and mount again.
- --sigterm: SIGTERM the daemon once during the load and mount again.
- --fault: put the database on a small tmpfs and fill it (full), make its
  files immutable with chattr +i (readonly), or hold its write lock from
  another process (lock), for F seconds in the middle of the load.

At the end the tasks are finished, the daemon stopped, and the database is
read directly: every committed line must be there exactly once, every
accepted line too unless the daemon was killed, no line more than once, no
line in the wrong task, and PRAGMA integrity_check must say ok. Prints the
figures (and writes them as JSON with --json); exits 1 if anything failed.
"""
import argparse
import json
import multiprocessing
import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "lib"))
from wsclient import WS  # noqa: E402

LINE = re.compile(r"task=(\S+) writer=(\d+) n=(\d+)")


def free_port():
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def mounted(mnt):
    with open("/proc/mounts") as f:
        return (" %s fuse" % mnt) in f.read()


class Daemon:
    def __init__(self, binary, mnt, db, port, log, mem_max):
        self.binary, self.mnt, self.db, self.port = binary, mnt, db, port
        self.log, self.mem_max = log, mem_max
        self.proc = None
        self.starts = 0

    def start(self):
        opts = "db=%s,flush_ms=500,http=127.0.0.1:%d" % (self.db, self.port)
        if self.mem_max:
            opts += ",mem_max=%d" % self.mem_max
        out = open(self.log, "a")
        self.proc = subprocess.Popen([self.binary, "-f", "-o", opts, self.mnt],
                                     stdout=out, stderr=out)
        t = time.monotonic()
        while not os.path.exists(os.path.join(self.mnt, "README")):
            if self.proc.poll() is not None or time.monotonic() - t > 20:
                raise SystemExit("soak: the daemon did not mount; see %s" % self.log)
            time.sleep(0.02)
        self.starts += 1
        return time.monotonic() - t

    def kill(self, sig):
        self.proc.send_signal(sig)
        return self.proc.wait()


def close_all(fds):
    """Closes every descriptor; one of a dead mount may fail to close."""
    for fd in fds.values():
        try:
            os.close(fd)
        except OSError:
            pass


def writer_main(w, mnt, tasks, stop_at, fsync_every, journal_path, seed):
    """One writer process: batches of lines, round robin over the tasks."""
    rng = random.Random(seed)
    fds, journal, unsynced = {}, [], []
    n = 0
    i = w
    while time.time() < stop_at:
        task = tasks[i % len(tasks)]
        i += 1
        count = rng.randint(1, 20)
        data = "".join("task=%s writer=%d n=%d\n" % (task, w, n + k)
                       for k in range(count)).encode()
        batch = [task, n, n + count - 1, "sent"]
        n += count
        try:
            if task not in fds:
                fds[task] = os.open(os.path.join(mnt, "tasks", task, "logs", "all"),
                                    os.O_WRONLY | os.O_APPEND)
            os.write(fds[task], data)
            batch[3] = "accepted"
            unsynced.append(batch)
            if fsync_every and len(unsynced) >= fsync_every:
                for t in {b[0] for b in unsynced}:
                    os.fsync(fds[t])
                for b in unsynced:
                    b[3] = "committed"
                unsynced = []
        except OSError:
            # The daemon is gone. Lines accepted but not fsynced are there
            # after a clean stop, maybe not after kill -9; the batch whose
            # write failed may be there in part. Wait for the mount to come
            # back and go on.
            unsynced = []
            if batch[3] == "sent":
                batch[3] = "unknown"
            close_all(fds)
            fds = {}
            while time.time() < stop_at + 30:
                try:
                    if os.path.exists(os.path.join(mnt, "tasks", task, "logs", "all")):
                        break
                except OSError:
                    pass
                time.sleep(0.05)
        journal.append(batch)
    # The end: what was accepted is committed now, or stays "accepted" (as
    # when a write fails in the loop above).
    try:
        for fd in fds.values():
            os.fsync(fd)
        for b in unsynced:
            b[3] = "committed"
    except OSError:
        pass
    close_all(fds)
    with open(journal_path, "w") as f:
        json.dump(journal, f)


def stream_reader(mnt, task, result, stop):
    """Follows stream/all; every line must be this task's."""
    seen = wrong = 0
    while not stop.is_set():
        try:
            with open(os.path.join(mnt, "tasks", task, "logs", "stream", "all"), "rb") as f:
                for raw in f:
                    m = LINE.search(raw.decode("utf-8", "replace"))
                    seen += 1
                    if not m or m.group(1) != task:
                        wrong += 1
                break  # end of file: the task is finished and all was read
        except OSError:
            time.sleep(0.1)  # the daemon was killed; read again from the start
    result.append((task, seen, wrong))


def ws_reader(port, task, result, stop):
    """Follows the task over WebSocket, resuming with after= on a new daemon."""
    seen = wrong = 0
    after = 0
    done = False
    while not done and not stop.is_set():
        try:
            ws = WS(port, "/ws/tasks/%s/logs?after=%d" % (task, after), timeout=60)
            if ws.status != 101:
                time.sleep(0.1)
                continue
            while True:
                frame = ws.recv()
                if "status" in frame:
                    done = True
                    break
                for e in frame.get("entries", [frame] if "seq" in frame else []):
                    seen += 1
                    after = max(after, e["seq"])
                    m = LINE.search(e["message"])
                    if e.get("task_id", task) != task or not m or m.group(1) != task:
                        wrong += 1
        except (OSError, EOFError, ValueError, KeyError):
            time.sleep(0.1)
    result.append((task, seen, wrong))


def read_stats(mnt):
    try:
        with open(os.path.join(mnt, "stats")) as f:
            return dict(line.split(None, 1) for line in f if line.strip())
    except OSError:
        return {}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--daemon", default=os.path.join(HERE, "..", "build", "tasklogfs"))
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--tasks", type=int, default=50)
    ap.add_argument("--writers", type=int, default=4)
    ap.add_argument("--readers", type=int, default=10)
    ap.add_argument("--ws", type=int, default=10)
    ap.add_argument("--crash", type=int, default=0)
    ap.add_argument("--sigterm", action="store_true")
    ap.add_argument("--fault", choices=["full", "readonly", "lock"])
    ap.add_argument("--fault-seconds", type=float, default=5)
    ap.add_argument("--tmpfs-mb", type=int, default=1024,
                    help="size of the database's tmpfs for --fault full")
    ap.add_argument("--fsync-every", type=int, default=20,
                    help="batches between fsyncs; 0: only at the end")
    ap.add_argument("--rss-mb", type=int, default=600)
    ap.add_argument("--mem-max-mb", type=int, default=0)
    ap.add_argument("--json")
    args = ap.parse_args()
    daemon_bin = os.path.abspath(args.daemon)

    # chattr +i needs a disk file system; /tmp may be a tmpfs.
    work = tempfile.mkdtemp(prefix="tl-soak-",
                            dir="/var/tmp" if args.fault == "readonly" else None)
    mnt = os.path.join(work, "mnt")
    os.makedirs(mnt)
    dbdir = os.path.join(work, "db")
    os.makedirs(dbdir)
    if args.fault == "full":
        # Room for the database to grow once the filler is gone; filling
        # it takes a moment, more on a busy machine.
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%dm" % args.tmpfs_mb, "tmpfs",
                        dbdir], check=True)
    db = os.path.join(dbdir, "tasklog.db")
    port = free_port()
    d = Daemon(daemon_bin, mnt, db, port, os.path.join(work, "daemon.log"),
               args.mem_max_mb << 20)
    figures = {"mode": args.fault or ("crash" if args.crash else "sigterm" if args.sigterm else "load"),
               "seconds": args.seconds, "tasks": args.tasks, "writers": args.writers,
               "readers": args.readers, "ws_clients": args.ws,
               "fault_seconds": args.fault_seconds if args.fault else 0,
               "crashes": args.crash}
    failures = []
    stop = threading.Event()
    try:
        d.start()
        tasks = ["soak-%02d" % i for i in range(args.tasks)]
        for t in tasks:
            os.mkdir(os.path.join(mnt, "tasks", t))

        rss_max = [0]

        def sample_rss():
            while not stop.is_set():
                try:
                    with open("/proc/%d/status" % d.proc.pid) as f:
                        for line in f:
                            if line.startswith("VmRSS:"):
                                rss_max[0] = max(rss_max[0], int(line.split()[1]) // 1024)
                except OSError:
                    pass
                time.sleep(0.1)
        threading.Thread(target=sample_rss, daemon=True).start()

        stream_results, ws_results = [], []
        readers = [threading.Thread(target=stream_reader,
                                    args=(mnt, tasks[i % len(tasks)], stream_results, stop))
                   for i in range(args.readers)]
        readers += [threading.Thread(target=ws_reader,
                                     args=(port, tasks[(i * 7 + 3) % len(tasks)], ws_results, stop))
                    for i in range(args.ws)]
        for r in readers:
            r.start()

        start = time.time()
        stop_at = start + args.seconds
        journals = [os.path.join(work, "journal-%d.json" % w) for w in range(args.writers)]
        writers = [multiprocessing.Process(target=writer_main,
                                           args=(w, mnt, tasks, stop_at, args.fsync_every,
                                                 journals[w], w + 1))
                   for w in range(args.writers)]
        for p in writers:
            p.start()

        # Events during the load.
        events = []
        if args.crash:
            moments = sorted(random.uniform(0.1, 0.9) * args.seconds for _ in range(args.crash))
            for m in moments:
                time.sleep(max(0, start + m - time.time()))
                d.kill(signal.SIGKILL)
                events.append("kill -9 at %.1f s" % (time.time() - start))
                d.start()
        if args.sigterm:
            time.sleep(max(0, start + args.seconds / 2 - time.time()))
            rc = d.kill(signal.SIGTERM)
            if rc != 0:
                failures.append("SIGTERM: the daemon exited %d" % rc)
            if mounted(mnt):
                failures.append("SIGTERM: a mount was left behind")
            events.append("SIGTERM at %.1f s" % (time.time() - start))
            d.start()
        fault_stats = {}
        if args.fault:
            time.sleep(max(0, start + (args.seconds - args.fault_seconds) / 2 - time.time()))
            undo = begin_fault(args.fault, dbdir, db)
            t_fault = time.time()
            peak = {}
            while time.time() - t_fault < args.fault_seconds:
                s = read_stats(mnt)
                for k in ("pending", "flush_errors", "retries", "waits"):
                    if k in s:
                        peak[k] = max(peak.get(k, 0), int(s[k]))
                time.sleep(0.2)
            undo()
            events.append("%s fault for %.0f s from %.1f s" % (args.fault, args.fault_seconds, t_fault - start))
            fault_stats = peak
            if peak.get("flush_errors", 0) == 0:
                failures.append("fault %s: stats never showed a flush error" % args.fault)
        for p in writers:
            p.join(timeout=max(1, stop_at + 120 - time.time()))
            if p.is_alive():
                failures.append("a writer was still blocked 120 s after the end")
                p.kill()
                p.join()
        figures["events"] = events
        figures["fault_stats"] = fault_stats

        # Finish the tasks: readers reach their end, WebSockets get the status.
        for t in tasks:
            with open(os.path.join(mnt, "tasks", t, "status"), "w") as f:
                f.write("succeeded\n")
        for r in readers:
            r.join(timeout=60)
        stop.set()
        # Everything is committed once pending reaches 0.
        t = time.time()
        while int(read_stats(mnt).get("pending", 1)) > 0 and time.time() - t < 60:
            time.sleep(0.1)
        rc = d.kill(signal.SIGTERM)
        if rc != 0:
            failures.append("the daemon exited %d at the end" % rc)
        if mounted(mnt):
            failures.append("a mount was left behind")
        figures["rss_max_mb"] = rss_max[0]
        if rss_max[0] > args.rss_mb:
            failures.append("RSS %d MiB over the bound of %d MiB" % (rss_max[0], args.rss_mb))

        verify(db, journals, tasks, args.crash > 0, figures, failures)
        figures["stream_lines_seen"] = sum(s for _, s, _ in stream_results)
        figures["ws_entries_seen"] = sum(s for _, s, _ in ws_results)
        wrong = sum(w for _, _, w in stream_results) + sum(w for _, _, w in ws_results)
        figures["reader_lines_of_another_task"] = wrong
        if wrong:
            failures.append("readers saw %d lines of another task" % wrong)
        if len(stream_results) != args.readers or len(ws_results) != args.ws:
            failures.append("readers did not finish: %d/%d stream, %d/%d ws"
                            % (len(stream_results), args.readers, len(ws_results), args.ws))
        figures["daemon_starts"] = d.starts
    finally:
        stop.set()
        if d.proc and d.proc.poll() is None:
            d.kill(signal.SIGTERM)
        if mounted(mnt):
            subprocess.run(["fusermount3", "-u", "-z", mnt])
        if args.fault == "full":
            subprocess.run(["umount", "-l", dbdir])
        if failures:
            with open(d.log, errors="replace") as f:
                print("--- daemon log (last lines)\n" + "".join(f.readlines()[-30:]))
        subprocess.run(["rm", "-rf", work])

    figures["failures"] = failures
    report(figures)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(figures, f, indent=1)
    sys.exit(1 if failures else 0)


def begin_fault(kind, dbdir, db):
    """Makes the database unwritable; returns the function that heals it."""
    if kind == "full":
        filler = os.path.join(dbdir, "filler")
        fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
        st = os.statvfs(dbdir)
        try:
            # The bulk at once, then the last blocks one by one.
            os.posix_fallocate(fd, 0, max(1, st.f_bavail * st.f_frsize - (1 << 20)))
        except OSError:
            pass
        os.lseek(fd, 0, os.SEEK_END)
        for chunk in (1 << 16, 1 << 12):
            try:
                while True:
                    os.write(fd, b"\0" * chunk)
            except OSError:
                pass
        os.close(fd)
        return lambda: os.unlink(filler)
    if kind == "readonly":
        files = [p for p in (db, db + "-wal") if os.path.exists(p)]
        subprocess.run(["chattr", "+i"] + files, check=True)
        return lambda: subprocess.run(["chattr", "-i"] + files, check=True)
    if kind == "lock":
        holder = subprocess.Popen([sys.executable, "-c", """
import sqlite3, sys
c = sqlite3.connect(sys.argv[1], timeout=60, isolation_level=None)
c.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
sys.stdin.read()
c.execute("COMMIT")
""", db], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        holder.stdout.readline()

        def release():
            holder.stdin.close()
            holder.wait()
        return release
    raise ValueError(kind)


def verify(db, journals, tasks, crashed, figures, failures):
    conn = sqlite3.connect(db)
    integrity = conn.execute("PRAGMA integrity_check").fetchone()[0]
    figures["integrity_check"] = integrity
    if integrity != "ok":
        failures.append("integrity_check: %s" % integrity)
    stored = {}
    wrong_task = 0
    for task_id, message in conn.execute("SELECT task_id, message FROM task_logs"):
        m = LINE.search(message)
        if not m:
            continue
        if m.group(1) != task_id:
            wrong_task += 1
        key = (int(m.group(2)), int(m.group(3)))
        stored[key] = stored.get(key, 0) + 1
    conn.close()
    figures["lines_in_database"] = sum(stored.values())
    dup = sum(1 for c in stored.values() if c > 1)
    counts = {"sent": 0, "accepted": 0, "committed": 0, "unknown": 0}
    lost_committed = lost_accepted = 0
    for w, path in enumerate(journals):
        if not os.path.exists(path):
            continue  # a writer that had to be killed: already a failure
        with open(path) as f:
            for task, first, last, state in json.load(f):
                for n in range(first, last + 1):
                    counts[state] += 1
                    present = stored.get((w, n), 0)
                    if state == "committed" and present != 1:
                        lost_committed += 1
                    if state == "accepted" and present != 1:
                        lost_accepted += 1
    figures["lines_written"] = sum(counts.values())
    figures["lines_committed_by_fsync"] = counts["committed"]
    figures["lines_accepted_not_fsynced"] = counts["accepted"]
    figures["lines_in_a_failed_write"] = counts["unknown"]
    figures["lost_committed"] = lost_committed
    figures["lost_accepted"] = lost_accepted
    figures["duplicates"] = dup
    figures["wrong_task"] = wrong_task
    if lost_committed:
        failures.append("%d lines whose fsync returned are missing" % lost_committed)
    if lost_accepted and not crashed:
        failures.append("%d accepted lines are missing" % lost_accepted)
    if dup:
        failures.append("%d lines stored more than once" % dup)
    if wrong_task:
        failures.append("%d lines in the wrong task" % wrong_task)


def report(fig):
    print("soak (%s): %d tasks x %d writers, %d stream readers, %d WebSocket clients, %.0f s"
          % (fig["mode"], fig["tasks"], fig["writers"], fig["readers"], fig["ws_clients"], fig["seconds"]))
    for e in fig.get("events", []):
        print("  event: %s" % e)
    if fig.get("fault_stats"):
        print("  during the fault, stats peaked at: %s"
              % " ".join("%s=%s" % kv for kv in sorted(fig["fault_stats"].items())))
    for key in ("lines_written", "lines_committed_by_fsync", "lines_accepted_not_fsynced",
                "lines_in_a_failed_write", "lines_in_database", "lost_committed",
                "lost_accepted", "duplicates", "wrong_task", "reader_lines_of_another_task",
                "stream_lines_seen", "ws_entries_seen", "rss_max_mb", "daemon_starts",
                "integrity_check"):
        if key in fig:
            print("  %-32s %s" % (key.replace("_", " "), fig[key]))
    if fig["failures"]:
        for f in fig["failures"]:
            print("  FAILED: %s" % f)
    else:
        print("  ok: nothing lost, nothing duplicated, nothing in the wrong task")


if __name__ == "__main__":
    main()
