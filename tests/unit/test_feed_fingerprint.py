"""The time zone database's version, part of every feed's ETag."""

from __future__ import annotations

import importlib.metadata

from app.feeds import feeds


def test_the_system_database_names_its_version(tmp_path):
    empty, system = tmp_path / "empty", tmp_path / "zoneinfo"
    empty.mkdir()
    system.mkdir()
    (system / "tzdata.zi").write_text("# version 2031c\n# Some zone data\n", encoding="utf-8")
    assert feeds.tz_version([str(tmp_path / "missing"), str(empty), str(system)]) == "2031c"


def test_without_a_system_database_the_tzdata_package_names_it(tmp_path, monkeypatch):
    monkeypatch.setattr(importlib.metadata, "version", lambda name: {"tzdata": "2030.1"}[name])
    assert feeds.tz_version([str(tmp_path)]) == "2030.1"


def test_the_fingerprint_follows_the_zone_rules_and_the_translations(tmp_path, monkeypatch):
    catalogue = tmp_path / "nl" / "LC_MESSAGES" / "messages.mo"
    catalogue.parent.mkdir(parents=True)
    catalogue.write_bytes(b"one")
    monkeypatch.setattr(feeds, "TRANSLATIONS", tmp_path)

    def fingerprint(zones: str) -> str:
        monkeypatch.setattr(feeds, "tz_version", lambda: zones)
        feeds.fingerprint.cache_clear()
        return feeds.fingerprint()

    try:
        first = fingerprint("2031c")
        assert fingerprint("2031c") == first
        catalogue.write_bytes(b"two")
        translated = fingerprint("2031c")
        assert fingerprint("2031d") not in (first, translated) and translated != first
    finally:
        feeds.fingerprint.cache_clear()
