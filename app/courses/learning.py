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
    MaterialKind,
    MaterialProgress,
    Prerequisite,
)
from app.courses.schemas import EnrolmentIn, RuleIn
from app.courses.service import latest_version

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


def status_of(enrolment: Enrolment) -> EnrolmentStatus:
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


@dataclass
class CourseCard:
    enrolment: Enrolment
    course: Course
    status: EnrolmentStatus
    progress: Progress
    version_number: int
    newer_version: bool
    blocked_by: list[Course] = field(default_factory=list)
    overdue: bool = False


@dataclass
class MyLearning:
    year: int
    hours_this_year: Decimal
    required_hours: Decimal
    courses: list[CourseCard]

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


_VERSION_INFO: ImmutableCache[VersionInfo] = ImmutableCache("course version info", maxsize=2048)
_NEWEST_ID: ImmutableCache[int] = ImmutableCache("course version ids by number", maxsize=4096)


def _versions_for(session: Session, pairs: Sequence[tuple[Enrolment, Course]]) -> dict[int, VersionInfo]:
    """The version each enrolment learns (its pinned one, else the newest published): from memory, with
    one query for those not seen before."""
    wanted: dict[int, int | tuple[int, int]] = {}
    for enrolment, course in pairs:
        if enrolment.version_id:
            wanted[enrolment.id or 0] = enrolment.version_id
        else:
            number_key = (course.id or 0, course.published_number)
            known = _NEWEST_ID.peek(session, number_key)
            wanted[enrolment.id or 0] = known if known is not None else number_key
    missing_ids = {w for w in wanted.values() if isinstance(w, int) and _VERSION_INFO.peek(session, w) is None}
    missing_numbers = {w for w in wanted.values() if isinstance(w, tuple)}
    conditions = []
    if missing_ids:
        conditions.append(col(CourseVersion.id).in_(missing_ids))
    if missing_numbers:
        conditions.append(sa.tuple_(col(CourseVersion.course_id), col(CourseVersion.number)).in_(sorted(missing_numbers)))
    if conditions:
        for v in session.exec(select(CourseVersion).where(sa.or_(*conditions))).all():
            _VERSION_INFO.put(session, v.id, VersionInfo(v.id or 0, v.course_id, v.number, v.snapshot))
            _NEWEST_ID.put(session, (v.course_id, v.number), v.id or 0)
    result = {}
    for enrolment_id, w in wanted.items():
        version_id = w if isinstance(w, int) else _NEWEST_ID.peek(session, w)
        info = _VERSION_INFO.peek(session, version_id) if version_id is not None else None
        if info is not None:
            result[enrolment_id] = info
    return result


def _completed_by_enrolment(session: Session, enrolment_ids: Sequence[int]) -> dict[int, set[int]]:
    done: dict[int, set[int]] = {eid: set() for eid in enrolment_ids}
    if enrolment_ids:
        for eid, mid in session.exec(select(MaterialProgress.enrolment_id, MaterialProgress.material_id).where(
                col(MaterialProgress.enrolment_id).in_(enrolment_ids), col(MaterialProgress.completed_at).is_not(None))).all():
            done[eid].add(mid)
    return done


def _missing_prerequisites_of(session: Session, user_id: int, course_ids: Sequence[int]) -> dict[int, list[Course]]:
    """`missing_prerequisites` for several courses at once (two queries)."""
    if not course_ids:
        return {}
    required = session.exec(select(Prerequisite.course_id, Course).join(Course, col(Prerequisite.required_course_id) == Course.id)
                            .where(col(Prerequisite.course_id).in_(course_ids)).order_by(col(Course.id))).all()
    if not required:
        return {}
    done = set(session.exec(select(Enrolment.course_id).where(Enrolment.user_id == user_id,
                                                              col(Enrolment.completed_at).is_not(None))).all())
    missing: dict[int, list[Course]] = {}
    for course_id, course in required:
        if course.id not in done:
            missing.setdefault(course_id, []).append(course)
    return missing


def my_learning(session: Session, user: User, *, now: datetime | None = None) -> MyLearning:
    """The trainee's courses with progress, and their hours this year. A fixed number of queries
    however many courses the trainee has (tests/courses/test_queries.py counts them)."""
    now = now or utcnow()
    uid = user.id or 0
    pairs = session.exec(select(Enrolment, Course).join(Course, col(Course.id) == Enrolment.course_id)
                         .where(Enrolment.user_id == uid, Course.published_number > 0)
                         .order_by(col(Enrolment.completed_at).is_not(None), col(Enrolment.due_on).is_(None), col(Enrolment.due_on),
                                   col(Enrolment.id))).all()
    versions = _versions_for(session, pairs)
    done = _completed_by_enrolment(session, [e.id or 0 for e, _c in pairs])
    blocked = _missing_prerequisites_of(session, uid, [c.id or 0 for e, c in pairs if e.started_at is None])
    today = local_date(now)
    cards = []
    for enrolment, course in pairs:
        version = versions.get(enrolment.id or 0)
        if version is None:
            continue
        progress = progress_of(version.snapshot, done[enrolment.id or 0])
        cards.append(CourseCard(enrolment, course, status_of(enrolment), progress,
                                version.number, version.number < course.published_number,
                                blocked.get(course.id or 0, []),
                                bool(enrolment.due_on and enrolment.completed_at is None and today > enrolment.due_on)))
    year = ledger_year(now)
    hours, required = _hours_and_requirement(session, uid, user.tier, year)
    return MyLearning(year, hours, required, cards)


def _hours_and_requirement(session: Session, user_id: int, tier: str, year: int) -> tuple[Decimal, Decimal]:
    """`hours_in_year` and `requirement_for` in one query."""
    hours = (sa.select(sa.func.coalesce(sa.func.sum(col(HoursEntry.hours)), 0))
             .where(col(HoursEntry.user_id) == user_id, col(HoursEntry.year) == year).scalar_subquery())
    required = sa.select(col(HoursRequirement.hours)).where(col(HoursRequirement.tier) == tier).scalar_subquery()
    got, stored = session.execute(sa.select(hours, required)).one()
    return Decimal(str(got)), Decimal(stored) if stored is not None else DEFAULT_REQUIREMENTS[tier]


@dataclass
class MaterialView:
    material: dict[str, Any]  # as frozen in the version: id, kind, title, is_required, config
    completed: bool
    state: dict[str, Any]
    asset_status: str | None  # videos: "processing" until the media layer reports otherwise


@dataclass
class LessonView:
    course: Course
    enrolment: Enrolment
    version_number: int
    module_title: str
    lesson: dict[str, Any]
    materials: list[MaterialView]
    previous_lesson_id: int | None
    next_lesson_id: int | None
    progress: Progress


def lesson_view(session: Session, user: User, course_id: int, lesson_id: int, *, now: datetime | None = None,
                enrolment: Enrolment | None = None) -> LessonView:
    """What a trainee sees of a lesson, from the version they learn; opening it starts the course.
    `enrolment`: the trainee's enrolment in the course when the caller has it already."""
    if enrolment is None or enrolment.started_at is None or enrolment.course_id != course_id or enrolment.user_id != user.id:
        enrolment = start(session, user, course_id, now=now)
    version = _version(session, enrolment)
    lessons = _lessons(snapshot_of(session, version))
    index = next((i for i, lesson in enumerate(lessons) if lesson["id"] == lesson_id), None)
    if index is None:
        raise NotFound(_("This lesson is not part of the version you are learning."))
    lesson = lessons[index]
    rows = {p.material_id: p for p in session.exec(select(MaterialProgress).where(MaterialProgress.enrolment_id == enrolment.id)).all()}
    views = [MaterialView(m, bool(rows.get(m["id"]) and rows[m["id"]].completed_at), rows[m["id"]].state if m["id"] in rows else {},
                          "processing" if m["kind"] == MaterialKind.video.value else None) for m in lesson["materials"]]
    course = session.get(Course, course_id)
    assert course is not None
    done = {mid for mid, p in rows.items() if p.completed_at}
    return LessonView(course, enrolment, version.number, lesson["module_title"], lesson, views,
                      lessons[index - 1]["id"] if index > 0 else None, lessons[index + 1]["id"] if index + 1 < len(lessons) else None,
                      progress_of(snapshot_of(session, version), done))


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
    from app.courses.models import Lesson, Module

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
    entry = session.exec(select(HoursEntry).where(HoursEntry.enrolment_id == enrolment_id)).first()
    return Decimal(entry.hours) if entry is not None else None


@dataclass
class CitedClause:
    id: int
    number: str
    title: str
    body: str
    code: str
    standard_title: str
    standard_id: int


def cited_clauses(session: Session, clause_ids: Sequence[int]) -> list[CitedClause]:
    """The standard clauses a text material shows, in the order the author listed them."""
    from app.standards.models import Clause, Standard, StandardVersion

    if not clause_ids:
        return []
    rows = session.exec(select(Clause, StandardVersion, Standard).join(StandardVersion, col(StandardVersion.id) == Clause.version_id)
                        .join(Standard, col(Standard.id) == StandardVersion.standard_id).where(col(Clause.id).in_(clause_ids))).all()
    found = {c.id: CitedClause(c.id or 0, c.number, c.title, c.body, v.code, s.title, s.id or 0) for c, v, s in rows}
    return [found[i] for i in clause_ids if i in found]
