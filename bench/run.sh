#!/usr/bin/env bash
# The benchmark of `truce assess` against the peers (docs/benchmarks.md).
#
#   bench/run.sh [--reps N] [--peers] [--scale] [--probe] [--sizes "n100k n1m"] [--no-build] [--no-json]
#
#   --reps N     repetitions of every measurement, interleaved (default 5)
#   --peers      also run the peer jobs (geopandas, PostGIS, DuckDB) of ../shared/bench/peer on
#                the same data, interleaved with truce; installs their pip/apt packages first
#   --scale      also measure our simulator's data at 3M and 10M reports (growth 100k -> 10M;
#                the 3M and 10M runs are capped at 60 % of the memory available at the start)
#   --probe      also run variants of the peer agreement (bench/peer_agreement.py --variant:
#                outside-window, no-zones, front-only) to see where truce's time goes
#   --sizes S    which sizes (default "n100k n1m"; n100k = 100k reports, n1m = 1M)
#   --no-build   use target/release/truce as it is
#   --no-json    skip the `--format json --out FILE` runs
#
# Data (bench-data/, git-ignored; generated once, then reused):
#   bench-data/n100k, n1m       the peer generator's reports.csv + zones.geojson (seed 42), and
#                               agreement.toml written by bench/peer_agreement.py
#   bench-data/sim100k, sim1m, sim10m   `truce simulate --reports N --seed 42`, assessed against
#                               examples/front-line-30-day-2025/agreement.toml
# Records: one JSON line per run in bench-data/results.jsonl (bench/measure.py); a summary
# (bench/summary.py) is printed at the end.
#
# truce's output goes to standard output redirected to /dev/null (`--out -`). (`--out FILE`
# writes a regular file atomically, by a temporary file and a rename; a device such as
# /dev/null is written in place.)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PEER=${TRUCE_PEER_DIR:-$ROOT/../shared/bench/peer}
DATA=$ROOT/bench-data
RESULTS=$DATA/results.jsonl
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
TRUCE=$TARGET_DIR/release/truce
SIM_AGREEMENT=$ROOT/examples/front-line-30-day-2025/agreement.toml
# A private PostgreSQL cluster for the PostGIS peer (pg_server.sh and job_postgis.py read these).
export PGBENCH_DIR=${PGBENCH_DIR:-/tmp/truce_bench_pg}
export PGBENCH_PORT=${PGBENCH_PORT:-54339}

REPS=5 PEERS=0 SCALE=0 PROBE=0 BUILD=1 JSON=1 SIZES="n100k n1m"
while [ $# -gt 0 ]; do
  case "$1" in
    --reps) REPS=$2; shift 2 ;;
    --peers) PEERS=1; shift ;;
    --scale) SCALE=1; shift ;;
    --probe) PROBE=1; shift ;;
    --sizes) SIZES=$2; shift 2 ;;
    --no-build) BUILD=0; shift ;;
    --no-json) JSON=0; shift ;;
    -h|--help) sed -n '2,25p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
case "$REPS" in ''|*[!0-9]*|0) echo "run.sh: --reps needs a positive integer" >&2; exit 2 ;; esac

RUN_ID=$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$DATA"
say() { printf '[run.sh %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# One JSON line that is not a measurement: a peer that could not be measured, or the machine.
note_record() {  # note_record KIND TOOL DATASET TEXT
  python3 - "$RESULTS" "$RUN_ID" "$@" <<'EOF'
import json, sys, time
path, run_id, kind, tool, dataset, text = sys.argv[1:7]
rec = {"run_id": run_id, "time": time.strftime("%Y-%m-%dT%H:%M:%S"), "tool": tool, "dataset": dataset, kind: text}
with open(path, "a") as f:
    f.write(json.dumps(rec) + "\n")
EOF
}

# The 3M and 10M runs may need more memory than the machine has: run them with an address-
# space limit (60 % of MemAvailable at the start), so that an allocation failure ends our
# process and the kernel's OOM killer never has to pick one of the other processes here.
MEM_CAP_KIB=$(awk '/MemAvailable/ {printf "%d", $2 * 0.6}' /proc/meminfo)
cap_for() {  # cap_for DATASET: sets CAP to a command prefix that applies the cap (3M, 10M)
  CAP=()
  if [ "$1" = sim3m ] || [ "$1" = sim10m ]; then CAP=(bash -c 'ulimit -v "$0" && exec "$@"' "$MEM_CAP_KIB"); fi
}

measure() {  # measure TOOL DATASET REP [measure.py options] -- COMMAND...
  local tool=$1 dataset=$2 rep=$3; shift 3
  python3 "$ROOT/bench/measure.py" --results "$RESULTS" --run-id "$RUN_ID" \
    --tool "$tool" --dataset "$dataset" --rep "$rep" "$@" || true
}

# --- tools -------------------------------------------------------------------------------
if [ ! -x /usr/bin/time ]; then
  say "installing /usr/bin/time (Debian package time)"
  apt-get install -y time >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y time >/dev/null; }
fi

if [ "$BUILD" = 1 ]; then
  say "cargo build --release -p truce"
  (cd "$ROOT" && cargo build --release -p truce)
fi
[ -x "$TRUCE" ] || { echo "run.sh: $TRUCE is missing (build it or drop --no-build)" >&2; exit 1; }

machine=$(printf 'nproc=%s; cpu=%s; mem=%s; kernel=%s; truce=%s; binary sha256 %s built %s; HEAD=%s' \
  "$(nproc)" "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)" \
  "$(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)" "$(uname -r)" \
  "$("$TRUCE" --version)" "$(sha256sum "$TRUCE" | cut -c1-12)" "$(date -u -r "$TRUCE" +%Y-%m-%dT%H:%M:%SZ)" \
  "$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)")
note_record machine machine - "$machine"
say "run $RUN_ID: $machine"

PROBE_VARIANTS="outside-window no-zones front-only"

# --- data --------------------------------------------------------------------------------
PEER_SIZES=""
if [ -d "$PEER" ]; then
  if ! python3 -c 'import numpy, pandas, shapely, pyproj' 2>/dev/null; then
    say "pip install numpy pandas shapely pyproj (for the peer generator)"
    pip install -q numpy pandas shapely pyproj
  fi
  for size in $SIZES; do
    case "$size" in n100k) n=100000 ;; n1m) n=1000000 ;; *) echo "run.sh: unknown size $size" >&2; exit 2 ;; esac
    if [ ! -s "$DATA/$size/reports.csv" ] || [ ! -s "$DATA/$size/zones.geojson" ]; then
      say "generating the peer data $size"
      python3 "$PEER/gen.py" --n "$n" --seed 42 --out "$DATA/$size"
    fi
    python3 "$ROOT/bench/peer_agreement.py" "$PEER/config.json" "$DATA/$size"
    if [ "$PROBE" = 1 ]; then
      for v in $PROBE_VARIANTS; do
        python3 "$ROOT/bench/peer_agreement.py" "$PEER/config.json" "$DATA/$size" \
          --variant "$v" --out "$DATA/$size/agreement-$v.toml"
      done
    fi
    PEER_SIZES="$PEER_SIZES $size"
  done
else
  say "no peer benchmark at $PEER: measuring our simulator's data only"
fi

# 10M reports from `truce simulate` in one process may not fit under the cap; then the 10M
# data is ten independent 1M simulations (seeds 42..51) laid over each other, each part's ids
# prefixed with its part number (p0-, p1-, ...): the same period and 10x the density, which is
# what --reports 10000000 asks of the default scenario. Streaming, so it needs little memory.
stitch_10m() {  # stitch_10m DIR
  local dir=$1 k part
  for k in $(seq 0 9); do
    part=$dir/part$k.csv
    cap_for sim10m
    measure truce-simulate sim10m-part "$k" -- "${CAP[@]}" "$TRUCE" simulate --reports 1000000 \
      --seed $((42 + k)) -o "$part"
    [ -s "$part" ] || return 1
    if [ "$k" = 0 ]; then head -1 "$part" >"$dir/reports.csv.tmp"; fi
    tail -n +2 "$part" | sed "s/^/p$k-/" >>"$dir/reports.csv.tmp"
    rm -f "$part"
  done
  mv "$dir/reports.csv.tmp" "$dir/reports.csv"
}

SIM_SIZES=""
for size in $SIZES; do
  case "$size" in n100k) SIM_SIZES="$SIM_SIZES sim100k" ;; n1m) SIM_SIZES="$SIM_SIZES sim1m" ;; esac
done
[ "$SCALE" = 1 ] && SIM_SIZES="$SIM_SIZES sim3m sim10m"
for sim in $SIM_SIZES; do
  case "$sim" in sim100k) n=100000 ;; sim1m) n=1000000 ;; sim3m) n=3000000 ;; sim10m) n=10000000 ;; esac
  if [ ! -s "$DATA/$sim/reports.csv" ]; then
    say "truce simulate --reports $n --seed 42"
    mkdir -p "$DATA/$sim"
    cap_for "$sim"
    measure truce-simulate "$sim" 0 -- "${CAP[@]}" "$TRUCE" simulate --reports "$n" --seed 42 \
      -o "$DATA/$sim/reports.csv"
    if [ ! -s "$DATA/$sim/reports.csv" ] && [ "$sim" = sim10m ]; then
      say "truce simulate --reports 10000000 failed under the cap: stitching ten 1M simulations"
      note_record info truce-simulate sim10m "simulate --reports 10000000 failed under a ${MEM_CAP_KIB} KiB address-space cap; data stitched from ten 1M simulations (seeds 42..51)"
      stitch_10m "$DATA/$sim" || rm -f "$DATA/$sim/reports.csv"
    fi
    [ -s "$DATA/$sim/reports.csv" ] || { echo "run.sh: truce simulate failed for $sim" >&2; exit 1; }
  fi
done

# --- peers -------------------------------------------------------------------------------
PEER_TOOLS=""
if [ "$PEERS" = 1 ] && [ -n "$PEER_SIZES" ]; then
  if python3 -c 'import geopandas, shapely, scipy, pyogrio' 2>/dev/null \
     || pip install -q pandas geopandas shapely scipy pyproj pyarrow pyogrio; then
    PEER_TOOLS="$PEER_TOOLS geopandas"
  else
    for s in $PEER_SIZES; do note_record not_measured geopandas "$s" "pip install of geopandas/scipy/pyogrio failed"; done
  fi
  if python3 -c 'import duckdb, duckdb_extensions' 2>/dev/null \
     || pip install -q duckdb==1.5.5 duckdb-extensions==1.5.5 duckdb-extension-spatial==1.5.5; then
    PEER_TOOLS="$PEER_TOOLS duckdb"
  else
    for s in $PEER_SIZES; do note_record not_measured duckdb "$s" "pip install of duckdb 1.5.5 + spatial failed"; done
  fi
  pg_ok=1
  if [ ! -x /usr/lib/postgresql/15/bin/postgres ] || ! python3 -c 'import psycopg' 2>/dev/null; then
    say "installing PostgreSQL 15 + PostGIS 3 + pgRouting (apt) and psycopg (pip)"
    { apt-get update >/dev/null \
      && DEBIAN_FRONTEND=noninteractive apt-get install -y postgresql-15-postgis-3 postgresql-15-pgrouting postgresql-contrib >/dev/null \
      && pip install -q "psycopg[binary]"; } || pg_ok=0
  fi
  if [ "$pg_ok" = 1 ] && "$PEER/pg_server.sh" ensure; then
    PEER_TOOLS="$PEER_TOOLS postgis"
  else
    for s in $PEER_SIZES; do note_record not_measured postgis "$s" "PostgreSQL/PostGIS/pgRouting install or cluster init failed"; done
  fi
fi

FLOOR=""
if [ -n "$PEER_SIZES" ]; then
  # Built in bench-data, so that nothing is written into the shared peer folder.
  if CARGO_TARGET_DIR="$DATA/floor-target" cargo build --release --locked \
       --manifest-path "$PEER/floor/Cargo.toml" >&2; then
    FLOOR=$DATA/floor-target/release/truce-peer-floor
  else
    for s in $PEER_SIZES; do note_record not_measured floor-memchr "$s" "cargo build of the parse floor failed"; done
  fi
fi

# --- measurements ------------------------------------------------------------------------
mkdir -p "$DATA/out"
for d in $PEER_SIZES $SIM_SIZES; do cat "$DATA/$d/reports.csv" >/dev/null; done  # page cache

run_truce() {  # run_truce DATASET REP
  local d=$1 rep=$2 agreement
  cap_for "$d"
  case "$d" in sim*) agreement=$SIM_AGREEMENT ;; *) agreement=$DATA/$d/agreement.toml ;; esac
  # TRUCE_LOG=info: truce logs one line once the reports are parsed (its time is recorded).
  TRUCE_LOG=info measure truce-md "$d" "$rep" --stdout /dev/null -- "${CAP[@]}" \
    "$TRUCE" assess "$agreement" "$DATA/$d/reports.csv" --format markdown --out -
  if [ "$JSON" = 1 ] && [ "$rep" = 1 ]; then
    measure truce-json "$d" "$rep" -- "${CAP[@]}" \
      "$TRUCE" assess "$agreement" "$DATA/$d/reports.csv" --format json --out "$DATA/out/truce-$d.json"
    if [ -f "$DATA/out/truce-$d.json" ]; then
      note_record info truce-json "$d" "output bytes: $(stat -c %s "$DATA/out/truce-$d.json")"
      rm -f "$DATA/out/truce-$d.json"
    fi
  fi
}

run_peer() {  # run_peer TOOL DATASET REP
  local tool=$1 d=$2 rep=$3 out=$DATA/peer-out/$1/$2
  case "$tool" in
    geopandas) measure geopandas "$d" "$rep" -- python3 "$PEER/job_geopandas.py" --data "$DATA/$d" --out "$out" --cluster-mode loop ;;
    duckdb) measure duckdb "$d" "$rep" -- python3 "$PEER/job_duckdb.py" --data "$DATA/$d" --out "$out" --zone-pred contains ;;
    postgis) measure postgis "$d" "$rep" --pg-server "$PEER/pg_server.sh" -- \
      python3 "$PEER/job_postgis.py" --data "$DATA/$d" --out "$out" --cc pgrouting --jit off --timeout-s 600 ;;
  esac
}

for rep in $(seq 1 "$REPS"); do
  for d in $PEER_SIZES; do
    run_truce "$d" "$rep"
    for tool in $PEER_TOOLS; do run_peer "$tool" "$d" "$rep"; done
    if [ "$PROBE" = 1 ]; then
      for v in $PROBE_VARIANTS; do
        TRUCE_LOG=info measure "probe-$v" "$d" "$rep" --stdout /dev/null -- \
          "$TRUCE" assess "$DATA/$d/agreement-$v.toml" "$DATA/$d/reports.csv" --format markdown --out -
      done
    fi
    if [ -n "$FLOOR" ]; then
      measure floor-memchr "$d" "$rep" -- "$FLOOR" memchr "$DATA/$d/reports.csv" 5
      measure floor-memchr2 "$d" "$rep" -- "$FLOOR" memchr2 "$DATA/$d/reports.csv" 5
    fi
  done
  for d in $SIM_SIZES; do
    run_truce "$d" "$rep"
  done
done

say "records: $RESULTS (run $RUN_ID)"
python3 "$ROOT/bench/summary.py" --results "$RESULTS" --run-id "$RUN_ID"
