"""Learning: enrolment (manual and by rule), progress per material, completion, study hours and the
annual ledger, and the read models the pages need ("my learning", a lesson, the progress report).

Versions and records (models.py has the full story): an enrolment is pinned to the published version
it started on; material progress is keyed by the stable material id. A trainee therefore keeps
learning what they started when a new version is published, and `move_to_latest` carries every
record that still applies across to the newest version.

Hours exactly once: completion sets `completed_at` with `UPDATE … WHERE completed_at IS NULL`; only
the caller whose update changed the row writes the ledger entry (unique per enrolment as backstop).
On PostgreSQL the second caller's UPDATE waits for the first's row lock and then finds the row
already completed; on SQLite write transactions are serialised (BEGIN IMMEDIATE).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import defer
from sqlmodel import Session, col, func, select

from app.accounts import permissions as account_permissions
from app.accounts.models import OrgUnit, Role, Tier, User, UserRole
from app.core import events
from app.core.cache import ImmutableCache
from app.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from app.core.i18n import gettext as _
from app.core.models import utcnow
from app.core.timeutil import DISPLAY_TZ
from app.courses import permissions
from app.courses.events import CourseCompleted
from app.courses.models import (
    DEFAULT_REQUIREMENTS,
    Course,
    CourseVersion,
    Enrolment,
    EnrolmentRule,
    EnrolmentSource,
    EnrolmentStatus,
    HoursEntry,
    HoursRequirement,
    Lesson,
    MaterialKind,
    MaterialProgress,
    Module,
    Prerequisite,
)
from app.courses.schemas import EnrolmentIn, RuleIn
from app.courses.service import latest_version
from app.standards.models import Clause, Standard, StandardVersion

# Forms a trainee completes by themselves; the others are completed by the layer that owns them
# (media for videos, scenarios for visual assessments) through `complete_material`.
SELF_COMPLETED = {MaterialKind.text.value, MaterialKind.scene.value}


def local_date(at: datetime) -> date:
    return at.astimezone(DISPLAY_TZ).date()


def ledger_year(at: datetime) -> int:
    """Study hours count for the Asia/Shanghai calendar year of the moment they were awarded."""
    return local_date(at).year


# ---------------------------------------------------------------------------------------------
# Enrolment


def _insert_ignoring_duplicates(session: Session, rows: list[dict[str, Any]]) -> int:
    """Insert enrolments; ones that exist already (or are inserted concurrently) are skipped."""
    if not rows:
        return 0
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = Enrolment.__table__  # type: ignore[attr-defined]
    # RETURNING counts what was inserted (rowcount is unreliable for multi-row inserts across drivers)
    stmt = insert(table).values(rows).on_conflict_do_nothing(index_elements=["course_id", "user_id"]).returning(table.c.id)
    inserted = session.execute(stmt).all()
    session.flush()
    return len(inserted)


def _require_enrollable(course: Course) -> None:
    if course.published_number == 0:
        raise Conflict(_("Only a published course takes enrolments."))
    if course.archived_at is not None:
        raise Conflict(_("The course has been archived."))


def _dates(data: EnrolmentIn) -> EnrolmentIn:
    if data.start_on and data.due_on and data.due_on < data.start_on:
        raise ValidationFailed(_("The due date must not be before the start date."), errors=[{"loc": ["due_on"], "msg": "before start"}])
    return data


def enrol_many(session: Session, actor: User, course: Course, trainees: Sequence[User], data: EnrolmentIn | None = None, *,
               now: datetime | None = None) -> int:
    """Enrol people by hand; returns how many were new. Enrolling someone twice changes nothing."""
    data = _dates(data or EnrolmentIn())
    _require_enrollable(course)
    if outside := [t.display_name for t in trainees if not permissions.can_enrol(actor, t)]:
        raise PermissionDenied(_("Outside your scope: %(names)s", names="、".join(outside)))
    now = now or utcnow()
    return _insert_ignoring_duplicates(session, [
        {"course_id": course.id, "user_id": t.id, "source": EnrolmentSource.manual.value, "enrolled_by_id": actor.id,
         "enrolled_at": now, "start_on": data.start_on, "due_on": data.due_on} for t in trainees])


def enrol(session: Session, actor: User, course: Course, trainee: User, data: EnrolmentIn | None = None, *,
          now: datetime | None = None) -> Enrolment:
    enrol_many(session, actor, course, [trainee], data, now=now)
    enrolment = enrolment_of(session, trainee.id or 0, course.id or 0)
    assert enrolment is not None
    return enrolment


def enrolment_of(session: Session, user_id: int, course_id: int) -> Enrolment | None:
    return session.exec(select(Enrolment).where(Enrolment.user_id == user_id, Enrolment.course_id == course_id)).first()


def add_rule(session: Session, actor: User, course: Course, data: RuleIn) -> EnrolmentRule:
    if not permissions.can_manage_enrolments(actor):
        raise PermissionDenied()
    unit = session.get(OrgUnit, data.org_unit_id) if data.org_unit_id is not None else None
    if data.org_unit_id is not None and unit is None:
        raise ValidationFailed(_("The organisation unit does not exist."), errors=[{"loc": ["org_unit_id"], "msg": "unknown"}])
    if not permissions.is_admin(actor) and (unit is None or not account_permissions.unit_in_scope(actor, unit)):
        raise PermissionDenied(_("A district administrator's rules must name a unit of their own subtree."))
    rule = EnrolmentRule(course_id=course.id or 0, tier=data.tier.value if data.tier else None, org_unit_id=data.org_unit_id,
                         due_days=data.due_days, created_by_id=actor.id)
    session.add(rule)
    session.flush()
    return rule


def deactivate_rule(session: Session, actor: User, rule: EnrolmentRule) -> EnrolmentRule:
    unit = session.get(OrgUnit, rule.org_unit_id) if rule.org_unit_id else None
    if not (permissions.is_admin(actor) or (unit is not None and permissions.can_manage_enrolments(actor)
                                            and account_permissions.unit_in_scope(actor, unit))):
        raise PermissionDenied()
    rule.is_active = False
    session.add(rule)
    session.flush()
    return rule


def _rule_matches(session: Session, rule: EnrolmentRule) -> Any:
    """Active trainees of the rule's tier within its unit's subtree."""
    stmt = (select(User.id).join(UserRole, col(UserRole.user_id) == User.id).join(OrgUnit, col(OrgUnit.id) == User.org_unit_id)
            .where(User.is_active == sa.true(), UserRole.role == Role.trainee.value))
    if rule.tier:
        stmt = stmt.where(User.tier == rule.tier)
    if rule.org_unit_id is not None:
        unit = session.get(OrgUnit, rule.org_unit_id)
        assert unit is not None
        stmt = stmt.where(col(OrgUnit.path).startswith(unit.path, autoescape=True))
    return stmt


def apply_rules(session: Session, *, course: Course | None = None, user: User | None = None, now: datetime | None = None) -> int:
    """Enrol everyone the active rules name (of one course, or for one person, or all); returns how
    many enrolments were new. Safe to run again and concurrently (duplicates are skipped)."""
    now = now or utcnow()
    stmt = select(EnrolmentRule, Course).join(Course, col(Course.id) == EnrolmentRule.course_id).where(
        EnrolmentRule.is_active == sa.true(), Course.published_number > 0, col(Course.archived_at).is_(None))
    if course is not None:
        stmt = stmt.where(Course.id == course.id)
    added = 0
    for rule, rule_course in session.exec(stmt.order_by(col(EnrolmentRule.id))).all():
        matches = _rule_matches(session, rule)
        if user is not None:
            matches = matches.where(User.id == user.id)
        user_ids = session.exec(matches).all()
        start = local_date(now)
        due = start + timedelta(days=rule.due_days) if rule.due_days else None
        added += _insert_ignoring_duplicates(session, [
            {"course_id": rule_course.id, "user_id": uid, "source": EnrolmentSource.rule.value, "rule_id": rule.id,
             "enrolled_at": now, "start_on": start, "due_on": due} for uid in user_ids])
    return added


# ---------------------------------------------------------------------------------------------
# Versions as the trainee sees them


def _version(session: Session, enrolment: Enrolment) -> CourseVersion:
    version = (session.get(CourseVersion, enrolment.version_id, options=[_WITHOUT_SNAPSHOT]) if enrolment.version_id
               else latest_version(session, enrolment.course_id))
    if version is None:
        raise NotFound()
    return version


# A published version never changes, so its snapshot (a JSON document of a few kB to decode) is kept in
# memory: the pages a trainee opens most load versions with the snapshot column deferred.
_SNAPSHOTS: ImmutableCache[dict[str, Any]] = ImmutableCache("course snapshots", maxsize=512)
_WITHOUT_SNAPSHOT = defer(CourseVersion.snapshot)  # type: ignore[arg-type]


def snapshot_of(session: Session, version: CourseVersion) -> dict[str, Any]:
    """The version's frozen snapshot, shared between requests: read it, never change it."""
    return _SNAPSHOTS.get(session, (version.id, version.course_id, version.number, version.published_at), lambda: version.snapshot)


def _lessons(snapshot: dict[str, Any]) -> list[dict[str, Any]]:
    return [lesson | {"module_title": module["title"]} for module in snapshot["modules"] for lesson in module["lessons"]]


def _lesson_done(lesson: dict[str, Any], done: set[int]) -> bool:
    required = {m["id"] for m in lesson["materials"] if m["is_required"]}
    if not required:  # only optional materials: looking at any one of them is enough
        return any(m["id"] in done for m in lesson["materials"])
    return required <= done


def _completed_ids(session: Session, enrolment_id: int) -> set[int]:
    return set(session.exec(select(MaterialProgress.material_id).where(
        MaterialProgress.enrolment_id == enrolment_id, col(MaterialProgress.completed_at).is_not(None))).all())


@dataclass
class Progress:
    lessons_done: int
    lessons_total: int
    next_lesson: dict[str, Any] | None

    @property
    def percent(self) -> int:
        return 100 if not self.lessons_total else int(100 * self.lessons_done / self.lessons_total)


def progress_of(snapshot: dict[str, Any], done: set[int]) -> Progress:
    lessons = _lessons(snapshot)
    finished = [_lesson_done(lesson, done) for lesson in lessons]
    following = next((lesson for lesson, ok in zip(lessons, finished, strict=True) if not ok), None)
    return Progress(sum(finished), len(lessons), following)


def status_of(enrolment: Enrolment | EnrolmentBrief) -> EnrolmentStatus:
    if enrolment.completed_at is not None:
        return EnrolmentStatus.completed
    return EnrolmentStatus.in_progress if enrolment.started_at is not None else EnrolmentStatus.not_started


# ---------------------------------------------------------------------------------------------
# Starting, progress and completion


def missing_prerequisites(session: Session, user_id: int, course_id: int) -> list[Course]:
    required = session.exec(select(Course).join(Prerequisite, col(Prerequisite.required_course_id) == Course.id)
                            .where(Prerequisite.course_id == course_id).order_by(col(Course.id))).all()
    done = set(session.exec(select(Enrolment.course_id).where(Enrolment.user_id == user_id,
                                                              col(Enrolment.completed_at).is_not(None))).all())
    return [c for c in required if c.id not in done]


def _my_enrolment(session: Session, user: User, course_id: int) -> Enrolment:
    enrolment = enrolment_of(session, user.id or 0, course_id)
    if enrolment is None:
        raise NotFound(_("You are not enrolled in this course."))
    return enrolment


def start(session: Session, user: User, course_id: int, *, now: datetime | None = None) -> Enrolment:
    """Open the course for the trainee: prerequisites must be complete and the start date reached;
    the first time, the enrolment is pinned to the newest published version."""
    now = now or utcnow()
    enrolment = _my_enrolment(session, user, course_id)
    if enrolment.started_at is not None:
        return enrolment
    if missing := missing_prerequisites(session, user.id or 0, course_id):
        raise Conflict(_("Complete these courses first: %(titles)s", titles="、".join(c.title for c in missing)))
    if enrolment.start_on and local_date(now) < enrolment.start_on:
        raise Conflict(_("This course opens on %(date)s.", date=enrolment.start_on.isoformat()))
    version = latest_version(session, course_id)
    if version is None:
        raise Conflict(_("Only a published course takes enrolments."))
    enrolment.version_id, enrolment.started_at = version.id, now
    session.add(enrolment)
    session.flush()
    return enrolment


def move_to_latest(session: Session, user: User, course_id: int, *, now: datetime | None = None) -> Enrolment:
    """Switch an unfinished enrolment to the newest version; records of materials that are still in
    it count at once (they are keyed by the stable material id)."""
    now = now or utcnow()
    enrolment = start(session, user, course_id, now=now)
    if enrolment.completed_at is not None:
        return enrolment
    version = latest_version(session, course_id)
    assert version is not None
    enrolment.version_id = version.id
    session.add(enrolment)
    session.flush()
    _maybe_complete(session, enrolment, version, now)
    return enrolment


def _find_material(session: Session, version: CourseVersion, material_id: int) -> dict[str, Any]:
    for lesson in _lessons(snapshot_of(session, version)):
        for material in lesson["materials"]:
            if material["id"] == material_id:
                return material
    raise NotFound(_("This material is not part of the version you are learning."))


def _progress_row(session: Session, enrolment: Enrolment, material_id: int, now: datetime) -> MaterialProgress:
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    session.execute(insert(MaterialProgress.__table__).values(  # type: ignore[attr-defined]
        enrolment_id=enrolment.id, material_id=material_id, state={}, updated_at=now)
        .on_conflict_do_nothing(index_elements=["enrolment_id", "material_id"]))
    return session.exec(select(MaterialProgress).where(MaterialProgress.enrolment_id == enrolment.id,
                                                       MaterialProgress.material_id == material_id)
                        .with_for_update().execution_options(populate_existing=True)).one()


def _record(session: Session, user: User, course_id: int, material_id: int, now: datetime | None, *,
            page: int | None = None, allowed: set[str] | None = None) -> MaterialProgress:
    now = now or utcnow()
    enrolment = start(session, user, course_id, now=now)
    version = _version(session, enrolment)
    material = _find_material(session, version, material_id)
    if allowed is not None and material["kind"] not in allowed:
        raise Conflict(_("This material is completed by the system, not by hand."))
    row = _progress_row(session, enrolment, material_id, now)
    if material["kind"] == MaterialKind.picture_book.value and page is not None:
        pages = len(material["config"].get("pages", []))
        if not 0 <= page < pages:
            raise ValidationFailed(_("There is no such page."), errors=[{"loc": ["page"], "msg": "out of range"}])
        seen = sorted(set(row.state.get("pages_seen", [])) | {page})
        row.state = {**row.state, "pages_seen": seen}
        if len(seen) == pages and row.completed_at is None:
            row.completed_at = now
    elif page is None and row.completed_at is None:
        row.completed_at = now
    row.updated_at = now
    session.add(row)
    session.flush()
    if row.completed_at is not None and enrolment.completed_at is None:
        _maybe_complete(session, enrolment, version, now)
    return row


def mark_read(session: Session, user: User, course_id: int, material_id: int, *, now: datetime | None = None) -> MaterialProgress:
    """A text read or a scene visited, confirmed by the trainee."""
    return _record(session, user, course_id, material_id, now, allowed=SELF_COMPLETED)


def page_seen(session: Session, user: User, course_id: int, material_id: int, page: int, *,
              now: datetime | None = None) -> MaterialProgress:
    """A picture-book page (0-based) was shown; the book is complete when every page has been."""
    return _record(session, user, course_id, material_id, now, page=page, allowed={MaterialKind.picture_book.value})


def complete_material(session: Session, user: User, course_id: int, material_id: int, *,
                      now: datetime | None = None) -> MaterialProgress:
    """Called by the layer that knows a material is done (media: a video watched by its rule;
    scenarios: a visual assessment passed; later exams: a quiz passed). Any form is accepted."""
    return _record(session, user, course_id, material_id, now)


def material_in_version(session: Session, enrolment: Enrolment, material_id: int, *, kind: str | None = None) -> dict[str, Any]:
    """A material as frozen in the version the trainee learns; NotFound when absent (or not of `kind`)."""
    material = _find_material(session, _version(session, enrolment), material_id)
    if kind is not None and material["kind"] != kind:
        raise NotFound()
    return material


def progress_for_update(session: Session, enrolment: Enrolment, material_id: int, *, now: datetime | None = None) -> MaterialProgress:
    """The trainee's progress row of a material, created if missing and locked (FOR UPDATE on
    PostgreSQL; SQLite writers are serialised) for a read-modify-write of its state (video heartbeats)."""
    return _progress_row(session, enrolment, material_id, now or utcnow())


def _maybe_complete(session: Session, enrolment: Enrolment, version: CourseVersion, now: datetime) -> bool:
    done = _completed_ids(session, enrolment.id or 0)
    if not all(_lesson_done(lesson, done) for lesson in _lessons(snapshot_of(session, version))):
        return False
    result = session.execute(sa.update(Enrolment).where(col(Enrolment.id) == enrolment.id, col(Enrolment.completed_at).is_(None))
                             .values(completed_at=now))
    if getattr(result, "rowcount", 0) != 1:
        return False  # somebody else completed it first: their transaction awarded the hours
    session.refresh(enrolment)
    hours, year = Decimal(version.hours), ledger_year(now)
    session.add(HoursEntry(user_id=enrolment.user_id, year=year, hours=hours, course_id=enrolment.course_id,
                           enrolment_id=enrolment.id, version_id=version.id, awarded_at=now, note=version.title[:300]))
    session.flush()
    events.publish(session, CourseCompleted(user_id=enrolment.user_id, course_id=enrolment.course_id, enrolment_id=enrolment.id or 0,
                                            version_id=version.id or 0, hours=hours, year=year, at=now))
    return True


# ---------------------------------------------------------------------------------------------
# Hours: ledger and requirements


def hours_in_year(session: Session, user_id: int, year: int) -> Decimal:
    total = session.exec(select(func.coalesce(func.sum(HoursEntry.hours), 0)).where(HoursEntry.user_id == user_id,
                                                                                    HoursEntry.year == year)).one()
    return Decimal(str(total))


def ledger(session: Session, actor: User, user: User, *, year: int | None = None) -> Sequence[HoursEntry]:
    if actor.id != user.id and not permissions.can_enrol(actor, user):
        raise PermissionDenied()
    stmt = select(HoursEntry).where(HoursEntry.user_id == user.id)
    if year is not None:
        stmt = stmt.where(HoursEntry.year == year)
    return session.exec(stmt.order_by(col(HoursEntry.awarded_at).desc(), col(HoursEntry.id).desc())).all()


def requirements(session: Session) -> dict[str, Decimal]:
    stored = {r.tier: Decimal(r.hours) for r in session.exec(select(HoursRequirement)).all()}
    return {tier.value: stored.get(tier.value, DEFAULT_REQUIREMENTS[tier.value]) for tier in Tier}


def requirement_for(session: Session, tier: str) -> Decimal:
    row = session.get(HoursRequirement, tier)
    return Decimal(row.hours) if row is not None else DEFAULT_REQUIREMENTS[tier]


def set_requirement(session: Session, actor: User, tier: Tier, hours: Decimal, *, now: datetime | None = None) -> HoursRequirement:
    if not permissions.can_set_requirements(actor):
        raise PermissionDenied()
    if hours < 0 or hours > 999:
        raise ValidationFailed(_("Hours must be between 0 and 999."), errors=[{"loc": ["hours"], "msg": "out of range"}])
    row = session.get(HoursRequirement, tier.value) or HoursRequirement(tier=tier.value, hours=hours)
    row.hours, row.updated_at, row.updated_by_id = hours, now or utcnow(), actor.id
    session.add(row)
    session.flush()
    return row


# ---------------------------------------------------------------------------------------------
# Read models
#
# The two pages trainees open most ("my learning" and the lesson player) read with prebuilt Core
# statements of table columns into small frozen rows: no ORM identity map, and each statement's cache
# key is computed once per process. tests/courses/test_queries.py counts their queries.

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
    lessons: list[dict[str, Any]] = field(default_factory=list)  # `_lessons(snapshot)`, computed once

    @classmethod
    def of(cls, v: CourseVersion | sa.Row[Any]) -> VersionInfo:
        return cls(v.id or 0, v.course_id, v.number, v.snapshot, _lessons(v.snapshot))


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

# A trainee's courses with the ids of the materials they completed in each and, for a course not
# started yet, the prerequisites they have not completed, packed as "id:length:title" records (the
# length in characters, so that a title may hold any character): one row per course.
_MY_COURSES = (
    sa.select(_E.id, _E.course_id, _E.user_id, _E.version_id, _E.started_at, _E.completed_at, _E.due_on,
              _C.title, _C.is_required, _C.hours, _C.published_number,
              sa.select(sa.func.aggregate_strings(sa.cast(_MP.material_id, sa.String), ","))
              .where(_MP.enrolment_id == _E.id, _MP.completed_at.is_not(None)).scalar_subquery().label("done"),
              sa.case((_E.started_at.is_(None),
                       sa.select(sa.func.aggregate_strings(
                           sa.cast(_REQUIRED.c.id, sa.String) + ":" + sa.cast(sa.func.length(_REQUIRED.c.title), sa.String)
                           + ":" + _REQUIRED.c.title, ""))
                       .select_from(Prerequisite.__table__)  # type: ignore[attr-defined]
                       .join(_REQUIRED, _REQUIRED.c.id == _P.required_course_id)
                       .where(_P.course_id == _E.course_id,
                              ~sa.exists().where(_DONE_BY_USER.c.user_id == _E.user_id,
                                                 _DONE_BY_USER.c.course_id == _P.required_course_id,
                                                 _DONE_BY_USER.c.completed_at.is_not(None)))
                       .scalar_subquery())).label("blocking"))
    .join_from(Enrolment.__table__, Course.__table__, _C.id == _E.course_id)  # type: ignore[attr-defined]
    .where(_E.user_id == sa.bindparam("user_id"), _C.published_number > 0)
    .order_by(_E.completed_at.is_not(None), _E.due_on.is_(None), _E.due_on, _E.id)
)


def _unpack_blocking(packed: str | None) -> list[CourseBrief]:
    """The prerequisites `_MY_COURSES` packed into one string, in course id order."""
    courses = []
    at = 0
    while packed and at < len(packed):
        id_end = packed.index(":", at)
        length_end = packed.index(":", id_end + 1)
        title_end = length_end + 1 + int(packed[id_end + 1:length_end])
        courses.append(CourseBrief(int(packed[at:id_end]), packed[length_end + 1:title_end]))
        at = title_end
    return sorted(courses, key=lambda c: c.id)


# Hours this year and the tier's requirement, with the trainee's unit chain (one row per unit of it).
_HOURS_AND_UNITS = sa.select(
    _U.id, _U.name,
    sa.select(sa.func.coalesce(sa.func.sum(_H.hours), 0))
    .where(_H.user_id == sa.bindparam("user_id"), _H.year == sa.bindparam("year")).scalar_subquery(),
    sa.select(_HR.hours).where(_HR.tier == sa.bindparam("tier")).scalar_subquery(),
).where(_U.id.in_(sa.bindparam("unit_ids", expanding=True)))


def _hours_and_unit_path(session: Session, user: User, year: int) -> tuple[Decimal, Decimal, str]:
    """Hours this year, the tier's requirement and the unit path's names, in one query."""
    ids = [int(p) for p in user.org_unit.path.strip("/").split("/") if p] if user.org_unit else []
    rows = session.connection().execute(_HOURS_AND_UNITS, {"user_id": user.id, "year": year, "tier": user.tier,
                                              "unit_ids": ids or [user.org_unit_id]}).tuples().all()
    if rows:
        got, stored = rows[0][2], rows[0][3]
    else:  # no unit row (cannot happen with the foreign key, but a page must not fail for it)
        got, stored = hours_in_year(session, user.id or 0, year), session.get(HoursRequirement, user.tier)
        stored = stored.hours if stored is not None else None
    names = {unit_id: name for unit_id, name, _h, _r in rows}
    return (Decimal(str(got)), Decimal(stored) if stored is not None else DEFAULT_REQUIREMENTS[user.tier],
            " / ".join(names.get(i, "?") for i in ids))


def my_learning(session: Session, user: User, *, now: datetime | None = None) -> MyLearning:
    """The trainee's courses with progress and what blocks those not started, and their hours this year:
    two queries however many courses the trainee has (tests/courses/test_queries.py), and one more for
    versions not in memory yet."""
    now = now or utcnow()
    uid = user.id or 0
    rows = session.connection().execute(_MY_COURSES, {"user_id": uid}).all()
    pairs = [(EnrolmentBrief(r[0], r[1], r[2], r[3], r[4], r[5], r[6]), CourseBrief(r[1], r[7], r[8], r[9], r[10])) for r in rows]
    versions = _versions_for(session, pairs)
    today = local_date(now)
    cards = []
    for (enrolment, course), row in zip(pairs, rows, strict=True):
        version = versions.get(enrolment.id)
        if version is None:
            continue
        cards.append(CourseCard(enrolment, course, status_of(enrolment), _progress(version, _material_ids(row.done)),
                                version.number, version.number < course.published_number, _unpack_blocking(row.blocking),
                                bool(enrolment.due_on and enrolment.completed_at is None and today > enrolment.due_on)))
    year = ledger_year(now)
    hours, required, unit_path = _hours_and_unit_path(session, user, year)
    return MyLearning(year, hours, required, cards, unit_path)


def _progress(version: VersionInfo, done: set[int]) -> Progress:
    finished = [_lesson_done(lesson, done) for lesson in version.lessons]
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
    enrolment = _my_enrolment(session, user, course_id)
    course = session.get(Course, course_id)
    assert course is not None
    version = _version(session, enrolment)
    done = _completed_ids(session, enrolment.id or 0)
    modules = [OutlineModule(m["title"], [OutlineLesson(lesson["id"], lesson["title"], lesson.get("summary", ""),
                                                        len(lesson["materials"]), _lesson_done(lesson, done))
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
    enrolment = session.exec(select(Enrolment).join(Module, col(Module.course_id) == Enrolment.course_id)
                             .join(Lesson, col(Lesson.module_id) == Module.id)
                             .where(Lesson.id == lesson_id, Enrolment.user_id == user.id)).first()
    if enrolment is None:
        if session.get(Lesson, lesson_id) is None:
            raise NotFound()
        raise NotFound(_("You are not enrolled in this course."))
    return enrolment


def lesson_done(view: LessonView) -> bool:
    return _lesson_done(view.lesson, {m.material["id"] for m in view.materials if m.completed})


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
