#!/usr/bin/env bash
# Restore a backup made by scripts/backup.sh into the database DATABASE_URL names:
#   scripts/restore.sh [--force] FILE
# The database must exist (createdb) and be empty; --force restores over one that is not,
# replacing every table the backup holds. The restore is one transaction: if it fails,
# the database is left as it was.
set -euo pipefail
# shellcheck source=scripts/pg-bin.sh
source "$(dirname "$0")/pg-bin.sh"

usage() { echo "usage: scripts/restore.sh [--force] FILE" >&2; exit 2; }
force=no
case ${1:-} in
    --force) force=yes; shift ;;
    -*) usage ;;
esac
[ $# -eq 1 ] || usage
backup=$1
[ -f "$backup" ] || { echo "$backup: no such file" >&2; exit 2; }
: "${DATABASE_URL:?set DATABASE_URL to the database to restore into}"
PSQL=$(pg_bin psql)
PG_RESTORE=$(pg_bin pg_restore)

tables=$("$PSQL" --dbname="$DATABASE_URL" --no-psqlrc --tuples-only --no-align --command \
    "SELECT count(*) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')")
if [ "$tables" != 0 ] && [ $force = no ]; then
    echo "The database already has $tables tables: restoring would overwrite them." >&2
    echo "Restore into a new, empty database, or pass --force to overwrite." >&2
    exit 1
fi

clean=()
if [ $force = yes ]; then clean=(--clean --if-exists); fi
"$PG_RESTORE" --dbname="$DATABASE_URL" --single-transaction --no-owner --no-privileges "${clean[@]}" "$backup"
echo "Restored $backup."
