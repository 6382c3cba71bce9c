"""Which edition of a recurring exam is due (pure)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from app.exams.schedules import current_edition


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_daily_edition_opens_at_local_time() -> None:
    # 2026-11-26 08:00 in Shanghai is 00:00 UTC
    assert current_edition("daily", utc(2026, 11, 25, 23, 59)) is None  # 07:59 local: not open yet
    edition = current_edition("daily", utc(2026, 11, 26, 0, 0))
    assert edition is not None and edition.key == "2026-11-26"
    assert edition.opens_at == utc(2026, 11, 26, 0, 0) and edition.closes_at == utc(2026, 11, 27, 0, 0)
    # shortly after local midnight but before 08:00 the new day's edition is not open yet
    assert current_edition("daily", utc(2026, 11, 25, 16, 30)) is None  # 00:30 local on the 26th


def test_weekly_and_monthly_editions() -> None:
    thursday = utc(2026, 11, 26, 4, 0)  # 12:00 local, ISO week 48
    edition = current_edition("weekly", thursday, weekday=1)
    assert edition is not None and edition.key == "2026-W48" and edition.opens_at == utc(2026, 11, 23, 0, 0)
    assert current_edition("weekly", thursday, weekday=5) is None  # opens on Friday
    feb = current_edition("monthly", utc(2027, 2, 28, 12, 0), month_day=31)  # clamped to the 28th
    assert feb is not None and feb.key == "2027-02" and feb.opens_at == utc(2027, 2, 28, 0, 0)
    with pytest.raises(ValueError):
        current_edition("hourly", thursday)
