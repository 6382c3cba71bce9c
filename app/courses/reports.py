"""Progress reports for instructors and administrators: enrolments with their progress, filtered by
unit subtree, tier, course and status (Excel export and the API use the same rows).

Who sees which rows: administrators every enrolment; district administrators the people of their
subtree; instructors the enrolments of the courses they own (those they can edit). Someone with both
roles sees the union."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from app.accounts import permissions as account_permissions
from app.accounts.models import OrgUnit, Role, User
from app.core.errors import NotFound, PermissionDenied
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
    if flt.org_unit_id is not None:
        unit = session.get(OrgUnit, flt.org_unit_id)
        if unit is None:
            raise NotFound()
        stmt = stmt.where(col(OrgUnit.path).startswith(unit.path, autoescape=True))
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
    """The condition on (enrolment, user's unit, course) rows that the actor may see."""
    if permissions.is_admin(actor):
        return sa.true()
    visible: list[Any] = []
    prefix = account_permissions.scope_path(actor)
    if actor.has_role(Role.district_admin) and prefix is not None:
        visible.append(col(OrgUnit.path).startswith(prefix, autoescape=True))
    if actor.has_role(Role.instructor):
        visible.append(col(Course.owner_id) == actor.id)
    return sa.or_(*visible) if visible else sa.false()


def course_enrolments(session: Session, actor: User, course: Course) -> Sequence[Enrolment]:
    rows, _total = progress_report(session, actor, ReportFilter(course_id=course.id), limit=10_000)
    return [row.enrolment for row in rows]
