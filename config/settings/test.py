"""Test settings: the suite runs against the PostgreSQL named by DATABASE_URL."""
import os

os.environ.setdefault("SECRET_KEY", "test-only-secret-key")

from .base import *  # noqa: E402,F403

if not os.environ.get("DATABASE_URL"):
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured("The tests run on PostgreSQL: set DATABASE_URL (make test does).")

DATABASES["default"]["CONN_MAX_AGE"] = 0  # noqa: F405
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
DEBUG = False
ALLOWED_HOSTS = ["*"]
