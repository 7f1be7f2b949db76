# shellcheck shell=bash
# Sourced by backup.sh and restore.sh: `pg_bin NAME` prints the path of PostgreSQL's
# program NAME, from PATH or else from the newest /usr/lib/postgresql/*/bin (Debian keeps
# the versioned programs there), and stops the script when there is none.
pg_bin() {
    local name=$1
    if command -v "$name" >/dev/null 2>&1; then command -v "$name"; return; fi
    local found
    found=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
    if [ -n "$found" ] && [ -x "$found/$name" ]; then echo "$found/$name"; return; fi
    echo "PostgreSQL's $name was not found: install the postgresql-client package." >&2
    exit 1
}
