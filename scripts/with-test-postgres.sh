#!/usr/bin/env bash
# Run a command against a throwaway PostgreSQL server, then stop and remove it.
#
# PostgreSQL refuses to run as root, so when we are root the server runs as the
# unprivileged user "nobody". The server listens on 127.0.0.1 on a free port and
# DATABASE_URL is exported for the command.
set -euo pipefail

pg_bin() {
    local name=$1
    if command -v "$name" >/dev/null 2>&1; then command -v "$name"; return; fi
    local found
    found=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
    if [ -n "$found" ] && [ -x "$found/$name" ]; then echo "$found/$name"; return; fi
    echo "PostgreSQL's $name was not found: install the postgresql package." >&2
    exit 1
}
INITDB=$(pg_bin initdb)
PG_CTL=$(pg_bin pg_ctl)

DATA_DIR=$(mktemp -d /tmp/aid-test-pg.XXXXXX)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')

as_db_user() {
    if [ "$(id -u)" = "0" ]; then
        runuser -u nobody -- "$@"
    else
        "$@"
    fi
}

DB_USER=$( [ "$(id -u)" = "0" ] && echo nobody || id -un )
if [ "$(id -u)" = "0" ]; then chown nobody "$DATA_DIR"; fi

cleanup() {
    as_db_user "$PG_CTL" -D "$DATA_DIR/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$DATA_DIR"
}
trap cleanup EXIT

as_db_user "$INITDB" -D "$DATA_DIR/data" -U "$DB_USER" -A trust -E UTF8 --locale=C.UTF-8 >/dev/null
as_db_user "$PG_CTL" -D "$DATA_DIR/data" -l "$DATA_DIR/server.log" -w \
    -o "-p $PORT -k $DATA_DIR -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
    start >/dev/null

export DATABASE_URL="postgres://$DB_USER@127.0.0.1:$PORT/postgres"
"$@"
