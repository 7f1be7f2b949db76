"""Settings for a real installation: DJANGO_SETTINGS_MODULE=config.settings.production.

Everything comes from the environment (the README's "Production" section lists every
variable; deploy/aid.env.example is the file to copy). The settings refuse to start when
the installation would be unsafe or would silently fall back to the demo's SQLite file.

The HTTPS protections are on by default and each can be switched off by its own variable
for a bureau that serves the app over plain HTTP on its intranet. `check --deploy` then
warns about what was switched off, which is what it is for.
"""
import os

from django.core.exceptions import ImproperlyConfigured

# Checked before base.py runs: without DATABASE_URL it would create the demo's var/ folder.
for required in ("SECRET_KEY", "DATABASE_URL"):
    if not os.environ.get(required):
        raise ImproperlyConfigured(f"{required} must be set in production (README, Production).")

from .base import *  # noqa: E402,F403
from .base import MIDDLEWARE, env_bool  # noqa: E402

if DEBUG:  # noqa: F405
    raise ImproperlyConfigured("DEBUG must be off in production: unset it.")

# Persistent connections are checked before reuse, so a restarted PostgreSQL costs no errors.
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True  # noqa: F405

# --- HTTPS --------------------------------------------------------------------------------
# nginx terminates HTTPS and tells the app with X-Forwarded-Proto (deploy/nginx/aid.conf).
# Trust that header only while gunicorn can be reached through the proxy alone.
if env_bool("SECURE_PROXY_SSL_HEADER", True):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# nginx also names the client's address in X-Forwarded-For, which the login lockout and the
# login log read (accounts.addresses); BEHIND_PROXY=0 when gunicorn is reached directly.
BEHIND_PROXY = env_bool("BEHIND_PROXY", True)
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
# Monitoring asks /healthz over plain HTTP on the app server itself.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", str(365 * 24 * 3600)))
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", True)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE

# --- Static files -------------------------------------------------------------------------
# collectstatic writes hashed, compressed copies to STATIC_ROOT (config/static_storage.py);
# WhiteNoise serves them when nothing in front of gunicorn does (nginx serves the same folder).
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "config.static_storage.StaticFilesStorage"},
}
_after_security = MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1
MIDDLEWARE = [
    *MIDDLEWARE[:_after_security],
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "config.request_log.RequestLogMiddleware",
    *MIDDLEWARE[_after_security:],
]

# --- Logs ---------------------------------------------------------------------------------
# Everything to stdout (systemd's journal keeps it): one line per request with its user
# (config.request_log), and every 500 with its traceback (Django's "django.request" logger).
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {
        "stdout": {"class": "logging.StreamHandler", "stream": "ext://sys.stdout", "formatter": "plain"},
    },
    "root": {"handlers": ["stdout"], "level": os.environ.get("LOG_LEVEL", "INFO")},
}
