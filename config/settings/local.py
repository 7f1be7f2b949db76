"""Settings for manage.py on a developer's machine and for the demo.

DEBUG is on unless the environment says otherwise, so that management commands
(makemigrations, seed_demo, runserver) work in a fresh checkout with nothing set.
A real installation uses config.settings.production (see config/wsgi.py and the README).
"""
import os

os.environ.setdefault("DEBUG", "1")

from .base import *  # noqa: E402,F403
