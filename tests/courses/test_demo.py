"""The courses demo: three curricula, a dozen published courses in five material forms, enrolments by
rule, a prerequisite chain and realistic progress; seeding twice creates nothing new."""

from __future__ import annotations

from sqlmodel import func, select

from app.accounts import demo as accounts_demo
from app.accounts import service as accounts
from app.courses import demo, reads
from app.courses.models import (
    Course,
    Curriculum,
    Enrolment,
    EnrolmentRule,
    HoursEntry,
    Material,
    MaterialProgress,
    Prerequisite,
)
from app.standards import demo as standards_demo

COUNTED = (Curriculum, Course, Material, Prerequisite, EnrolmentRule, Enrolment, MaterialProgress, HoursEntry)


def _counts(session):  # type: ignore[no-untyped-def]
    return {model.__name__: session.exec(select(func.count()).select_from(model)).one() for model in COUNTED}


def test_demo_seed_is_idempotent_and_realistic(session) -> None:  # type: ignore[no-untyped-def]
    accounts_demo.seed(session)
    standards_demo.seed(session)
    first = demo.seed(session)
    before = _counts(session)
    again = demo.seed(session)
    assert first["courses_created"] >= 12 and again["courses_created"] == 0 and again["enrolments_created"] == 0
    assert _counts(session) == before
    assert before["Curriculum"] == 3 and before["Prerequisite"] >= 2
    courses = session.exec(select(Course)).all()
    assert all(c.published_number == 1 for c in courses) and {c.is_required for c in courses} == {True, False}
    assert {m.kind for m in session.exec(select(Material)).all()} == {"text", "video", "picture_book", "scene", "visual_assessment"}
    assert any(m.config.get("clause_ids") for m in session.exec(select(Material).where(Material.kind == "text")).all())

    trainee = accounts.get_user_by_username(session, "trainee")
    mine = reads.my_learning(session, trainee)
    statuses = {c.course.title: c.status.value for c in mine.courses}
    assert statuses["会议服务基础"] == "completed" and statuses["视频会议保障"] == "in_progress"
    assert mine.hours_this_year == 2 and any(c.overdue for c in mine.courses)
    assert any(c.blocked_by for c in mine.courses)
    trainee2 = accounts.get_user_by_username(session, "trainee2")
    assert any(c.status.value == "in_progress" for c in reads.my_learning(session, trainee2).courses)
