#!/usr/bin/env python3
"""SC-002: what logging through the SDK into the mount costs a CPU-bound plugin.

    bench_plugin.py DAEMON CHECKSUM DIR

The checksum example plugin does a fixed amount of work and logs one INFO
entry every N rounds, N chosen for 20,000 entries a second. It runs in turns
against a task in the mount and against a task folder whose logs/all is
/dev/null (the same SDK code, no daemon behind it); the plugin reports its
own run time, closing its context (writing the last lines) included. The
ratio of the medians is the overhead.
"""
import os
import statistics
import subprocess
import sys
import time

RATE = 20000
RUNS = int(os.environ.get("BENCH_PLUGIN_RUNS", "9"))
TARGET_S = 2.0


def run(checksum, rounds, every, task_dir, task_id):
    env = dict(os.environ, TASKLOG_DIR=task_dir, TASKLOG_TASK_ID=task_id)
    out = subprocess.run([checksum, str(rounds), str(every)], env=env,
                         check=True, capture_output=True, text=True).stdout
    return float(out.split()[0])


def main():
    daemon, checksum, work = sys.argv[1:4]
    mnt = os.path.join(work, "mnt")
    null_task = os.path.join(work, "null-task")
    os.makedirs(mnt)
    os.makedirs(os.path.join(null_task, "logs"))
    os.symlink("/dev/null", os.path.join(null_task, "logs", "all"))
    subprocess.run([daemon, "-o", "db=%s/bench.db,http=off" % work, mnt], check=True)
    try:
        for _ in range(100):
            if os.path.exists(os.path.join(mnt, "README")):
                break
            time.sleep(0.05)
        # Calibrate: rounds for about TARGET_S seconds without logging.
        rounds = 20000
        while True:
            t = run(checksum, rounds, 0, null_task, "calibrate")
            if t > 0.5:
                break
            rounds *= 2
        rounds = int(rounds * TARGET_S / t)
        work_s = run(checksum, rounds, 0, null_task, "calibrate")
        every = max(1, int(rounds / (RATE * work_s)))
        entries = rounds // every

        mount_s, null_s = [], []
        for i in range(RUNS):
            task = "bench-%d" % i
            os.mkdir(os.path.join(mnt, "tasks", task))
            mount_s.append(run(checksum, rounds, every,
                               os.path.join(mnt, "tasks", task), task))
            null_s.append(run(checksum, rounds, every, null_task, "null"))
        # Every entry arrived.
        with open(os.path.join(mnt, "tasks", "bench-0", "logs", "stats")) as f:
            stats = dict(line.split() for line in f)
        assert int(stats["entries"]) == entries, (stats["entries"], entries)

        m, n = statistics.median(mount_s), statistics.median(null_s)
        overhead = (m / n - 1) * 100
        rate = entries / m
        print("SC-002: CPU-bound plugin (checksum example), %d entries at %.0f/s "
              "through the SDK, median of %d runs" % (entries, rate, RUNS))
        print("  %-46s %8.3f s" % ("no logging at all", work_s))
        print("  %-46s %8.3f s" % ("logging to /dev/null (baseline)", n))
        print("  %-46s %8.3f s   overhead %+.1f %%   target <= 2 %% (spec 5 %%)"
              % ("logging to the mount", m, overhead))
        print("  %-46s %+8.1f %%" % ("logging to the mount vs no logging at all",
                                      (m / work_s - 1) * 100))
        print("  runs, mount:     %s" % " ".join("%.3f" % x for x in mount_s))
        print("  runs, /dev/null: %s" % " ".join("%.3f" % x for x in null_s))
    finally:
        subprocess.run(["fusermount3", "-u", mnt])
        for _ in range(100):
            with open("/proc/mounts") as f:
                if (" %s fuse" % mnt) not in f.read():
                    break
            time.sleep(0.05)


if __name__ == "__main__":
    main()
