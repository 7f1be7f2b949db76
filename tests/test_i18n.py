"""The Chinese catalog is complete and the compiled .mo matches it."""
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
