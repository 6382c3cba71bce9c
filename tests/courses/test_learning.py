"""Learning: enrolment (manual, bulk, by rule; idempotent), prerequisites, progress across versions,
completion awarding hours exactly once (also concurrently), the Shanghai-year ledger, requirements,
read models and the district administrator's scope."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlmodel import select

from app.accounts.models import Role, Tier
from app.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from app.courses import learning, publishing, reads, reports, service, structure
from app.courses.models import Enrolment, HoursEntry
from app.courses.schemas import EnrolmentIn, MaterialIn, MaterialUpdate, RuleIn
from tests.courses.conftest import TEXT
from tests.factories import make_user

T0 = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)


def finish(session, user, built, now=T0):  # type: ignore[no-untyped-def]
    text, book, video = built.materials
    learning.mark_read(session, user, built.id, text.id, now=now)
    learning.page_seen(session, user, built.id, book.id, 0, now=now)
    learning.page_seen(session, user, built.id, book.id, 1, now=now)
    return learning.complete_material(session, user, built.id, video.id, now=now)


def test_manual_enrolment_is_idempotent_and_scoped(session, org, build_course, admin, district_admin, trainee) -> None:
    built = build_course()
    first = learning.enrol(session, admin, built.course, trainee, EnrolmentIn(start_on=date(2026, 1, 1), due_on=date(2026, 3, 1)))
    again = learning.enrol(session, admin, built.course, trainee)
    assert first.id == again.id and again.due_on == date(2026, 3, 1)
    others = [make_user(session, Role.trainee, unit=org["unit_a1"]) for _ in range(3)]
    assert learning.enrol_many(session, district_admin, built.course, [trainee, *others]) == 3
    assert len(session.exec(select(Enrolment).where(Enrolment.course_id == built.id)).all()) == 4
    outsider = make_user(session, Role.trainee, unit=org["unit_b1"])
    with pytest.raises(PermissionDenied):
        learning.enrol(session, district_admin, built.course, outsider)
    with pytest.raises(PermissionDenied):
        learning.enrol(session, trainee, built.course, outsider)
    draft = build_course("未发布", publish=False)
    with pytest.raises(Conflict):
        learning.enrol(session, admin, draft.course, trainee)


def test_rules_enrol_by_tier_and_subtree(session, org, build_course, admin, district_admin) -> None:
    built = build_course()
    a_exec = make_user(session, Role.trainee, unit=org["unit_a1"], tier=Tier.execution)
    a_mgmt = make_user(session, Role.trainee, unit=org["unit_a1"], tier=Tier.management)
    b_exec = make_user(session, Role.trainee, unit=org["unit_b1"], tier=Tier.execution)
    make_user(session, Role.instructor, unit=org["unit_a1"], tier=Tier.execution)  # not a trainee
    with pytest.raises(ValidationFailed):
        learning.add_rule(session, district_admin, built.course, RuleIn(tier=Tier.execution))  # no unit: whole city
    learning.add_rule(session, district_admin, built.course, RuleIn(tier=Tier.execution, org_unit_id=org["district_a"].id, due_days=30))
    assert learning.apply_rules(session, course=built.course, now=T0) == 1
    assert learning.apply_rules(session, course=built.course, now=T0) == 0  # idempotent
    enrolled = {e.user_id: e for e in session.exec(select(Enrolment)).all()}
    assert set(enrolled) == {a_exec.id}
    assert enrolled[a_exec.id].source == "rule" and enrolled[a_exec.id].due_on == date(2026, 7, 1)
    learning.add_rule(session, admin, built.course, RuleIn(tier=Tier.execution))
    assert learning.apply_rules(session, user=b_exec, now=T0) == 1
    assert a_mgmt.id not in {e.user_id for e in session.exec(select(Enrolment)).all()}


def test_prerequisites_block_starting(session, build_course, admin, instructor, trainee) -> None:
    basics, advanced = build_course("基础"), build_course("进阶")
    service.set_prerequisites(session, instructor, advanced.course, [basics.id])
    for built in (basics, advanced):
        learning.enrol(session, admin, built.course, trainee)
    with pytest.raises(Conflict):
        learning.start(session, trainee, advanced.id, now=T0)
    assert [c.title for c in reads.my_learning(session, trainee, now=T0).courses[1].blocked_by] == ["基础"]
    finish(session, trainee, basics)
    assert learning.start(session, trainee, advanced.id, now=T0).started_at == T0


def test_my_learning_lists_each_missing_prerequisite_whatever_its_title(session, build_course, admin, instructor,  # type: ignore[no-untyped-def]
                                                                        trainee) -> None:
    """The home page reads the missing prerequisites packed into its course query: titles with the
    packing's own characters, digits and emoji come back whole, in course order, done ones left out."""
    titles = ["12:3:会议", "安全：规范 2:0", "保洁🧹\x1e\x1f", ""]
    required = [build_course(t or "临时") for t in titles]
    required[3].course.title = ":"
    session.add(required[3].course)
    target = build_course("进阶")
    service.set_prerequisites(session, instructor, target.course, [b.id for b in required])
    for built in (*required, target):
        learning.enrol(session, admin, built.course, trainee)
    finish(session, trainee, required[1])
    session.flush()
    card = next(c for c in reads.my_learning(session, trainee, now=T0).courses if c.course.id == target.id)
    assert [(c.id, c.title) for c in card.blocked_by] == [(required[i].id, required[i].course.title) for i in (0, 2, 3)]
    assert [c.title for c in card.blocked_by][::2] == ["12:3:会议", ":"]
    assert [c.title for c in learning.missing_prerequisites(session, trainee.id, target.id)] == [c.title for c in card.blocked_by]
    learning.start(session, trainee, required[0].id, now=T0)  # a started course shows no blocking list
    assert all(not c.blocked_by for c in reads.my_learning(session, trainee, now=T0).courses if c.enrolment.started_at)


def test_start_date_and_enrolment_required(session, build_course, admin, trainee) -> None:
    built = build_course()
    with pytest.raises(NotFound):
        learning.start(session, trainee, built.id, now=T0)
    learning.enrol(session, admin, built.course, trainee, EnrolmentIn(start_on=date(2026, 6, 2)))
    with pytest.raises(Conflict):
        learning.start(session, trainee, built.id, now=T0)  # 2026-06-01 10:00 in Beijing


def test_completion_rules_per_form(session, build_course, admin, trainee) -> None:
    built = build_course()
    learning.enrol(session, admin, built.course, trainee)
    text, book, video = built.materials
    with pytest.raises(Conflict):
        learning.mark_read(session, trainee, built.id, video.id, now=T0)  # the media layer completes videos
    row = learning.page_seen(session, trainee, built.id, book.id, 1, now=T0)
    assert row.completed_at is None and row.state == {"pages_seen": [1]}
    assert learning.page_seen(session, trainee, built.id, book.id, 0, now=T0).completed_at == T0
    view = reads.lesson_view(session, trainee, built.id, text.lesson_id, now=T0)
    assert [m.completed for m in view.materials] == [False, True] and view.next_lesson_id == video.lesson_id
    learning.mark_read(session, trainee, built.id, text.id, now=T0)
    card = reads.my_learning(session, trainee, now=T0).courses[0]
    assert card.progress.lessons_done == 1 and card.progress.percent == 50 and card.progress.next_lesson["id"] == video.lesson_id
    video_view = reads.lesson_view(session, trainee, built.id, video.lesson_id, now=T0)
    assert video_view.materials[0].asset_status == "processing"
    learning.complete_material(session, trainee, built.id, video.id, now=T0)
    assert reads.my_learning(session, trainee, now=T0).courses[0].status == "completed"


def test_new_version_does_not_change_what_enrolled_trainees_see(session, build_course, admin, instructor, trainee) -> None:
    built = build_course()
    learning.enrol(session, admin, built.course, trainee)
    text, book, video = built.materials
    learning.mark_read(session, trainee, built.id, text.id, now=T0)
    structure.update_material(session, instructor, text.id, MaterialUpdate(title="要点 v2", config={"html": "<p>第二版</p>"}))
    extra = structure.add_material(session, instructor, video.lesson_id, MaterialIn(kind="text", title="新增", config=TEXT))
    publishing.publish_course(session, instructor, built.course)
    view = reads.lesson_view(session, trainee, built.id, text.lesson_id, now=T0)
    assert view.version_number == 1 and view.materials[0].material["config"]["html"] == "<p>桌签应居中摆放。</p>"
    assert view.materials[0].completed  # the record survived the republish
    card = reads.my_learning(session, trainee, now=T0).courses[0]
    assert card.version_number == 1 and card.newer_version
    # moving to the newest version keeps the records of materials that are still there
    learning.move_to_latest(session, trainee, built.id, now=T0)
    view = reads.lesson_view(session, trainee, built.id, text.lesson_id, now=T0)
    assert view.version_number == 2 and view.materials[0].material["title"] == "要点 v2" and view.materials[0].completed
    # a trainee who starts now gets version 2 directly
    other = make_user(session, Role.trainee, unit=trainee.org_unit)
    learning.enrol(session, admin, built.course, other)
    assert reads.lesson_view(session, other, built.id, extra.lesson_id, now=T0).version_number == 2


def test_hours_awarded_once(session, build_course, admin, trainee) -> None:
    built = build_course(hours="2.5")
    learning.enrol(session, admin, built.course, trainee)
    finish(session, trainee, built)
    finish(session, trainee, built)  # again: nothing more
    learning.complete_material(session, trainee, built.id, built.materials[2].id, now=T0)
    entries = session.exec(select(HoursEntry).where(HoursEntry.user_id == trainee.id)).all()
    assert [(e.hours, e.year) for e in entries] == [(Decimal("2.5"), 2026)]
    assert learning.hours_in_year(session, trainee.id, 2026) == Decimal("2.5")


def test_ledger_follows_the_shanghai_calendar_year(session, build_course, admin, trainee) -> None:
    late, early = build_course("年末"), build_course("年初")
    for built in (late, early):
        learning.enrol(session, admin, built.course, trainee)
    # 2026-12-31 23:30 in Beijing is 15:30 UTC: counts for 2026
    finish(session, trainee, late, now=datetime(2026, 12, 31, 15, 30, tzinfo=UTC))
    # 2027-01-01 00:30 in Beijing is still 2026 in UTC: counts for 2027
    finish(session, trainee, early, now=datetime(2026, 12, 31, 16, 30, tzinfo=UTC))
    assert [e.year for e in learning.ledger(session, trainee, trainee)] == [2027, 2026]
    assert learning.hours_in_year(session, trainee.id, 2026) == Decimal("2")
    with pytest.raises(PermissionDenied):
        learning.ledger(session, make_user(session, Role.trainee), trainee)


def test_requirement_per_tier(session, admin, trainee, build_course) -> None:
    assert learning.requirements(session) == {"decision": Decimal("12"), "management": Decimal("24"), "execution": Decimal("32")}
    with pytest.raises(PermissionDenied):
        learning.set_requirement(session, trainee, Tier.execution, Decimal("40"))
    learning.set_requirement(session, admin, Tier.execution, Decimal("40"))
    built = build_course()
    learning.enrol(session, admin, built.course, trainee)
    finish(session, trainee, built)
    mine = reads.my_learning(session, trainee, now=T0)
    assert (mine.year, mine.hours_this_year, mine.required_hours) == (2026, Decimal("2"), Decimal("40"))
    assert mine.hours_remaining == Decimal("38")


def test_progress_report_scope_and_filters(session, org, build_course, admin, district_admin, trainee) -> None:
    built = build_course()
    b_trainee = make_user(session, Role.trainee, unit=org["unit_b1"], tier=Tier.management)
    learning.enrol_many(session, admin, built.course, [trainee, b_trainee])
    learning.mark_read(session, trainee, built.id, built.materials[0].id, now=T0)
    rows, total = reports.progress_report(session, admin)
    assert total == 2
    rows, total = reports.progress_report(session, district_admin)
    assert total == 1 and rows[0].user.id == trainee.id and rows[0].status == "in_progress" and rows[0].percent == 0
    rows, total = reports.progress_report(session, admin, reports.ReportFilter(tier="management", course_id=built.id))
    assert [r.user.id for r in rows] == [b_trainee.id] and rows[0].status == "not_started"
    rows, total = reports.progress_report(session, admin, reports.ReportFilter(org_unit_id=org["district_b"].id))
    assert total == 1
    with pytest.raises(PermissionDenied):
        reports.progress_report(session, trainee)


def test_two_concurrent_completions_award_hours_once(committed_database, build_course_committed) -> None:  # type: ignore[no-untyped-def]
    course_id, trainee_id, video_id = build_course_committed
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def complete() -> None:
        from app.accounts.models import User

        try:
            barrier.wait(timeout=10)  # before the transaction: SQLite's BEGIN IMMEDIATE would wait for the other
            with committed_database.transaction() as s:
                user = s.get(User, trainee_id)
                learning.complete_material(s, user, course_id, video_id, now=T0)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=complete) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors
    with committed_database.transaction(write=False) as s:
        assert len(s.exec(select(HoursEntry).where(HoursEntry.user_id == trainee_id)).all()) == 1


@pytest.fixture
def build_course_committed(committed_database):  # type: ignore[no-untyped-def]
    """A published course and a trainee who has done everything but the video, committed."""
    from app.courses.schemas import CourseIn, CurriculumIn, LessonIn, ModuleIn
    from tests.courses.conftest import BOOK, VIDEO

    with committed_database.transaction() as s:
        adm = make_user(s, Role.admin, username="c_admin")
        trainee = make_user(s, Role.trainee, username="c_trainee")
        cur = service.create_curriculum(s, adm, CurriculumIn(title="并发", tier=Tier.execution))
        course = service.create_course(s, adm, cur, CourseIn(title="并发课程", hours=Decimal("3")))
        module = structure.add_module(s, adm, course, ModuleIn(title="一"))
        lesson = structure.add_lesson(s, adm, module.id, LessonIn(title="一"))
        text = structure.add_material(s, adm, lesson.id, MaterialIn(kind="text", title="文", config=TEXT))
        structure.add_material(s, adm, lesson.id, MaterialIn(kind="picture_book", title="图", config=BOOK, is_required=False))
        video = structure.add_material(s, adm, lesson.id, MaterialIn(kind="video", title="视频", config=VIDEO))
        publishing.publish_course(s, adm, course)
        learning.enrol(s, adm, course, trainee)
        learning.mark_read(s, trainee, course.id, text.id, now=T0)
        ids = (course.id, trainee.id, video.id)
    return ids


def test_my_learning_reads_the_unit_path_with_the_hours(session, build_course, admin, trainee) -> None:  # type: ignore[no-untyped-def]
    from app.accounts import service as accounts

    built = build_course(hours="1.5")
    learning.enrol(session, admin, built.course, trainee)
    finish(session, trainee, built)  # the hours of T0's year come with the unit path
    mine = reads.my_learning(session, trainee, now=T0)
    assert mine.unit_path == accounts.org_unit_path_names(session, trainee.org_unit) and " / " in mine.unit_path
    assert mine.hours_this_year == Decimal("1.5") and mine.required_hours == learning.requirement_for(session, trainee.tier)


def test_my_learning_figures_are_the_same_with_and_without_courses(session, build_course, admin, trainee) -> None:  # type: ignore[no-untyped-def]
    """The figures come with the course rows, or from a query of their own for a trainee with no course;
    both give the same hours, requirement and unit path, whatever the unit names hold."""
    from app.accounts import service as accounts

    trainee.org_unit.name = "12:3:钟楼区:后勤"
    session.add(trainee.org_unit)
    session.flush()
    learning.set_requirement(session, admin, Tier(trainee.tier), Decimal("12.5"))
    without = reads.my_learning(session, trainee, now=T0)
    assert not without.courses
    assert without.unit_path == accounts.org_unit_path_names(session, trainee.org_unit) and "12:3:钟楼区:后勤" in without.unit_path
    assert (without.hours_this_year, without.required_hours) == (Decimal("0"), Decimal("12.5"))
    built = build_course(hours="2")
    learning.enrol(session, admin, built.course, trainee)
    finish(session, trainee, built)
    other = build_course(hours="1")
    learning.enrol(session, admin, other.course, trainee)
    mine = reads.my_learning(session, trainee, now=T0)
    assert len(mine.courses) == 2
    assert (mine.unit_path, mine.hours_this_year, mine.required_hours) == (without.unit_path, Decimal("2"), Decimal("12.5"))
    assert reads.my_learning(session, trainee, now=T0.replace(year=T0.year + 1)).hours_this_year == 0  # another year


def test_player_view_is_none_until_started_and_sees_unflushed_progress(session, build_course, admin, trainee) -> None:  # type: ignore[no-untyped-def]
    built = build_course()
    learning.enrol(session, admin, built.course, trainee)
    text = built.materials[0]
    enrolment, view = reads.player_view(session, trainee, text.lesson_id)
    assert view is None and enrolment.course_id == built.id and enrolment.started_at is None
    learning.start(session, trainee, built.id, now=T0)
    row = learning.mark_read(session, trainee, built.id, text.id, now=T0)
    row.state = {"note": "pending"}  # a change not flushed yet is part of what the trainee sees
    session.add(row)
    _enrolment, view = reads.player_view(session, trainee, text.lesson_id)
    assert view is not None and view.materials[0].completed and view.materials[0].state == {"note": "pending"}


def test_cited_clauses_in_the_authors_order(session, instructor, admin, make_standard) -> None:  # type: ignore[no-untyped-def]
    from app.standards import service as standards
    from tests.standards.conftest import MEETING_TEXT, first_version

    standard = make_standard(instructor, text=MEETING_TEXT, publish_by=admin)
    version = first_version(standard)
    clauses = {c.number: c for c in standards.clauses_of(session, version)}
    wanted = [clauses["3.2"].id, clauses["3.1.1"].id, 999_999]  # an unknown id is left out
    cited = reads.cited_clauses(session, wanted)
    assert [c.id for c in cited] == wanted[:2] and cited[0].number == "3.2" and cited[0].body == clauses["3.2"].body
    assert {(c.code, c.standard_title, c.standard_id) for c in cited} == {(version.code, standard.title, standard.id)}
    assert reads.cited_clauses(session, []) == []
