"""The read models of the trainee pages: "my learning", the lesson player, a course's outline and the
standard clauses a lesson cites (learning.py owns enrolment, progress, completion and hours).

The two pages trainees open most ("my learning" and the lesson player) read with prebuilt Core
statements of table columns into small frozen rows: no ORM identity map, and each statement's cache
key is computed once per process. tests/courses/test_queries.py counts their queries. Every function
here is a pure read except `lesson_view`, which starts the course the lesson belongs to.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from app.accounts.models import OrgUnit, User
from app.accounts.scope import TAKE, related
from app.core.cache import ImmutableCache
from app.core.errors import NotFound
from app.core.i18n import gettext as _
from app.core.models import utcnow
from app.courses.learning import (
    Progress,
    completed_material_ids,
    ledger_year,
    lesson_finished,
    local_date,
    missing_prerequisites,
    my_enrolment,
    progress_of,
    snapshot_lessons,
    snapshot_of,
    start,
    status_of,
    version_learned,
)
from app.courses.models import (
    DEFAULT_REQUIREMENTS,
    Course,
    CourseVersion,
    Enrolment,
    EnrolmentStatus,
    HoursEntry,
    HoursRequirement,
    Lesson,
    MaterialKind,
    MaterialProgress,
    Module,
    Prerequisite,
)
from app.courses.permissions import ENROLMENT
from app.standards.models import Clause, Standard, StandardVersion

_E = Enrolment.__table__.c  # type: ignore[attr-defined]
_C = Course.__table__.c  # type: ignore[attr-defined]
_V = CourseVersion.__table__.c  # type: ignore[attr-defined]
_MP = MaterialProgress.__table__.c  # type: ignore[attr-defined]
_P = Prerequisite.__table__.c  # type: ignore[attr-defined]
_H = HoursEntry.__table__.c  # type: ignore[attr-defined]
_HR = HoursRequirement.__table__.c  # type: ignore[attr-defined]
_U = OrgUnit.__table__.c  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class CourseBrief:
    """What the trainee pages show of a course."""

    id: int
    title: str
    is_required: bool = True
    hours: Decimal = Decimal("0")
    published_number: int = 0


@dataclass(frozen=True, slots=True)
class EnrolmentBrief:
    id: int
    course_id: int
    user_id: int
    version_id: int | None
    started_at: datetime | None
    completed_at: datetime | None
    due_on: date | None

    @classmethod
    def of(cls, e: Enrolment) -> EnrolmentBrief:
        return cls(e.id or 0, e.course_id, e.user_id, e.version_id, e.started_at, e.completed_at, e.due_on)


@dataclass
class CourseCard:
    enrolment: EnrolmentBrief
    course: CourseBrief
    status: EnrolmentStatus
    progress: Progress
    version_number: int
    newer_version: bool
    blocked_by: list[CourseBrief] = field(default_factory=list)
    overdue: bool = False


@dataclass
class MyLearning:
    year: int
    hours_this_year: Decimal
    required_hours: Decimal
    courses: list[CourseCard]
    unit_path: str = ""  # the trainee's org unit as "city / district / unit", for the profile beside it

    @property
    def hours_remaining(self) -> Decimal:
        return max(Decimal("0"), self.required_hours - self.hours_this_year)


@dataclass(frozen=True)
class VersionInfo:
    """What the trainee pages need of a published version (immutable, so cached per database)."""

    id: int
    course_id: int
    number: int
    snapshot: dict[str, Any]
    lessons: list[dict[str, Any]] = field(default_factory=list)  # `snapshot_lessons(snapshot)`, computed once

    @classmethod
    def of(cls, v: CourseVersion | sa.Row[Any]) -> VersionInfo:
        return cls(v.id or 0, v.course_id, v.number, v.snapshot, snapshot_lessons(v.snapshot))


_VERSION_INFO: ImmutableCache[VersionInfo] = ImmutableCache("course version info", maxsize=2048)
_NEWEST_ID: ImmutableCache[int] = ImmutableCache("course version ids by number", maxsize=4096)


def _versions_for(session: Session, enrolments: Sequence[tuple[EnrolmentBrief, CourseBrief]]) -> dict[int, VersionInfo]:
    """The version each enrolment learns (its pinned one, else the newest published): from memory, with
    one query for those not seen before."""
    wanted: dict[int, int | tuple[int, int]] = {}
    for enrolment, course in enrolments:
        if enrolment.version_id:
            wanted[enrolment.id] = enrolment.version_id
        else:
            number_key = (course.id, course.published_number)
            known = _NEWEST_ID.peek(session, number_key)
            wanted[enrolment.id] = known if known is not None else number_key
    missing_ids = {w for w in wanted.values() if isinstance(w, int) and _VERSION_INFO.peek(session, w) is None}
    missing_numbers = {w for w in wanted.values() if isinstance(w, tuple)}
    conditions = []
    if missing_ids:
        conditions.append(_V.id.in_(missing_ids))
    if missing_numbers:
        conditions.append(sa.tuple_(_V.course_id, _V.number).in_(sorted(missing_numbers)))
    if conditions:
        for v in session.execute(sa.select(_V.id, _V.course_id, _V.number, _V.snapshot).where(sa.or_(*conditions))).all():
            _VERSION_INFO.put(session, v.id, VersionInfo.of(v))
            _NEWEST_ID.put(session, (v.course_id, v.number), v.id)
    result = {}
    for enrolment_id, w in wanted.items():
        version_id = w if isinstance(w, int) else _NEWEST_ID.peek(session, w)
        info = _VERSION_INFO.peek(session, version_id) if version_id is not None else None
        if info is not None:
            result[enrolment_id] = info
    return result


def _version_info(session: Session, version_id: int) -> VersionInfo:
    info = _VERSION_INFO.peek(session, version_id)
    if info is None:
        row = session.execute(sa.select(_V.id, _V.course_id, _V.number, _V.snapshot).where(_V.id == version_id)).one_or_none()
        if row is None:
            raise NotFound()
        info = VersionInfo.of(row)
        _VERSION_INFO.put(session, version_id, info)
    return info


def _material_ids(joined: str | None) -> set[int]:
    return {int(i) for i in joined.split(",")} if joined else set()


_REQUIRED = Course.__table__.alias("required")  # type: ignore[attr-defined]
_DONE_BY_USER = Enrolment.__table__.alias("done_by_user")  # type: ignore[attr-defined]


def _packed(id_column: Any, text_column: Any) -> Any:
    """"id:length:text" records of several rows in one string (the length in characters, so that the
    text may hold any character); `_unpack` reads them."""
    return sa.func.aggregate_strings(sa.cast(id_column, sa.String) + ":" + sa.cast(sa.func.length(text_column), sa.String)
                                     + ":" + text_column, "")


def _unpack(packed: str | None) -> list[tuple[int, str]]:
    """The records of `_packed`, in id order."""
    records = []
    at = 0
    while packed and at < len(packed):
        id_end = packed.index(":", at)
        length_end = packed.index(":", id_end + 1)
        text_end = length_end + 1 + int(packed[id_end + 1:length_end])
        records.append((int(packed[at:id_end]), packed[length_end + 1:text_end]))
        at = text_end
    return sorted(records)


def _briefs(packed: str | None) -> list[CourseBrief]:
    return [CourseBrief(course_id, title) for course_id, title in _unpack(packed)]


# What "my learning" shows besides the courses: the trainee's hours this year, their tier's requirement
# and the names of the units of their unit's path (uncorrelated: computed once per statement).
_YEAR_HOURS = (sa.select(sa.func.coalesce(sa.func.sum(_H.hours), 0))
               .where(_H.user_id == sa.bindparam("user_id"), _H.year == sa.bindparam("year")).scalar_subquery())
_TIER_REQUIREMENT = sa.select(_HR.hours).where(_HR.tier == sa.bindparam("tier")).scalar_subquery()
_UNIT_NAMES = sa.select(_packed(_U.id, _U.name)).where(_U.id.in_(sa.bindparam("unit_ids", expanding=True))).scalar_subquery()

# A trainee's courses with the ids of the materials they completed in each and, for a course not
# started yet, the prerequisites they have not completed; on every row the three figures above. One
# row per course: a trainee with no course reads the figures with `_HOURS_AND_UNITS` instead.
_MY_COURSES = (
    sa.select(_E.id, _E.course_id, _E.user_id, _E.version_id, _E.started_at, _E.completed_at, _E.due_on,
              _C.title, _C.is_required, _C.hours, _C.published_number,
              sa.select(sa.func.aggregate_strings(sa.cast(_MP.material_id, sa.String), ","))
              .where(_MP.enrolment_id == _E.id, _MP.completed_at.is_not(None)).scalar_subquery().label("done"),
              sa.case((_E.started_at.is_(None),
                       sa.select(_packed(_REQUIRED.c.id, _REQUIRED.c.title))
                       .select_from(Prerequisite.__table__)  # type: ignore[attr-defined]
                       .join(_REQUIRED, _REQUIRED.c.id == _P.required_course_id)
                       .where(_P.course_id == _E.course_id,
                              ~sa.exists().where(_DONE_BY_USER.c.user_id == _E.user_id,
                                                 _DONE_BY_USER.c.course_id == _P.required_course_id,
                                                 _DONE_BY_USER.c.completed_at.is_not(None)))
                       .scalar_subquery())).label("blocking"),
              _YEAR_HOURS.label("year_hours"), _TIER_REQUIREMENT.label("tier_requirement"), _UNIT_NAMES.label("unit_names"))
    .join_from(Enrolment.__table__, Course.__table__, _C.id == _E.course_id)  # type: ignore[attr-defined]
    .where(_E.user_id == sa.bindparam("user_id"), _C.published_number > 0)
    .order_by(_E.completed_at.is_not(None), _E.due_on.is_(None), _E.due_on, _E.id)
)

_HOURS_AND_UNITS = sa.select(_YEAR_HOURS.label("year_hours"), _TIER_REQUIREMENT.label("tier_requirement"),
                             _UNIT_NAMES.label("unit_names"))


def _figures(session: Session, user: User, params: dict[str, Any], row: Any) -> tuple[Decimal, Decimal, str]:
    """Hours this year, the tier's requirement (its default when none is stored) and the unit path's
    names, from a row of `_MY_COURSES` or else with `_HOURS_AND_UNITS`."""
    if row is None:
        row = session.connection().execute(_HOURS_AND_UNITS, params).one()
    by_id = dict(_unpack(row.unit_names))
    chain = user.org_unit.chain_ids if user.org_unit else []
    return (Decimal(str(row.year_hours)),
            Decimal(row.tier_requirement) if row.tier_requirement is not None else DEFAULT_REQUIREMENTS[user.tier],
            " / ".join(by_id.get(i, "?") for i in chain))


def my_learning(session: Session, user: User, *, now: datetime | None = None) -> MyLearning:
    """The trainee's courses with progress and what blocks those not started, and their hours this year:
    one query however many courses the trainee has (tests/courses/test_queries.py), and one more for
    versions not in memory yet."""
    now = now or utcnow()
    year = ledger_year(now)
    params = {"user_id": user.id or 0, "year": year, "tier": user.tier,
              "unit_ids": (user.org_unit.chain_ids if user.org_unit else []) or [user.org_unit_id]}
    rows = session.connection().execute(_MY_COURSES, params).all()
    pairs = [(EnrolmentBrief(r[0], r[1], r[2], r[3], r[4], r[5], r[6]), CourseBrief(r[1], r[7], r[8], r[9], r[10])) for r in rows]
    versions = _versions_for(session, pairs)
    today = local_date(now)
    cards = []
    for (enrolment, course), row in zip(pairs, rows, strict=True):
        version = versions.get(enrolment.id)
        if version is None:
            continue
        cards.append(CourseCard(enrolment, course, status_of(enrolment), _progress(version, _material_ids(row.done)),
                                version.number, version.number < course.published_number, _briefs(row.blocking),
                                bool(enrolment.due_on and enrolment.completed_at is None and today > enrolment.due_on)))
    hours, required, unit_path = _figures(session, user, params, rows[0] if rows else None)
    return MyLearning(year, hours, required, cards, unit_path)


def _progress(version: VersionInfo, done: set[int]) -> Progress:
    finished = [lesson_finished(lesson, done) for lesson in version.lessons]
    following = next((lesson for lesson, ok in zip(version.lessons, finished, strict=True) if not ok), None)
    # Only what "my learning" shows of the next lesson (a smaller key for its memoised fragment).
    brief = {"id": following["id"], "title": following["title"]} if following is not None else None
    return Progress(sum(finished), len(version.lessons), brief)


@dataclass
class MaterialView:
    material: dict[str, Any]  # as frozen in the version: id, kind, title, is_required, config
    completed: bool
    state: dict[str, Any]
    asset_status: str | None  # videos: "processing" until the media layer reports otherwise


@dataclass
class LessonView:
    course: CourseBrief
    enrolment: EnrolmentBrief
    version_number: int
    module_title: str
    lesson: dict[str, Any]
    materials: list[MaterialView]
    previous_lesson_id: int | None
    next_lesson_id: int | None
    progress: Progress


# The trainee's enrolment in the course of a lesson, with the course and every progress record of the
# enrolment (one row per record; one row without a record when there is none).
_PLAYER = (
    sa.select(_E.id, _E.course_id, _E.user_id, _E.version_id, _E.started_at, _E.completed_at, _E.due_on,
              _C.title, _C.is_required, _C.hours, _C.published_number, _MP.material_id, _MP.completed_at, _MP.state)
    .select_from(Lesson.__table__)  # type: ignore[attr-defined]
    .join(Module.__table__, Module.__table__.c.id == Lesson.__table__.c.module_id)  # type: ignore[attr-defined]
    .join(Enrolment.__table__, _E.course_id == Module.__table__.c.course_id)  # type: ignore[attr-defined]
    .join(Course.__table__, _C.id == _E.course_id)  # type: ignore[attr-defined]
    .outerjoin(MaterialProgress.__table__, _MP.enrolment_id == _E.id)  # type: ignore[attr-defined]
    .where(Lesson.__table__.c.id == sa.bindparam("lesson_id"), _E.user_id == sa.bindparam("user_id"))  # type: ignore[attr-defined]
)


def player_view(session: Session, user: User, lesson_id: int) -> tuple[EnrolmentBrief, LessonView | None]:
    """The trainee's enrolment in the course of a lesson and, once the course is started, the lesson as
    they see it from the version they learn. A pure read: one query when the version is in memory.
    NotFound when the trainee is not enrolled or the lesson is not part of their version."""
    session.flush()  # the statement below is Core: it does not autoflush pending changes of a POST
    rows = session.connection().execute(_PLAYER, {"lesson_id": lesson_id, "user_id": user.id}).all()
    if not rows:
        course_of_lesson_id(session, user, lesson_id)  # raises the NotFound that applies
        raise NotFound()
    r = rows[0]
    enrolment = EnrolmentBrief(r[0], r[1], r[2], r[3], r[4], r[5], r[6])
    if enrolment.started_at is None or enrolment.version_id is None:
        return enrolment, None
    version = _version_info(session, enrolment.version_id)
    lessons = version.lessons
    index = next((i for i, lesson in enumerate(lessons) if lesson["id"] == lesson_id), None)
    if index is None:
        raise NotFound(_("This lesson is not part of the version you are learning."))
    lesson = lessons[index]
    records = {row[11]: (row[12], row[13]) for row in rows if row[11] is not None}
    views = [MaterialView(m, bool(records.get(m["id"], (None,))[0]), records[m["id"]][1] if m["id"] in records else {},
                          "processing" if m["kind"] == MaterialKind.video.value else None) for m in lesson["materials"]]
    done = {mid for mid, (completed_at, _state) in records.items() if completed_at}
    return enrolment, LessonView(CourseBrief(r[1], r[7], r[8], r[9], r[10]), enrolment, version.number, lesson["module_title"],
                                 lesson, views, lessons[index - 1]["id"] if index > 0 else None,
                                 lessons[index + 1]["id"] if index + 1 < len(lessons) else None, _progress(version, done))


def lesson_view(session: Session, user: User, course_id: int, lesson_id: int, *, now: datetime | None = None,
                enrolment: Enrolment | None = None) -> LessonView:
    """What a trainee sees of a lesson, from the version they learn; opening it starts the course.
    `enrolment`: the trainee's enrolment in the course when the caller has it already."""
    if enrolment is None or enrolment.started_at is None or enrolment.course_id != course_id or enrolment.user_id != user.id:
        start(session, user, course_id, now=now)
    found, view = player_view(session, user, lesson_id)
    if view is None or found.course_id != course_id:
        raise NotFound(_("This lesson is not part of the version you are learning."))
    return view


# ---------------------------------------------------------------------------------------------
# Trainee pages: read-only views (a GET never writes; starting a course is its own POST)


@dataclass
class OutlineLesson:
    id: int
    title: str
    summary: str
    materials: int
    done: bool


@dataclass
class OutlineModule:
    title: str
    lessons: list[OutlineLesson]


@dataclass
class CourseOutline:
    course: Course
    enrolment: Enrolment
    status: EnrolmentStatus
    version_number: int
    hours: Decimal
    modules: list[OutlineModule]
    progress: Progress
    blocked_by: list[Course]
    overdue: bool
    prerequisites: list[Course]


def course_outline(session: Session, user: User, course_id: int, *, now: datetime | None = None) -> CourseOutline:
    """A course as its enrolled trainee sees it, from the version they learn (or would start)."""
    now = now or utcnow()
    enrolment = my_enrolment(session, user, course_id)
    course = related(session, Course, enrolment.course_id)
    assert course is not None
    version = version_learned(session, enrolment)
    done = completed_material_ids(session, enrolment.id or 0)
    modules = [OutlineModule(m["title"], [OutlineLesson(lesson["id"], lesson["title"], lesson.get("summary", ""),
                                                        len(lesson["materials"]), lesson_finished(lesson, done))
                                          for lesson in m["lessons"]]) for m in snapshot_of(session, version)["modules"]]
    required = session.exec(select(Course).join(Prerequisite, col(Prerequisite.required_course_id) == Course.id)
                            .where(Prerequisite.course_id == course_id).order_by(col(Course.id))).all()
    return CourseOutline(course, enrolment, status_of(enrolment), version.number, Decimal(version.hours), modules,
                         progress_of(snapshot_of(session, version), done),
                         [] if enrolment.started_at else missing_prerequisites(session, user.id or 0, course_id),
                         bool(enrolment.due_on and enrolment.completed_at is None and local_date(now) > enrolment.due_on),
                         list(required))


def course_of_lesson_id(session: Session, user: User, lesson_id: int) -> Enrolment:
    """The trainee's enrolment in the course a lesson belongs to (one query); NotFound when they have none."""
    enrolment = session.exec(ENROLMENT.select(user, TAKE).join(Module, col(Module.course_id) == Enrolment.course_id)
                             .join(Lesson, col(Lesson.module_id) == Module.id).where(Lesson.id == lesson_id)).first()
    if enrolment is None:
        raise NotFound(_("You are not enrolled in this course."))
    return enrolment


def lesson_done(view: LessonView) -> bool:
    return lesson_finished(view.lesson, {m.material["id"] for m in view.materials if m.completed})


def hours_awarded(session: Session, enrolment_id: int) -> Decimal | None:
    hours = session.execute(sa.select(_H.hours).where(_H.enrolment_id == enrolment_id)).scalar()
    return Decimal(hours) if hours is not None else None


@dataclass
class CitedClause:
    id: int
    number: str
    title: str
    body: str
    code: str
    standard_title: str
    standard_id: int


_CL, _SV, _ST = Clause.__table__.c, StandardVersion.__table__.c, Standard.__table__.c  # type: ignore[attr-defined]
_CITED_CLAUSES = (sa.select(_CL.id, _CL.number, _CL.title, _CL.body, _SV.code, _ST.title, _ST.id)
                  .join_from(Clause.__table__, StandardVersion.__table__, _SV.id == _CL.version_id)  # type: ignore[attr-defined]
                  .join(Standard.__table__, _ST.id == _SV.standard_id)  # type: ignore[attr-defined]
                  .where(_CL.id.in_(sa.bindparam("ids", expanding=True))))


def cited_clauses(session: Session, clause_ids: Sequence[int]) -> list[CitedClause]:
    """The standard clauses a text material shows, in the order the author listed them."""
    if not clause_ids:
        return []
    found = {row[0]: CitedClause(*row) for row in session.execute(_CITED_CLAUSES, {"ids": list(clause_ids)}).tuples()}
    return [found[i] for i in clause_ids if i in found]
