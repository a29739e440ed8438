#!/usr/bin/env bash
# Prints the URL of a PostgreSQL server the tests can use, starting a throwaway one if needed:
#   1. TEST_DATABASE_URL when set;
#   2. postgresql://postgres@127.0.0.1:5432/postgres when it answers;
#   3. a new cluster made with initdb in $THROWAWAY_PG_DIR, on port 55432 (stop it with --stop).
set -euo pipefail

THROWAWAY_PG_DIR=${THROWAWAY_PG_DIR:-/tmp/cronjobs-test-pg}
THROWAWAY_PG_PORT=${THROWAWAY_PG_PORT:-55432}

pg_bin() {
    local found
    found=$(command -v "$1" 2>/dev/null || ls -d /usr/lib/postgresql/*/bin/"$1" 2>/dev/null | sort -V | tail -n 1)
    [ -n "$found" ] || { echo "ensure_postgres: $1 not found; install PostgreSQL or set TEST_DATABASE_URL" >&2; exit 1; }
    echo "$found"
}

as_owner() {
    # initdb and postgres refuse to run as root; use the postgres account when we are root.
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

if [ "${1:-}" = "--stop" ]; then
    # Only a cluster this script started is stopped.
    if [ -f "$THROWAWAY_PG_DIR/started-by-tests" ]; then
        as_owner "$(pg_bin pg_ctl)" -D "$THROWAWAY_PG_DIR" -m fast stop >/dev/null
        rm -f "$THROWAWAY_PG_DIR/started-by-tests"
    fi
    exit 0
fi

if [ -n "${TEST_DATABASE_URL:-}" ]; then
    echo "$TEST_DATABASE_URL"
    exit 0
fi

answers() {
    "$(pg_bin pg_isready)" -q -h 127.0.0.1 -p "$1" -U postgres -t 3
}

if answers 5432; then
    echo "postgresql://postgres@127.0.0.1:5432/postgres"
    exit 0
fi

if ! answers "$THROWAWAY_PG_PORT"; then
    echo "ensure_postgres: nothing answers on 127.0.0.1:5432; starting a throwaway cluster in $THROWAWAY_PG_DIR" >&2
    if [ ! -f "$THROWAWAY_PG_DIR/PG_VERSION" ]; then
        mkdir -p "$THROWAWAY_PG_DIR"
        [ "$(id -u)" = 0 ] && chown postgres "$THROWAWAY_PG_DIR"
        as_owner "$(pg_bin initdb)" -D "$THROWAWAY_PG_DIR" -U postgres --auth=trust >/dev/null
    fi
    as_owner "$(pg_bin pg_ctl)" -D "$THROWAWAY_PG_DIR" -w -l "$THROWAWAY_PG_DIR/server.log" \
        -o "-c listen_addresses=127.0.0.1 -p $THROWAWAY_PG_PORT -k /tmp -c fsync=off" start >/dev/null
    touch "$THROWAWAY_PG_DIR/started-by-tests"
fi
echo "postgresql://postgres@127.0.0.1:$THROWAWAY_PG_PORT/postgres"
