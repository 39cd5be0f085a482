#!/usr/bin/env bash
# Growth of `truce assess` at constant density (docs/benchmarks.md, "Growth at constant
# density"): the default scenario scaled to about 1M reports over its 60 days, then the same
# daily rates over 3 and 10 times the span (the truce starting half-way, one dense-shelling
# burst per 60 days), each assessed against the 30-day front-line example.
#
#   bench/growth.sh [--reps N] [--no-build]
#
# Data goes to bench-data/growth/ (git-ignored; generated once, then reused). Prints one line
# per run: name, reports, wall, user and system CPU seconds, peak RSS, load before and after.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TRUCE=${CARGO_TARGET_DIR:-$ROOT/target}/release/truce
DATA=$ROOT/bench-data/growth
AGREEMENT=$ROOT/examples/front-line-30-day-2025/agreement.toml
REPS=2 BUILD=1
while [ $# -gt 0 ]; do
  case "$1" in
    --reps) REPS=$2; shift 2 ;;
    --no-build) BUILD=0; shift ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "growth.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
[ "$BUILD" = 1 ] && (cd "$ROOT" && cargo build --release --locked -p truce)
mkdir -p "$DATA"

"$TRUCE" simulate --print-scenario --reports 1000000 > "$DATA/base.json"
python3 - "$DATA" <<'PY'
import datetime, json, sys
data = sys.argv[1]
base = json.load(open(f"{data}/base.json"))
start = datetime.datetime.fromisoformat(base["start"].replace("Z", "+00:00"))
for k, name in ((1, "c1m"), (3, "c3m"), (10, "c10m")):
    scenario = dict(base)
    scenario["days"] = base["days"] * k
    half = datetime.timedelta(days=base["days"] * k / 2)
    scenario["truce_start"] = (start + half).strftime("%Y-%m-%dT%H:%M:%SZ")
    scenario["dense_bursts"] = base.get("dense_bursts", 1) * k
    scenario["name"] = f"default-constant-density-x{k}"
    json.dump(scenario, open(f"{data}/{name}.json", "w"), indent=1)
PY

for name in c1m c3m c10m; do
  if [ ! -s "$DATA/$name/reports.csv" ]; then
    mkdir -p "$DATA/$name"
    "$TRUCE" simulate --scenario-file "$DATA/$name.json" --seed 42 --out "$DATA/$name/reports.csv"
  fi
done

for rep in $(seq 1 "$REPS"); do
  for name in c1m c3m c10m; do
    before=$(cut -d' ' -f1 /proc/loadavg)
    /usr/bin/time -f "%e %U %S %M" -o "$DATA/time.txt" \
      "$TRUCE" assess "$AGREEMENT" "$DATA/$name/reports.csv" --format markdown > /dev/null
    after=$(cut -d' ' -f1 /proc/loadavg)
    read -r wall user sys rss_kib < "$DATA/time.txt"
    reports=$(($(wc -l < "$DATA/$name/reports.csv") - 1))
    echo "$name rep$rep reports=$reports wall=${wall}s user=${user}s sys=${sys}s peak_rss=$((rss_kib / 1024))MiB load=$before->$after"
  done
done
