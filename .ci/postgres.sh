#!/usr/bin/env bash
# A private, throwaway PostgreSQL cluster for the store's conformance suite.
#
#   eval "$(.ci/postgres.sh start)"   # prints the export lines below; progress goes to stderr
#   .ci/postgres.sh stop              # stops the cluster named by TRUCE_TEST_POSTGRES_DIR and removes it
#
# start creates a fresh temporary directory, runs initdb in it (as the `postgres` user when run
# as root, since initdb refuses root), starts the server on a free port of 127.0.0.1 with its
# socket in that directory and trust authentication (loopback only, test data only), checks that
# the PostGIS extension is available, and prints:
#   export TRUCE_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:PORT/postgres
#   export TRUCE_TEST_POSTGRES_DIR=DIR
# With a file name as second argument, start also writes those lines to that file.
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

start() {
    local out_file="${1:-}" bin dir port tries
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
    tries=0
    while :; do
        tries=$((tries + 1))
        port=$((20000 + RANDOM % 30000))
        if port_in_use "$port"; then
            continue
        fi
        # fsync off: the cluster is thrown away after the tests and never survives a crash.
        if as_owner "$bin/pg_ctl" --pgdata="$dir/data" --log="$dir/server.log" --wait --timeout=60 \
            -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$dir -c max_connections=200 -c fsync=off -c full_page_writes=off" \
            start >&2; then
            break
        fi
        if [ "$tries" -ge 5 ]; then
            say "the server did not start; its log follows"
            cat "$dir/server.log" >&2 || true
            exit 1
        fi
        say "port $port was taken, trying another"
    done
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

stop() {
    local dir="${1:-${TRUCE_TEST_POSTGRES_DIR:-}}" bin
    if [ -z "$dir" ] || [ ! -d "$dir/data" ]; then
        say "no cluster to stop (give its directory or set TRUCE_TEST_POSTGRES_DIR)"
        return 0
    fi
    bin=$(bindir)
    as_owner "$bin/pg_ctl" --pgdata="$dir/data" --mode=fast --wait stop >&2 || true
    rm -rf "$dir"
    say "stopped and removed $dir"
}

case "${1:-}" in
start) start "${2:-}" ;;
stop) stop "${2:-}" ;;
*)
    echo "usage: $0 start [ENV_FILE] | stop [DIR]" >&2
    exit 2
    ;;
esac
