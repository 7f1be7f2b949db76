"""Settings read from the environment.

DATABASE_URL selects PostgreSQL in production and in tests; without it the demo runs on
an embedded SQLite file under var/ so that a newcomer needs nothing installed.
"""
import datetime
import os
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = BASE_DIR / "var"


def env_bool(name, default=False):
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name, default=""):
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = "insecure-demo-key-only-for-local-runs"
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_filters",
    "simple_history",
    "pgtrigger",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "students",
    "aid",
    "demo",
    "django_tasks",
    "django_tasks_db",
    "jobs",
    "accounts",
    "notices",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "common.replicas.ReplicaMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "accounts.middleware.SessionLimitsMiddleware",
    "accounts.middleware.AccountStepsMiddleware",
    "accounts.middleware.NoStoreMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # Last, as django-axes asks: it turns a refused login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "config.navigation.navigation",
                "notices.context_processors.unread_notifications",
            ],
        },
    },
]

if not os.environ.get("DATABASE_URL"):
    VAR_DIR.mkdir(exist_ok=True)

DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{VAR_DIR / 'demo.sqlite3'}",
        conn_max_age=int(os.environ.get("CONN_MAX_AGE", "60")),
    )
}
# A streaming replica of the primary, for reads (common.replicas: which reads go there).
if os.environ.get("DATABASE_REPLICA_URL"):
    DATABASES["replica"] = dj_database_url.parse(
        os.environ["DATABASE_REPLICA_URL"], conn_max_age=DATABASES["default"]["CONN_MAX_AGE"]
    )
    # Tests use the primary's test database, which the replica streams like any other.
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
# PostgreSQL's planner by default prices reading a row through an index as if from a
# spinning disk (random_page_cost 4). The tables a county reads are in memory or on an SSD:
# priced as such, a school's figures look up its few students by their keys instead of
# hashing every student of the province (a school's home page 0.66 -> 0.42 s, the case list
# 297 -> 79 ms at 200,000 students; BENCHMARKS.md). Set for each connection, so that it holds
# whatever the server's own configuration.
for database in DATABASES.values():
    if database["ENGINE"].endswith("postgresql"):
        options = database.setdefault("OPTIONS", {})
        options["options"] = f"{options.get('options', '')} -c random_page_cost=1.1".strip()
DATABASE_ROUTERS = ["common.replicas.ReplicaRouter"]
# The demo's SQLite builds the students' covering index without its included columns, which
# only save PostgreSQL reading the rows; nothing for whoever runs the demo to act on.
SILENCED_SYSTEM_CHECKS = ["models.W040"]
# After a request that wrote, its user reads from the primary this long (the replica's lag).
REPLICA_PIN_SECONDS = float(os.environ.get("REPLICA_PIN_SECONDS", "5"))
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "students.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
# django-axes first: it refuses a locked-out login before the password is even checked.
# axes first (it refuses a locked-out login before the password is checked); the model
# backend that loads each request's user with the bell's unread count (notices).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "notices.backends.ModelBackendWithUnreadCount",
]
# Passwords as a level-3 (等保三级) assessment expects: long enough and of several kinds of
# character (lower case, upper case, digits, symbols); both numbers can be raised.
PASSWORD_MIN_LENGTH = int(os.environ.get("PASSWORD_MIN_LENGTH", "8"))
PASSWORD_CHARACTER_CLASSES = int(os.environ.get("PASSWORD_CHARACTER_CLASSES", "3"))
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": PASSWORD_MIN_LENGTH},
    },
    {
        "NAME": "accounts.validators.CharacterClassesValidator",
        "OPTIONS": {"min_classes": PASSWORD_CHARACTER_CLASSES},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Login lockout (django-axes) ----------------------------------------------------------
# LOGIN_FAILURE_LIMIT wrong passwords for one login, or from one address, lock that login or
# that address out for LOGIN_LOCKOUT_MINUTES; the login page says so in Chinese.
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
AXES_FAILURE_LIMIT = int(os.environ.get("LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = datetime.timedelta(minutes=int(os.environ.get("LOGIN_LOCKOUT_MINUTES", "30")))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]  # each on its own, not the pair
AXES_RESET_ON_SUCCESS = True
# The lockout ends when the page says it will, even if the login is tried again meanwhile.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_LOCKOUT_CALLABLE = "accounts.views.locked_out"
AXES_CLIENT_IP_CALLABLE = "accounts.addresses.client_address"
AXES_DISABLE_ACCESS_LOG = True  # accounts.LoginEvent is the log of logins and logouts
AXES_VERBOSE = False  # its log lines hide the login and the address anyway; LoginEvent has them
# Behind nginx the connection comes from nginx: the client's address is the last one nginx
# appended to X-Forwarded-For. Only production, where nginx is in front, says so.
BEHIND_PROXY = env_bool("BEHIND_PROXY", False)

# --- Sessions -----------------------------------------------------------------------------
# A session ends after SESSION_IDLE_MINUTES without a request, and in any case
# SESSION_MAX_HOURS after the login (accounts.middleware.SessionLimitsMiddleware).
SESSION_IDLE_MINUTES = int(os.environ.get("SESSION_IDLE_MINUTES", "30"))
SESSION_MAX_HOURS = int(os.environ.get("SESSION_MAX_HOURS", "12"))
SESSION_COOKIE_AGE = SESSION_MAX_HOURS * 3600

# --- Two-factor login (django-otp) --------------------------------------------------------
# When on, bureau administrators and superusers (IT staff) give a code from an
# authenticator app after their password, or one of their one-time recovery codes.
TWO_FACTOR_REQUIRED = env_bool("TWO_FACTOR_REQUIRED", False)
OTP_TOTP_ISSUER = os.environ.get("OTP_TOTP_ISSUER", "学生资助管理系统")
# Accounts that seed_demo makes keep the printed password unless this is on.
DEMO_MUST_CHANGE_PASSWORD = env_bool("DEMO_MUST_CHANGE_PASSWORD", False)

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
FORMAT_MODULE_PATH = ["config.formats"]  # amounts grouped by thousands in Chinese too
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "staticfiles"))

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
X_FRAME_OPTIONS = "DENY"

# Content-Security-Policy (django-csp): scripts, styles, images and fonts from this site
# only, never inline; the QR code of the two-factor enrolment is inline SVG markup.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# The county whose staff use this installation: names the distribution table's title.
COUNTY_NAME = os.environ.get("COUNTY_NAME", "")

# E-mail: the daily digest of notifications, for staff with an e-mail address. Printed to
# the worker's log (the console) unless EMAIL_HOST names a mail server.
EMAIL_HOST = os.environ.get("EMAIL_HOST", "")
EMAIL_BACKEND = (
    "django.core.mail.backends.smtp.EmailBackend" if EMAIL_HOST else "django.core.mail.backends.console.EmailBackend"
)
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = os.environ.get("EMAIL_USE_TLS", "") == "1"
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "webmaster@localhost")
# The address people open the app at (e.g. https://aid.example), for the links in e-mails.
SITE_URL = os.environ.get("SITE_URL", "").rstrip("/")

SIMPLE_HISTORY_HISTORY_CHANGE_REASON_USE_TEXT_FIELD = True

# The audit trail (history tables, export log) is kept this many days, at least 183
# (common.audit); the daily job removes older rows. README: Audit trail and retention.
AUDIT_RETENTION_DAYS = int(os.environ.get("AUDIT_RETENTION_DAYS", str(3 * 365)))
# Uploaded roster files hold full ID numbers: the daily job deletes a file this many days
# after its upload when it was never applied, and this many days after it was applied.
ROSTER_FILE_UNAPPLIED_DAYS = int(os.environ.get("ROSTER_FILE_UNAPPLIED_DAYS", "14"))
ROSTER_FILE_APPLIED_DAYS = int(os.environ.get("ROSTER_FILE_APPLIED_DAYS", "30"))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
}

# Background work (jobs/): django-tasks with its database backend, so the queue is a table
# of the app's own PostgreSQL and `manage.py db_worker` runs on any number of machines. The
# SQLite demo runs each job in the request instead (no worker to start).
TASKS = {
    "default": {
        "BACKEND": os.environ.get(
            "TASKS_BACKEND",
            "django_tasks_db.DatabaseBackend"
            if DATABASES["default"].get("ENGINE", "").endswith("postgresql")
            else "django_tasks.backends.immediate.ImmediateBackend",
        )
    }
}
# Exports of more rows than this run in the worker, with a progress bar and "my downloads".
BACKGROUND_EXPORT_ROWS = int(os.environ.get("BACKGROUND_EXPORT_ROWS", "5000"))
# Roster imports of more rows than this are applied (and reverted) in the worker.
BACKGROUND_IMPORT_ROWS = int(os.environ.get("BACKGROUND_IMPORT_ROWS", "3000"))
DOWNLOADS_KEPT_DAYS = int(os.environ.get("DOWNLOADS_KEPT_DAYS", "7"))
WORKER_STALL_SECONDS = int(os.environ.get("WORKER_STALL_SECONDS", "300"))
# Generated files and uploads live in the default storage: a directory every app server
# shares (MEDIA_ROOT; README, Production), never one server's own disk.
MEDIA_ROOT = os.environ.get("MEDIA_ROOT", str(VAR_DIR / "media"))
