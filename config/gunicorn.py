"""gunicorn's settings, for `make serve` (scripts/serve.sh) and the aid-web systemd unit.

HOST and PORT say where it listens: 127.0.0.1:8000, with nginx in front, unless one nginx
shares the work between several app servers (then HOST=0.0.0.0). WEB_CONCURRENCY is the
number of worker processes: by default two per core and one more, at most 8, since each
holds a database connection and a hundred megabytes or so. GUNICORN_TIMEOUT is how many
seconds a request may take before its worker is replaced; the largest exports take about
half a minute (nginx's proxy timeouts in deploy/nginx/aid.conf match it).
"""
import os

wsgi_app = "config.wsgi:application"
bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY") or min(2 * (os.cpu_count() or 1) + 1, 8))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "120"))
# Django writes one line per request with its user (config.request_log): no second one here.
accesslog = None
# Stopped and reloaded by signals (Ctrl-C, systemd); no gunicornc control socket, which two
# servers started by the same user would otherwise fight over.
control_socket_disable = True


def when_ready(server):
    """Says where to point a browser once gunicorn listens (make serve adds how to stop it)."""
    print(f"Serving on http://{bind}/", flush=True)
