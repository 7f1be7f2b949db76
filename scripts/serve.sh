#!/usr/bin/env bash
# `make serve`: the production stack in the foreground, on the PostgreSQL that DATABASE_URL
# names. Migrates, collects the static files, then runs gunicorn (config/gunicorn.py) on
# HOST:PORT (127.0.0.1:8000 unless set) until Ctrl-C, which stops everything it started.
set -euo pipefail
cd "$(dirname "$0")/.."

: "${DATABASE_URL:?set DATABASE_URL to the PostgreSQL database (README, Production)}"
export DJANGO_SETTINGS_MODULE=config.settings.production
PYTHON=.venv/bin/python

"$PYTHON" manage.py migrate --no-input
"$PYTHON" manage.py collectstatic --no-input --verbosity 0

children=()
stop_children() {
    trap - EXIT INT TERM
    if [ ${#children[@]} -gt 0 ]; then
        kill -TERM "${children[@]}" 2>/dev/null || true
        wait "${children[@]}" 2>/dev/null || true
    fi
}
trap stop_children EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

echo "Starting the web server; Ctrl-C stops everything."
"$PYTHON" -m gunicorn --config config/gunicorn.py &
children+=($!)

echo "Starting the background worker (large exports, daily jobs)."
"$PYTHON" manage.py db_worker --no-reload &
children+=($!)

# Whichever child ends first (gunicorn failing to start, say) ends the rest and the script.
wait -n
