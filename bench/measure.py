#!/usr/bin/env python3
"""Run one command under /usr/bin/time -v and append one JSON record to a results file.

Usage:
  python3 bench/measure.py --results FILE --run-id ID --tool NAME --dataset NAME --rep N \
      [--stdout FILE] [--pg-server SCRIPT] [--timeout S] -- COMMAND ARGS...

The record holds: wall (perf_counter around the child), user and system CPU seconds and the
peak RSS of the child (from /usr/bin/time -v), the exit status, the 1-minute load average
before and after, the machine's busy CPU seconds during the run (from /proc/stat) and the part
of it that other processes used ("others' CPU" = machine busy - the run's own CPU), and the
JSON lines the command printed on standard output (the peer jobs print their stage times, the
parse floor its per-repeat times).

With --pg-server SCRIPT (the peer benchmark's pg_server.sh) a PostgreSQL server is started
before the command with its postmaster under /usr/bin/time -v and stopped after it; the
record then also holds the server's CPU and its largest process's peak RSS.

Standard library only.
"""
import argparse
import datetime
import json
import os
import re
import subprocess
import sys
import tempfile
import time

HZ = os.sysconf("SC_CLK_TCK")


def busy_jiffies():
    """CPU time the whole machine spent busy, in clock ticks (all CPUs)."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    # user nice system idle iowait irq softirq steal ...
    return v[0] + v[1] + v[2] + v[5] + v[6] + (v[7] if len(v) > 7 else 0)


def loadavg():
    with open("/proc/loadavg") as f:
        return [float(x) for x in f.read().split()[:3]]


def parse_time_v(path):
    """The fields of a /usr/bin/time -v report that the benchmark uses."""
    out = {}
    try:
        f = open(path)
    except OSError:
        return out
    with f:
        for line in f:
            line = line.strip()
            key, _, value = line.rpartition(": ")
            if line.startswith("Maximum resident set size"):
                out["maxrss_kib"] = int(value)
            elif line.startswith("User time"):
                out["user_s"] = float(value)
            elif line.startswith("System time"):
                out["sys_s"] = float(value)
            elif line.startswith("Elapsed (wall clock)"):
                parts = value.strip().split(":")
                out["wall_s"] = sum(float(p) * 60 ** i for i, p in enumerate(reversed(parts)))
            elif line.startswith("Exit status"):
                out["exit"] = int(value)
            elif line.startswith("Major (requiring I/O) page faults"):
                out["major_faults"] = int(value)
            elif line.startswith("Voluntary context switches"):
                out["voluntary_cs"] = int(value)
            elif line.startswith("Involuntary context switches"):
                out["involuntary_cs"] = int(value)
            elif line.startswith("Percent of CPU this job got"):
                out["cpu_percent"] = value.strip()
    return out


def json_lines(text):
    recs = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("{") and line.endswith("}"):
            try:
                recs.append(json.loads(line))
            except ValueError:
                pass
    return recs


def first_log_s(text, start_epoch):
    """Seconds from the start to the first timestamped log line (truce logs `read reports`
    with TRUCE_LOG=info once its input is parsed), or None."""
    m = re.search(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?)Z", text)
    if not m:
        return None
    stamp = datetime.datetime.fromisoformat(m.group(1)).replace(tzinfo=datetime.timezone.utc)
    return round(stamp.timestamp() - start_epoch, 4)


def main(argv):
    if "--" not in argv:
        sys.exit("usage: measure.py [options] -- COMMAND ARGS...")
    split = argv.index("--")
    ap = argparse.ArgumentParser()
    ap.add_argument("--results", required=True)
    ap.add_argument("--run-id", required=True)
    ap.add_argument("--tool", required=True)
    ap.add_argument("--dataset", required=True)
    ap.add_argument("--rep", type=int, required=True)
    ap.add_argument("--stdout", help="send the command's standard output here (default: captured)")
    ap.add_argument("--pg-server", help="pg_server.sh to start/stop around the command")
    ap.add_argument("--timeout", type=float, default=3600.0)
    ap.add_argument("--note", default="")
    a = ap.parse_args(argv[:split])
    cmd = argv[split + 1:]
    if not cmd:
        sys.exit("measure.py: no command after --")

    tmpdir = tempfile.mkdtemp(prefix="truce-bench-")
    tfile = os.path.join(tmpdir, "time_client.txt")
    sfile = os.path.join(tmpdir, "time_server.txt")
    server = None
    if a.pg_server:
        os.chmod(tmpdir, 0o755)  # the server runs as user postgres and writes sfile
        subprocess.run([a.pg_server, "start", sfile], check=True)

    load_before = loadavg()
    b0 = busy_jiffies()
    start_epoch = time.time()
    t0 = time.perf_counter()
    out_handle = open(a.stdout, "wb") if a.stdout else subprocess.PIPE
    try:
        p = subprocess.run(["/usr/bin/time", "-v", "-o", tfile] + cmd, stdout=out_handle,
                           stderr=subprocess.PIPE, timeout=a.timeout)
        rc, stdout, stderr = p.returncode, p.stdout, p.stderr
    except subprocess.TimeoutExpired as e:
        rc, stdout, stderr = "timeout", e.stdout, e.stderr
    finally:
        if a.stdout:
            out_handle.close()
    wall = time.perf_counter() - t0
    b1 = busy_jiffies()
    load_after = loadavg()
    if a.pg_server:
        subprocess.run([a.pg_server, "stop"], check=False)
        server = parse_time_v(sfile)

    client = parse_time_v(tfile)
    own_cpu = client.get("user_s", 0.0) + client.get("sys_s", 0.0)
    if server:
        own_cpu += server.get("user_s", 0.0) + server.get("sys_s", 0.0)
    stdout_text = (stdout or b"").decode("utf-8", "replace")
    stderr_text = (stderr or b"").decode("utf-8", "replace")
    rec = {
        "run_id": a.run_id,
        "time": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "tool": a.tool,
        "dataset": a.dataset,
        "rep": a.rep,
        "rc": rc,
        "cmd": cmd,
        "wall_s": round(wall, 4),
        "start_epoch": round(start_epoch, 4),
        "first_log_s": first_log_s(stderr_text, start_epoch),
        "client": client,
        "server": server,
        "cpu_s": round(own_cpu, 2),
        "load_before": load_before,
        "load_after": load_after,
        "machine_busy_cpu_s": round((b1 - b0) / HZ, 2),
        "others_cpu_s": round((b1 - b0) / HZ - own_cpu, 2),
        "stdout_json": json_lines(stdout_text),
        "stderr_tail": stderr_text[-3000:] if rc != 0 else stderr_text[:500],
        "note": a.note,
    }
    with open(a.results, "a") as f:
        f.write(json.dumps(rec) + "\n")
    for path in (tfile, sfile):
        if os.path.exists(path):
            os.remove(path)
    os.rmdir(tmpdir)
    rss = client.get("maxrss_kib", 0) + ((server or {}).get("maxrss_kib", 0))
    print("[%s] %-14s %-8s rep%-2d rc=%s wall=%.3fs cpu=%.2fs rss=%.0fMiB load=%.2f->%.2f others_cpu=%.2fs"
          % (rec["time"], a.tool, a.dataset, a.rep, rc, wall, own_cpu, rss / 1024.0,
             load_before[0], load_after[0], rec["others_cpu_s"]), file=sys.stderr, flush=True)
    if rc != 0:
        print(stderr_text[-1500:], file=sys.stderr)
    return 0 if rc == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
