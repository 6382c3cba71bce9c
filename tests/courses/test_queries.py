"""The hottest trainee pages run a fixed number of queries however many courses a trainee has
(STYLE.md: "keep a test that counts queries on the hottest pages")."""

from __future__ import annotations

from sqlmodel import Session

from app.courses import learning, service, structure
from app.courses.models import Course
from tests.helpers import counting, login

# Budgets: sign-in resolution (at most 1), the page's own reads, the session touch at most once a minute
# (0 here). Home: the courses with their progress, missing prerequisites, hours and unit path. Lesson:
# the enrolment with its progress records.
HOME_BUDGET = 2
LESSON_BUDGET = 2


def _enrol_in(session: Session, admin, trainee, build_course, titles: list[str], *, start: bool) -> list[Course]:  # type: ignore[no-untyped-def]
    courses = []
    for title in titles:
        built = build_course(title)
        learning.enrol(session, admin, built.course, trainee)
        if start:
            learning.start(session, trainee, built.id)
        courses.append(built.course)
    session.commit()
    return courses


def _home_queries(client, engine) -> int:  # type: ignore[no-untyped-def]
    client.get("/")  # warm caches that every process fills once
    with counting(engine) as statements:
        assert client.get("/").status_code == 200
    return len(statements)


def test_home_query_count_does_not_grow_with_courses(client, session, engine, admin, trainee, build_course) -> None:  # type: ignore[no-untyped-def]
    first = _enrol_in(session, admin, trainee, build_course, ["会议服务"], start=True)
    login(client, "trainee1")
    one = _home_queries(client, engine)
    later = _enrol_in(session, admin, trainee, build_course, ["安全保卫", "保洁服务", "餐饮服务"], start=False)
    service.set_prerequisites(session, admin, later[0], [first[0].id or 0])
    _enrol_in(session, admin, trainee, build_course, ["绿化养护", "设施设备"], start=True)
    session.commit()
    six = _home_queries(client, engine)
    assert six == one  # the prerequisites of courses not started come with the courses
    assert six <= HOME_BUDGET


def test_lesson_page_query_count(client, session, engine, admin, trainee, build_course) -> None:  # type: ignore[no-untyped-def]
    courses = _enrol_in(session, admin, trainee, build_course, ["会议服务", "安全保卫", "保洁服务"], start=True)
    lesson_id = structure.modules_of(session, courses[1].id or 0)[0].id or 0
    lesson_id = structure.lessons_of(session, lesson_id)[0].id or 0
    login(client, "trainee1")
    assert client.get(f"/learn/lessons/{lesson_id}").status_code == 200
    with counting(engine) as statements:
        assert client.get(f"/learn/lessons/{lesson_id}").status_code == 200
    assert len(statements) <= LESSON_BUDGET, "\n".join(statements)
    print("lesson page queries:", len(statements))
