"""The UTC column type refuses naive datetimes and always hands back aware UTC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy.dialects import postgresql, sqlite

from app.db import UTCDateTime, now_utc


def test_now_utc_is_aware_and_current():
    a = now_utc()
    assert a.tzinfo is UTC
    assert abs(datetime.now(UTC) - a) < timedelta(seconds=5)


def test_naive_datetime_is_refused():
    with pytest.raises(ValueError, match="naive"):
        UTCDateTime().process_bind_param(datetime(2027, 3, 28, 9, 0), sqlite.dialect())


def test_aware_datetime_is_stored_as_utc():
    amsterdam_summer = timezone(timedelta(hours=2))
    value = datetime(2027, 3, 28, 9, 0, tzinfo=amsterdam_summer)
    stored = UTCDateTime().process_bind_param(value, sqlite.dialect())
    assert stored == datetime(2027, 3, 28, 7, 0)  # naive UTC on SQLite
    stored = UTCDateTime().process_bind_param(value, postgresql.dialect())
    assert stored == datetime(2027, 3, 28, 7, 0, tzinfo=UTC)


def test_loaded_values_are_aware_utc():
    loaded = UTCDateTime().process_result_value(datetime(2027, 3, 28, 7, 0), sqlite.dialect())
    assert loaded == datetime(2027, 3, 28, 7, 0, tzinfo=UTC)
    assert loaded.tzinfo is UTC
