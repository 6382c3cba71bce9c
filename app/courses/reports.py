"""Progress reports for instructors and administrators: enrolments with their progress, filtered by
unit subtree, tier, course and status (Excel export and the API use the same rows).

Who sees which rows: administrators every enrolment; district administrators the people of their
subtree; instructors the enrolments of the courses they own (those they can edit). Someone with both
roles sees the union."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import aliased
from sqlmodel import Session, col, func, select

from app.accounts.models import OrgUnit, User
from app.accounts.scope import READ
from app.core.errors import PermissionDenied
from app.courses import permissions
from app.courses.learning import progress_of, status_of, version_learned
from app.courses.models import Course, CourseVersion, Enrolment, EnrolmentStatus, MaterialProgress


@dataclass
class ReportRow:
    user: User
    unit: OrgUnit
    course: Course
    enrolment: Enrolment
    status: EnrolmentStatus
    percent: int


@dataclass
class ReportFilter:
    org_unit_id: int | None = None
    tier: str | None = None
    course_id: int | None = None
    status: str | None = None


def progress_report(session: Session, actor: User, flt: ReportFilter | None = None, *, limit: int = 100,
                    offset: int = 0) -> tuple[list[ReportRow], int]:
    """Enrolments with their progress, filtered by unit subtree, tier and course, within what the
    actor may see (see the module docstring)."""
    flt = flt or ReportFilter()
    if not permissions.can_view_progress(actor):
        raise PermissionDenied()
    stmt = (select(Enrolment, User, OrgUnit, Course).join(User, col(User.id) == Enrolment.user_id)
            .join(OrgUnit, col(OrgUnit.id) == User.org_unit_id).join(Course, col(Course.id) == Enrolment.course_id))
    stmt = stmt.where(visible_rows(actor))
    if flt.org_unit_id is not None:  # a filter within what the actor sees: an unknown unit matches nobody
        stmt = stmt.where(unit_in_subtree_of(flt.org_unit_id))
    if flt.tier:
        stmt = stmt.where(User.tier == flt.tier)
    if flt.course_id is not None:
        stmt = stmt.where(Enrolment.course_id == flt.course_id)
    if flt.status == EnrolmentStatus.completed:
        stmt = stmt.where(col(Enrolment.completed_at).is_not(None))
    elif flt.status == EnrolmentStatus.in_progress:
        stmt = stmt.where(col(Enrolment.completed_at).is_(None), col(Enrolment.started_at).is_not(None))
    elif flt.status == EnrolmentStatus.not_started:
        stmt = stmt.where(col(Enrolment.started_at).is_(None))
    total = session.exec(select(func.count()).select_from(stmt.subquery())).one()
    rows = session.exec(stmt.order_by(col(OrgUnit.path), col(User.username), col(Course.id)).limit(limit).offset(offset)).all()
    versions: dict[int, CourseVersion] = {}
    done: dict[int, set[int]] = {}
    enrolment_ids = [e.id for e, *_rest in rows]
    if enrolment_ids:
        for eid, mid in session.exec(select(MaterialProgress.enrolment_id, MaterialProgress.material_id).where(
                col(MaterialProgress.enrolment_id).in_(enrolment_ids), col(MaterialProgress.completed_at).is_not(None))).all():
            done.setdefault(eid, set()).add(mid)
    result = []
    for enrolment, user, unit, course in rows:
        key = enrolment.version_id or -(course.id or 0)
        if key not in versions:
            versions[key] = version_learned(session, enrolment)
        percent = 100 if enrolment.completed_at else progress_of(versions[key].snapshot, done.get(enrolment.id or 0, set())).percent
        result.append(ReportRow(user, unit, course, enrolment, status_of(enrolment), percent))
    return result, total


def visible_rows(actor: User) -> Any:
    """The enrolments the actor may see in reports (ENROLMENT's READ rule)."""
    return permissions.ENROLMENT.where(actor, READ)


def unit_in_subtree_of(unit_id: int) -> Any:
    """Rows whose user's unit (OrgUnit, joined) lies in the subtree of unit `unit_id`."""
    top = aliased(OrgUnit)
    return select(top.id).where(top.id == unit_id, col(OrgUnit.path).startswith(top.path)).exists()


def course_enrolments(session: Session, actor: User, course: Course) -> Sequence[Enrolment]:
    rows, _total = progress_report(session, actor, ReportFilter(course_id=course.id), limit=10_000)
    return [row.enrolment for row in rows]
