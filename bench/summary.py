#!/usr/bin/env python3
"""Summarise bench-data/results.jsonl (written by bench/measure.py) as markdown tables.

Usage: python3 bench/summary.py [--results FILE] [--run-id ID | --all]

Default: the records of the latest run (the run id of the file's last record). Prints, per
(tool, dataset): median wall, min-max, median CPU, peak RSS, the machine's load and the other
processes' CPU during the runs; then the ratios of each peer and the parse floor to
`truce assess` measured in the same run, and the issue's targets with whether each is met.
Standard library only.
"""
import argparse
import json
import os
import statistics
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_RESULTS = os.path.join(HERE, "..", "bench-data", "results.jsonl")

PEERS = ["geopandas", "postgis", "duckdb"]
OURS = "truce-md"
DATASET_REPORTS = {"n100k": 100_000, "n1m": 1_000_000, "sim100k": 100_000, "sim1m": 1_000_000,
                   "sim3m": 3_000_000, "sim10m": 10_000_000}
DATASET_ORDER = ["n100k", "n1m", "sim100k", "sim1m", "sim3m", "sim10m"]


def load(path):
    recs = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line:
                recs.append(json.loads(line))
    return recs


def rss_mib(rec):
    kib = (rec.get("client") or {}).get("maxrss_kib", 0) + ((rec.get("server") or {}).get("maxrss_kib", 0))
    return kib / 1024.0


def floor_samples(rec):
    """read+parse seconds of every repeat the floor printed."""
    return [r["read_s"] + r["parse_s"] for r in rec.get("stdout_json", []) if "read_s" in r and "parse_s" in r]


def fmt(x, nd=3):
    if x is None:
        return "-"
    if x >= 100:
        return "%.0f" % x
    if x >= 10:
        return "%.1f" % x
    return ("%." + str(nd) + "f") % x


class Group:
    def __init__(self, tool, dataset, recs):
        self.tool, self.dataset, self.recs = tool, dataset, recs
        ok = [r for r in recs if r.get("rc") == 0]
        self.ok = ok
        self.failed = len(recs) - len(ok)
        if tool.startswith("floor"):
            samples = [s for r in ok for s in floor_samples(r)]
            self.walls = samples
        else:
            self.walls = [r["wall_s"] for r in ok]
        self.median = statistics.median(self.walls) if self.walls else None
        self.lo = min(self.walls) if self.walls else None
        self.hi = max(self.walls) if self.walls else None
        self.cpu = statistics.median([r["cpu_s"] for r in ok]) if ok else None
        self.rss = max(rss_mib(r) for r in ok) if ok else None
        self.rss_client = max((r.get("client") or {}).get("maxrss_kib", 0) / 1024.0 for r in ok) if ok else None
        self.rss_server = (max((r.get("server") or {}).get("maxrss_kib", 0) / 1024.0 for r in ok)
                           if ok and any(r.get("server") for r in ok) else None)
        inproc = []
        for r in ok:
            totals = [j["total_s"] for j in r.get("stdout_json", []) if "total_s" in j]
            if totals:
                inproc.append(totals[-1])
        self.inproc = statistics.median(inproc) if inproc else None
        logs = [r["first_log_s"] for r in ok if r.get("first_log_s") is not None]
        self.parsed_at = statistics.median(logs) if logs else None
        self.load_before = [r["load_before"][0] for r in recs]
        self.load_after = [r["load_after"][0] for r in recs]
        self.others = [r["others_cpu_s"] for r in recs]


def groups_of(recs):
    keys = []
    for r in recs:
        k = (r["tool"], r["dataset"])
        if k not in keys:
            keys.append(k)

    def order(k):
        tool, ds = k
        return (DATASET_ORDER.index(ds) if ds in DATASET_ORDER else 99, ds, tool)

    return [Group(t, d, [r for r in recs if (r["tool"], r["dataset"]) == (t, d)]) for t, d in sorted(keys, key=order)]


def main(argv):
    ap = argparse.ArgumentParser()
    ap.add_argument("--results", default=DEFAULT_RESULTS)
    ap.add_argument("--run-id", action="append", help="summarise these runs (repeatable)")
    ap.add_argument("--all", action="store_true", help="every record in the file")
    a = ap.parse_args(argv)
    recs = load(a.results)
    if not recs:
        sys.exit("no records in %s" % a.results)
    if a.all:
        chosen = recs
        label = "all runs"
    else:
        ids = a.run_id or [recs[-1]["run_id"]]
        chosen = [r for r in recs if r["run_id"] in ids]
        label = "run " + ", ".join(ids)
    machines = [r["machine"] for r in chosen if "machine" in r]
    missing = [r for r in chosen if "not_measured" in r]
    infos = [r for r in chosen if "info" in r]
    chosen = [r for r in chosen if "wall_s" in r]
    groups = groups_of(chosen)
    by = {(g.tool, g.dataset): g for g in groups}
    for m in machines:
        print("Machine: %s\n" % m)
    for r in missing:
        print("Not measured: %s on %s: %s\n" % (r["tool"], r["dataset"], r["not_measured"]))
    for r in infos:
        print("Note: %s on %s: %s\n" % (r["tool"], r["dataset"], r["info"]))

    print("### Timings (%s)\n" % label)
    print("Wall = whole process (median of the reps; the parse floor: in-process read+parse, median of "
          "every repeat). Peak RSS = max over the reps (PostGIS: largest server process + client). "
          "Load = 1-min load average before -> after; others' CPU = CPU seconds other processes used "
          "during the run (median, max).\n")
    print("| tool | data | reps | wall median s | min-max s | in-process s | reports parsed at s | CPU s | peak RSS MiB | load before -> after | others' CPU s |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---|---:|")
    for g in groups:
        rss = "-" if g.rss is None else (
            "%.0f (server %.0f + client %.0f)" % (g.rss, g.rss_server, g.rss_client) if g.rss_server else "%.0f" % g.rss)
        if g.tool.startswith("floor"):
            rss = "%.0f" % g.rss if g.rss is not None else "-"
        failed = "" if not g.failed else " (%d failed)" % g.failed
        print("| %s | %s | %d%s | %s | %s-%s | %s | %s | %s | %s | %.1f -> %.1f | %s, %s |" % (
            g.tool, g.dataset, len(g.ok), failed, fmt(g.median), fmt(g.lo), fmt(g.hi), fmt(g.inproc),
            fmt(g.parsed_at),
            fmt(g.cpu, 2), rss,
            statistics.median(g.load_before), statistics.median(g.load_after),
            fmt(statistics.median(g.others), 1), fmt(max(g.others), 1)))

    ratio_rows = []
    for ds in [d for d in DATASET_ORDER if (OURS, d) in by]:
        ours = by[(OURS, ds)]
        if ours.median is None:
            continue
        for peer in PEERS:
            g = by.get((peer, ds))
            if g and g.median:
                ratio_rows.append((ds, peer, g.median, ours.median, g.median / ours.median, "%s / truce" % peer,
                                   g.cpu / ours.cpu if g.cpu and ours.cpu else None))
        fl = by.get(("floor-memchr", ds))
        if fl and fl.median:
            ratio_rows.append((ds, "parse floor (memchr, 1 thread)", fl.median, ours.median, ours.median / fl.median, "truce / floor", None))
        fl2 = by.get(("floor-memchr2", ds))
        if fl2 and fl2.median:
            ratio_rows.append((ds, "parse floor (memchr2, 2 threads)", fl2.median, ours.median, ours.median / fl2.median, "truce / floor", None))
        js = by.get(("truce-json", ds))
        if js and js.median:
            ratio_rows.append((ds, "truce --format json --out FILE", js.median, ours.median, js.median / ours.median, "json / markdown",
                               js.cpu / ours.cpu if js.cpu and ours.cpu else None))
    if ratio_rows:
        print("\n### Ratios (same run)\n")
        print("Ratio = wall medians; CPU ratio = medians of user+sys CPU seconds (less sensitive to the "
              "other processes on the machine; the parse floor's CPU includes its 5 repeats, so none is given).\n")
        print("| data | against | their median s | truce (markdown) median s | ratio | CPU ratio | meaning |")
        print("|---|---|---:|---:|---:|---:|---|")
        for ds, peer, theirs, ours, ratio, meaning, cpu_ratio in ratio_rows:
            print("| %s | %s | %s | %s | %.2fx | %s | %s |" % (ds, peer, fmt(theirs), fmt(ours), ratio,
                                                         "-" if cpu_ratio is None else "%.2fx" % cpu_ratio, meaning))

    probes = [g for g in groups if g.tool.startswith("probe-")]
    if probes:
        print("\n### Where the time goes (agreement variants, same data)\n")
        print("`reports parsed at` = time of truce's `read reports` log line from the process start. "
              "The CPU difference to the full agreement is the cost of what the variant leaves out.\n")
        print("| data | agreement | wall median s | reports parsed at s | CPU s | CPU s saved vs full | peak RSS MiB |")
        print("|---|---|---:|---:|---:|---:|---:|")
        for ds in [d for d in DATASET_ORDER if any(p.dataset == d for p in probes)]:
            full = by.get((OURS, ds))
            rows = ([("full", full)] if full else []) + [(p.tool[len("probe-"):], p) for p in probes if p.dataset == ds]
            for name, g in rows:
                saved = "-" if (name == "full" or not full or g.cpu is None) else "%.2f" % (full.cpu - g.cpu)
                print("| %s | %s | %s | %s | %s | %s | %.0f |" % (ds, name, fmt(g.median), fmt(g.parsed_at),
                                                            fmt(g.cpu, 2), saved, g.rss or 0))

    growth = [(d, by[(OURS, d)]) for d in ["sim100k", "sim1m", "sim3m", "sim10m"] if (OURS, d) in by and by[(OURS, d)].median]
    if len(growth) > 1:
        print("\n### Growth (our simulator's data)\n")
        print("| data | reports | wall median s | µs per report | CPU µs per report | peak RSS MiB | x time vs previous | x data vs previous |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|")
        prev = None
        for d, g in growth:
            n = DATASET_REPORTS[d]
            step = "-" if prev is None else "%.1f" % (g.median / prev[1].median)
            dstep = "-" if prev is None else "%.0f" % (n / DATASET_REPORTS[prev[0]])
            print("| %s | %d | %s | %.2f | %.2f | %.0f | %s | %s |" % (d, n, fmt(g.median), g.median / n * 1e6,
                                                               g.cpu / n * 1e6, g.rss, step, dstep))
            prev = (d, g)

    ours = by.get((OURS, "n1m"))
    if ours and ours.median:
        print("\n### Targets of the issue (1M peer reports, 2 cores)\n")
        print("| target | measured | met |")
        print("|---|---|---|")

        def peer_target(peer, need):
            g = by.get((peer, "n1m"))
            if not (g and g.median):
                print("| >= %dx faster than %s end to end | not measured in this run | - |" % (need, peer))
                return
            r = g.median / ours.median
            print("| >= %dx faster than %s end to end | %.1fx (%s s vs %s s) | %s |" % (
                need, peer, r, fmt(g.median), fmt(ours.median), "yes" if r >= need else "no (%.0f %% of the target)" % (100 * r / need)))

        peer_target("geopandas", 20)
        peer_target("postgis", 60)
        fl = by.get(("floor-memchr", "n1m"))
        if fl and fl.median:
            r = ours.median / fl.median
            print("| within 2x of the bare parse | %.1fx the memchr floor (%s s vs %s s) | %s |" % (
                r, fmt(ours.median), fmt(fl.median), "yes" if r <= 2 else "no (%.1fx over)" % (r / 2)))
        else:
            print("| within 2x of the bare parse | floor not measured in this run | - |")
        print("| peak memory < 400 MiB | %.0f MiB | %s |" % (ours.rss, "yes" if ours.rss < 400 else "no"))
        names = [d for d, _ in growth]
        if "sim10m" in names and "sim1m" in names:
            per = {d: g.median / DATASET_REPORTS[d] for d, g in growth}
            ratio = per["sim10m"] / per["sim1m"]
            print("| linear growth to 10M | µs/report %s | %s |" % (
                " -> ".join("%s %.2f" % (d, per[d] * 1e6) for d in names),
                "yes" if ratio <= 1.25 else "no (%.2fx the time per report, 1M -> 10M)" % ratio))
        elif (OURS, "sim10m") in by:
            bad = by[(OURS, "sim10m")].recs[-1]
            lines = (bad.get("stderr_tail") or "").strip().splitlines()
            why = [ln for ln in lines if "memory allocation" in ln or "error" in ln.lower()][:1] or lines[-1:] or ["no message"]
            print("| linear growth to 10M | the 10M run failed (exit %s, peak RSS %.0f MiB): %s | no |" % (
                bad.get("rc"), rss_mib(bad), why[0].replace("|", "/")[:200]))
        else:
            print("| linear growth to 10M | 10M not measured in this run (run.sh --scale) | - |")


if __name__ == "__main__":
    main(sys.argv[1:])
