#!/usr/bin/env bash
# Back up the database DATABASE_URL names: pg_dump's custom format (compressed, restored with
# scripts/restore.sh) into BACKUP_DIR as aid-YYYYMMDD-HHMMSS.dump, keeping the newest
# BACKUP_KEEP copies (default 14) and deleting older ones. Prints the new file's path.
# Then copies the uploaded evidence (MEDIA_ROOT/evidence: photos, scanned signed rosters),
# which is not in the database, into BACKUP_DIR/evidence: files added since the last run,
# and none taken away (the application never deletes evidence, so one copy holds it all).
set -euo pipefail
scripts=$(dirname "$0")
# shellcheck source=scripts/pg-bin.sh
source "$scripts/pg-bin.sh"

: "${DATABASE_URL:?set DATABASE_URL to the database to back up}"
BACKUP_DIR=${BACKUP_DIR:-$(cd "$scripts/.." && pwd)/var/backups}
BACKUP_KEEP=${BACKUP_KEEP:-14}
MEDIA_ROOT=${MEDIA_ROOT:-$(cd "$scripts/.." && pwd)/var/media}  # as config/settings/base.py
case $BACKUP_KEEP in
    '' | *[!0-9]* | 0) echo "BACKUP_KEEP must be a whole number of copies, at least 1." >&2; exit 2 ;;
esac
PG_DUMP=$(pg_bin pg_dump)

mkdir -p "$BACKUP_DIR"
backup="$BACKUP_DIR/aid-$(date +%Y%m%d-%H%M%S).dump"
# Written under a temporary name, so a dump that fails half-way is never taken for a backup
# and never causes an older, good one to be deleted.
trap 'rm -f "$backup.partial"' EXIT
"$PG_DUMP" --format=custom --dbname="$DATABASE_URL" --file="$backup.partial"
mv "$backup.partial" "$backup"

# The names sort by date: everything before the newest BACKUP_KEEP goes.
find "$BACKUP_DIR" -maxdepth 1 -name 'aid-*.dump' -printf '%f\n' | sort -r | tail -n +"$((BACKUP_KEEP + 1))" |
    while read -r old; do rm -- "$BACKUP_DIR/$old"; done

if [ -d "$MEDIA_ROOT/evidence" ]; then
    mkdir -p "$BACKUP_DIR/evidence"
    # --update: a file already copied, and not changed since, is not copied again.
    cp -a --update "$MEDIA_ROOT/evidence/." "$BACKUP_DIR/evidence/"
fi
echo "$backup"
