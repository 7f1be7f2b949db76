"""The Chinese catalog is complete, holds every message of the sources, and the compiled .mo
matches it."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import polib
import pytest

LOCALE = Path(__file__).resolve().parent.parent / "locale" / "zh_Hans" / "LC_MESSAGES"


@pytest.fixture(scope="module")
def catalog():
    return polib.pofile(str(LOCALE / "django.po"))


def test_every_message_is_translated_and_none_is_fuzzy(catalog):
    assert catalog.untranslated_entries() == []
    assert catalog.fuzzy_entries() == []


def test_compiled_catalog_matches_the_source(catalog):
    compiled = {(entry.msgctxt, entry.msgid): entry for entry in polib.mofile(str(LOCALE / "django.mo"))}
    stale = [
        entry.msgid
        for entry in catalog.translated_entries()
        if (entry.msgctxt, entry.msgid) not in compiled
        or compiled[(entry.msgctxt, entry.msgid)].msgstr != entry.msgstr
        and not entry.msgid_plural
    ]
    assert stale == [], "run `make messages` to recompile the catalog"


def test_placeholders_survive_translation(catalog):
    import re

    placeholder = re.compile(r"%\(\w+\)[sd]")
    for entry in catalog.translated_entries():
        translation = entry.msgstr or entry.msgstr_plural.get(0, "")
        assert sorted(placeholder.findall(entry.msgid)) == sorted(placeholder.findall(translation)), entry.msgid


@pytest.mark.skipif(shutil.which("xgettext") is None, reason="needs gettext's xgettext")
def test_the_catalog_has_every_message_of_the_sources(catalog, tmp_path):
    """makemessages on a copy of the sources finds no message the catalog lacks."""
    root = LOCALE.parents[2]
    for name in ("manage.py", "config", "common", "students", "aid", "demo", "jobs", "accounts", "notices", "templates",
                 "locale"):
        source = root / name
        if source.is_dir():
            shutil.copytree(source, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(source, tmp_path / name)
    subprocess.run(
        [sys.executable, "manage.py", "makemessages", "-l", "zh_Hans", "--no-obsolete", "-v", "0"],
        cwd=tmp_path, check=True, env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.local"},
    )
    found = polib.pofile(str(tmp_path / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"))
    missing = {(e.msgctxt, e.msgid) for e in found} - {(e.msgctxt, e.msgid) for e in catalog}
    assert missing == set(), "run `make messages` and translate the new messages"
