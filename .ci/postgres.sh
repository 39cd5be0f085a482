#!/usr/bin/env bash
# A private, throwaway PostgreSQL cluster for the store's conformance suite.
#
#   eval "$(.ci/postgres.sh start)"   # prints the export lines below; progress goes to stderr
#   .ci/postgres.sh replica [ENV_FILE] # adds a streaming replica of that cluster (see below)
#   .ci/postgres.sh stop              # stops the cluster named by TRUCE_TEST_POSTGRES_DIR (and its
#                                     # replica) and removes it
#
# start creates a fresh temporary directory, runs initdb in it (as the `postgres` user when run
# as root, since initdb refuses root), starts the server on a free port of 127.0.0.1 with its
# socket in that directory and trust authentication (loopback only, test data only), checks that
# the PostGIS extension is available, and prints:
#   export TRUCE_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:PORT/postgres
#   export TRUCE_TEST_POSTGRES_DIR=DIR
# With a file name as second argument, start also writes those lines to that file.
#
# replica takes a base backup of the cluster named by ENV_FILE (or by TRUCE_TEST_POSTGRES_URL and
# TRUCE_TEST_POSTGRES_DIR when no file is given) with pg_basebackup -R through a replication
# slot, starts it as a hot standby streaming from the cluster on another free port of
# 127.0.0.1, waits until it answers in recovery, and prints (and appends to ENV_FILE):
#   export TRUCE_TEST_POSTGRES_REPLICA_URL=postgres://postgres@127.0.0.1:PORT/postgres
#   export TRUCE_TEST_POSTGRES_REPLICA_DIR=DIR/replica
set -euo pipefail

say() { echo "postgres.sh: $*" >&2; }

# The server's binaries: Debian keeps them under /usr/lib/postgresql/NN/bin (the highest NN wins).
bindir() {
    local dir
    dir=$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -type d -name bin 2>/dev/null | sort -V | tail -n 1 || true)
    if [ -n "$dir" ] && [ -x "$dir/initdb" ]; then
        echo "$dir"
    elif command -v initdb >/dev/null 2>&1; then
        dirname "$(command -v initdb)"
    else
        say "no initdb found: install Debian's postgresql package"
        exit 1
    fi
}

# Runs a command as the cluster's owner.
as_owner() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

# Whether something listens on 127.0.0.1:$1.
port_in_use() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# The settings both servers run with. fsync off: the clusters are thrown away after the tests
# and never survive a crash. wal_level=replica and WAL senders let a standby stream from the
# primary; a standby needs max_connections at least the primary's.
server_options() {
    local dir="$1" port="$2"
    echo "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$dir -c max_connections=200 -c fsync=off -c full_page_writes=off -c wal_level=replica -c max_wal_senders=4 -c max_replication_slots=4 -c hot_standby=on"
}

# Starts the server of data directory $1 (sockets in $2) on a free port, printing the port.
start_server() {
    local bin="$1" data="$2" dir="$3" what="$4" port tries=0
    while :; do
        tries=$((tries + 1))
        port=$((20000 + RANDOM % 30000))
        if port_in_use "$port"; then
            continue
        fi
        if as_owner "$bin/pg_ctl" --pgdata="$data" --log="$data.log" --wait --timeout=60 \
            -o "$(server_options "$dir" "$port")" start >&2; then
            echo "$port"
            return 0
        fi
        if [ "$tries" -ge 5 ]; then
            say "the $what did not start; its log follows"
            cat "$data.log" >&2 || true
            exit 1
        fi
        say "port $port was taken, trying another"
    done
}

start() {
    local out_file="${1:-}" bin dir port
    bin=$(bindir)
    dir=$(mktemp -d -t truce-pg.XXXXXX)
    chmod 700 "$dir"
    if [ "$(id -u)" -eq 0 ]; then
        chown postgres: "$dir"
    fi
    say "initdb in $dir ($bin)"
    as_owner "$bin/initdb" --pgdata="$dir/data" --username=postgres --auth=trust \
        --encoding=UTF8 --no-locale --no-sync >"$dir/initdb.log" 2>&1 || {
        cat "$dir/initdb.log" >&2
        exit 1
    }
    # Loopback replication connections, for the replica subcommand (initdb writes them too).
    if ! grep -Eq '^host[[:space:]]+replication[[:space:]]+all[[:space:]]+127\.0\.0\.1/32' "$dir/data/pg_hba.conf"; then
        echo "host replication all 127.0.0.1/32 trust" | as_owner tee -a "$dir/data/pg_hba.conf" >/dev/null
    fi
    port=$(start_server "$bin" "$dir/data" "$dir" "server")
    local available
    available=$(as_owner "$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -d postgres -XAtq \
        -c "SELECT count(*) FROM pg_available_extensions WHERE name = 'postgis'")
    if [ "$available" != "1" ]; then
        say "the PostGIS extension is not available: install postgresql-NN-postgis-3 for this server"
        as_owner "$bin/pg_ctl" --pgdata="$dir/data" --mode=immediate stop >&2 || true
        exit 1
    fi
    say "PostgreSQL $("$bin/postgres" --version | awk '{print $3}') with PostGIS listening on 127.0.0.1:$port"
    local lines
    lines="export TRUCE_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:$port/postgres
export TRUCE_TEST_POSTGRES_DIR=$dir"
    if [ -n "$out_file" ]; then
        echo "$lines" >"$out_file"
    fi
    echo "$lines"
}

replica() {
    local env_file="${1:-}" bin dir url primary_port port
    if [ -n "$env_file" ]; then
        # shellcheck disable=SC1090
        . "$env_file"
    fi
    url="${TRUCE_TEST_POSTGRES_URL:-}"
    dir="${TRUCE_TEST_POSTGRES_DIR:-}"
    if [ -z "$url" ] || [ -z "$dir" ] || [ ! -d "$dir/data" ]; then
        say "no cluster to replicate (run start first, and give its ENV_FILE)"
        exit 1
    fi
    if [ -d "$dir/replica" ]; then
        say "$dir already has a replica"
        exit 1
    fi
    primary_port="${url##*@127.0.0.1:}"
    primary_port="${primary_port%%/*}"
    bin=$(bindir)
    say "base backup of 127.0.0.1:$primary_port into $dir/replica"
    # -R writes standby.signal and primary_conninfo; the slot keeps the WAL the standby still
    # needs however far behind it falls.
    as_owner "$bin/pg_basebackup" -h 127.0.0.1 -p "$primary_port" -U postgres \
        -D "$dir/replica" -R -X stream --checkpoint=fast -C -S truce_test_replica >&2
    port=$(start_server "$bin" "$dir/replica" "$dir" "replica")
    local tries=0 recovering=""
    while [ "$recovering" != "t" ]; do
        tries=$((tries + 1))
        recovering=$(as_owner "$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -d postgres -XAtq \
            -c "SELECT pg_is_in_recovery()" 2>/dev/null || true)
        if [ "$tries" -ge 60 ]; then
            say "the replica does not answer as a standby; its log follows"
            cat "$dir/replica.log" >&2 || true
            exit 1
        fi
        [ "$recovering" = "t" ] || sleep 1
    done
    say "hot standby of 127.0.0.1:$primary_port listening on 127.0.0.1:$port"
    local lines
    lines="export TRUCE_TEST_POSTGRES_REPLICA_URL=postgres://postgres@127.0.0.1:$port/postgres
export TRUCE_TEST_POSTGRES_REPLICA_DIR=$dir/replica"
    if [ -n "$env_file" ]; then
        echo "$lines" >>"$env_file"
    fi
    echo "$lines"
}

stop() {
    local dir="${1:-${TRUCE_TEST_POSTGRES_DIR:-}}" bin
    if [ -z "$dir" ] || [ ! -d "$dir/data" ]; then
        say "no cluster to stop (give its directory or set TRUCE_TEST_POSTGRES_DIR)"
        return 0
    fi
    bin=$(bindir)
    if [ -d "$dir/replica" ]; then
        as_owner "$bin/pg_ctl" --pgdata="$dir/replica" --mode=fast --wait stop >&2 || true
    fi
    as_owner "$bin/pg_ctl" --pgdata="$dir/data" --mode=fast --wait stop >&2 || true
    rm -rf "$dir"
    say "stopped and removed $dir"
}

case "${1:-}" in
start) start "${2:-}" ;;
replica) replica "${2:-}" ;;
stop) stop "${2:-}" ;;
*)
    echo "usage: $0 start [ENV_FILE] | replica [ENV_FILE] | stop [DIR]" >&2
    exit 2
    ;;
esac
