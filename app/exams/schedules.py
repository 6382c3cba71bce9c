"""Recurring exams (日考/周考/月考): which edition of a schedule is due, and publishing it.

Periods are counted in Asia/Shanghai. A daily schedule's edition for 2026-11-26 is keyed "2026-11-26"
and opens that day at `opens_at_local`; a weekly one is keyed by ISO week ("2026-W48") and opens on its
ISO weekday; a monthly one "2026-11", opening on `month_day` (the last day when the month is shorter).
Each edition stays open `window_hours`. The worker's periodic job calls `publish_due_editions`; the
unique (schedule_id, edition_key) constraint makes a second worker's publish of the same edition fail
harmlessly, so an edition is published exactly once.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from app.core.timeutil import DISPLAY_TZ


@dataclass(frozen=True)
class Edition:
    key: str
    opens_at: datetime  # UTC
    closes_at: datetime  # UTC


def _at(day: date, hhmm: str) -> datetime:
    hours, minutes = (int(part) for part in hhmm.split(":"))
    return datetime.combine(day, time(hours, minutes), tzinfo=DISPLAY_TZ).astimezone(UTC)


def current_edition(kind: str, now: datetime, *, opens_at_local: str = "08:00", window_hours: int = 24,
                    weekday: int = 1, month_day: int = 1) -> Edition | None:
    """The edition of the period containing `now`, once it has opened; None before that."""
    today = now.astimezone(DISPLAY_TZ).date()
    if kind == "daily":
        day, key = today, today.isoformat()
    elif kind == "weekly":
        year, week, _ = today.isocalendar()
        day, key = date.fromisocalendar(year, week, min(max(weekday, 1), 7)), f"{year}-W{week:02d}"
    elif kind == "monthly":
        last = calendar.monthrange(today.year, today.month)[1]
        day, key = today.replace(day=min(max(month_day, 1), last)), f"{today.year}-{today.month:02d}"
    else:
        raise ValueError(f"unknown schedule kind {kind!r}")
    opens = _at(day, opens_at_local)
    if now < opens:
        return None
    return Edition(key, opens, opens + timedelta(hours=window_hours))
