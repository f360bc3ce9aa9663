"""Every UI string has a Dutch and an English translation."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "app" / "translations"
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None, "_l": None, "N_": None}


def source_messages() -> set[str]:
    method_map = [("app/**.py", "python"), ("app/templates/**.html", "jinja2")]
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map=method_map, keywords=KEYWORDS
    ):
        found.add(message if isinstance(message, str) else message[0])
    return found


@pytest.fixture(scope="module")
def messages() -> set[str]:
    found = source_messages()
    assert len(found) > 50
    return found


@pytest.mark.parametrize("language", ["nl", "en"])
def test_every_message_is_translated(messages, language):
    with open(TRANSLATIONS / language / "LC_MESSAGES" / "messages.po", "rb") as f:
        catalog = read_po(f)
    missing = sorted(m for m in messages if not (catalog.get(m) and catalog.get(m).string))
    assert not missing, f"untranslated in {language}: {missing}"
    fuzzy = sorted(m.id for m in catalog if m.id and m.fuzzy)
    assert not fuzzy, f"fuzzy in {language}: {fuzzy}"


@pytest.mark.parametrize("language", ["nl", "en"])
def test_compiled_catalogue_is_current(messages, language):
    """The build compiles the .po files; a stale .mo would show old text."""
    with open(TRANSLATIONS / language / "LC_MESSAGES" / "messages.mo", "rb") as f:
        compiled = read_mo(f)
    stale = sorted(m for m in messages if not (compiled.get(m) and compiled.get(m).string))
    assert not stale, f"run `make translations`: {stale[:5]}"


def test_dutch_is_really_dutch(messages):
    """A catalogue that copies the English would pass the test above; catch that."""
    with open(TRANSLATIONS / "nl" / "LC_MESSAGES" / "messages.po", "rb") as f:
        catalog = read_po(f)
    same = [m for m in messages if catalog.get(m) and catalog.get(m).string == m and len(m) > 12]
    assert len(same) <= len(messages) // 20, same
