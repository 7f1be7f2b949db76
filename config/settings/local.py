"""Settings for manage.py on a developer's machine and for the demo.

DEBUG is on unless the environment says otherwise, so that management commands
(makemigrations, seed_demo, runserver) work in a fresh checkout with nothing set.
The web server in production uses config.settings.base (see config/wsgi.py).
"""
import os

os.environ.setdefault("DEBUG", "1")

from .base import *  # noqa: E402,F403
