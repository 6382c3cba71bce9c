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


# ---------------------------------------------------------------------------------------------
# On the database: publishing editions


@pytest.fixture
def blueprint(session, org):  # type: ignore[no-untyped-def]
    from decimal import Decimal

    from app.accounts.models import Role
    from app.exams import papers
    from app.exams.models import PaperKind
    from tests.exams.attempt_helpers import SINGLE, make_bank, make_question
    from tests.factories import make_user

    author = make_user(session, Role.instructor, unit=org["dept"], username="schedule_author")
    bank = make_bank(session, author)
    for i in range(5):
        make_question(session, bank, SINGLE, stem=f"日考题{i}", difficulty=2, tags=["会前"])
    paper = papers.create_paper(session, author, "每日抽题", kind=PaperKind.blueprint, bank_id=bank.id)
    papers.add_rule(session, author, paper, papers.RuleSpec(count=3, points=Decimal("2")))
    session.flush()
    return author, paper


def test_daily_editions_are_published_once_per_day(session, blueprint) -> None:  # type: ignore[no-untyped-def]
    from app.exams import schedules
    from app.exams.models import Exam

    author, paper = blueprint
    schedule = schedules.create_schedule(session, author, schedules.ScheduleIn(title="会议服务日考", kind="daily", paper_id=paper.id,
                                                                               tier="execution", time_limit_s=600))
    assert schedules.publish_due_editions(session, now=utc(2026, 11, 25, 23, 0)) == []  # 07:00 local: not yet
    first = schedules.publish_due_editions(session, now=utc(2026, 11, 26, 1, 0))
    assert [e.edition_key for e in first] == ["2026-11-26"]
    exam = first[0]
    assert exam.title == "会议服务日考（2026-11-26）" and exam.status == "published" and exam.kind == "daily"
    assert exam.opens_at == utc(2026, 11, 26, 0, 0) and exam.closes_at == utc(2026, 11, 27, 0, 0)
    assert exam.paper_snapshot["kind"] == "blueprint" and exam.tier == "execution" and exam.time_limit_s == 600
    assert schedules.publish_due_editions(session, now=utc(2026, 11, 26, 9, 0)) == []  # same day: nothing new
    schedule.last_edition_key = ""  # as if a second worker had not seen the first one's write
    assert schedules.publish_due_editions(session, now=utc(2026, 11, 26, 9, 0)) == []
    assert [e.edition_key for e in schedules.publish_due_editions(session, now=utc(2026, 11, 27, 0, 30))] == ["2026-11-27"]
    schedules.set_active(session, author, schedule.id, False)
    assert schedules.publish_due_editions(session, now=utc(2026, 11, 28, 0, 30)) == []
    assert len(session.exec(__import__("sqlmodel").select(Exam).where(Exam.schedule_id == schedule.id)).all()) == 2


def test_a_schedule_needs_a_satisfiable_blueprint(session, blueprint) -> None:  # type: ignore[no-untyped-def]
    from decimal import Decimal

    from app.core.errors import ValidationFailed
    from app.exams import papers, schedules
    from app.exams.models import PaperKind

    author, paper = blueprint
    papers.add_rule(session, author, paper, papers.RuleSpec(count=9, points=Decimal("1")))
    with pytest.raises(ValidationFailed):
        schedules.create_schedule(session, author, schedules.ScheduleIn(title="周考", kind="weekly", paper_id=paper.id))
    fixed = papers.create_paper(session, author, "固定卷", kind=PaperKind.fixed)
    with pytest.raises(ValidationFailed):
        schedules.create_schedule(session, author, schedules.ScheduleIn(title="周考", kind="weekly", paper_id=fixed.id))
