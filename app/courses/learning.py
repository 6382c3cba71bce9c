"""Learning: enrolment (manual and by rule), progress per material, completion, study hours and the
annual ledger (reads.py has the read models of the trainee pages).

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
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import defer
from sqlmodel import Session, col, func, select

from app.accounts import permissions as account_permissions
from app.accounts import service as accounts
from app.accounts.models import OrgUnit, Role, Tier, User, UserRole
from app.accounts.scope import CHANGE, READ, TAKE, related
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
from app.courses.publishing import latest_version
from app.courses.schemas import EnrolmentIn, RuleIn

if TYPE_CHECKING:
    from app.courses.reads import EnrolmentBrief

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
    if not permissions.can_manage_enrolments(actor):
        raise PermissionDenied()
    managed = account_permissions.USER.allowed_ids(session, actor, [t.id or 0 for t in trainees], READ)
    if outside := [t.display_name for t in trainees if t.id not in managed]:
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
    accounts.target_unit(session, actor, data.org_unit_id)  # a district administrator's rules name a unit of their subtree
    rule = EnrolmentRule(course_id=course.id or 0, tier=data.tier.value if data.tier else None, org_unit_id=data.org_unit_id,
                         due_days=data.due_days, created_by_id=actor.id)
    session.add(rule)
    session.flush()
    return rule


def deactivate_rule(session: Session, actor: User, rule: EnrolmentRule) -> EnrolmentRule:
    permissions.ENROLMENT_RULE.require(session, actor, rule, CHANGE)
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
        unit = related(session, OrgUnit, rule.org_unit_id)
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


def version_learned(session: Session, enrolment: Enrolment) -> CourseVersion:
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


def snapshot_lessons(snapshot: dict[str, Any]) -> list[dict[str, Any]]:
    return [lesson | {"module_title": module["title"]} for module in snapshot["modules"] for lesson in module["lessons"]]


def lesson_finished(lesson: dict[str, Any], done: set[int]) -> bool:
    required = {m["id"] for m in lesson["materials"] if m["is_required"]}
    if not required:  # only optional materials: looking at any one of them is enough
        return any(m["id"] in done for m in lesson["materials"])
    return required <= done


def completed_material_ids(session: Session, enrolment_id: int) -> set[int]:
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
    lessons = snapshot_lessons(snapshot)
    finished = [lesson_finished(lesson, done) for lesson in lessons]
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


def my_enrolment(session: Session, user: User, course_id: int) -> Enrolment:
    """The caller's own enrolment in a course (ENROLMENT's TAKE rule)."""
    enrolment = session.exec(permissions.ENROLMENT.select(user, TAKE).where(Enrolment.course_id == course_id)).first()
    if enrolment is None:
        raise NotFound(_("You are not enrolled in this course."))
    return enrolment


def start(session: Session, user: User, course_id: int, *, now: datetime | None = None) -> Enrolment:
    """Open the course for the trainee: prerequisites must be complete and the start date reached;
    the first time, the enrolment is pinned to the newest published version."""
    now = now or utcnow()
    enrolment = my_enrolment(session, user, course_id)
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
    for lesson in snapshot_lessons(snapshot_of(session, version)):
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
    version = version_learned(session, enrolment)
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
    material = _find_material(session, version_learned(session, enrolment), material_id)
    if kind is not None and material["kind"] != kind:
        raise NotFound()
    return material


def progress_for_update(session: Session, enrolment: Enrolment, material_id: int, *, now: datetime | None = None) -> MaterialProgress:
    """The trainee's progress row of a material, created if missing and locked (FOR UPDATE on
    PostgreSQL; SQLite writers are serialised) for a read-modify-write of its state (video heartbeats)."""
    return _progress_row(session, enrolment, material_id, now or utcnow())


def _maybe_complete(session: Session, enrolment: Enrolment, version: CourseVersion, now: datetime) -> bool:
    done = completed_material_ids(session, enrolment.id or 0)
    if not all(lesson_finished(lesson, done) for lesson in snapshot_lessons(snapshot_of(session, version))):
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
    if actor.id != user.id and not account_permissions.USER.allows(session, actor, user, READ):
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
