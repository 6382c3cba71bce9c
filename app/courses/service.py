"""Authoring: curricula, courses, prerequisites and the listings of the authoring pages and the API.
The module → lesson → material structure and its citations of standard clauses are in structure.py,
publishing in publishing.py; enrolment, progress and hours in learning.py.

Functions flush, never commit; permission rules are checked here (permissions.py has the predicates).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from app.accounts import permissions as account_permissions
from app.accounts.models import OrgUnit, Role, Tier, User
from app.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from app.core.i18n import gettext as _
from app.core.models import utcnow
from app.courses import permissions
from app.courses.models import (
    Course,
    CourseVersion,
    Curriculum,
    Enrolment,
    Lesson,
    Material,
    Module,
    Prerequisite,
)
from app.courses.schemas import CourseIn, CurriculumIn, CurriculumPatch
from app.standards.models import Citation

CITATION_TARGET = "course_material"
SNAPSHOT_SCHEMA = 1

# ---------------------------------------------------------------------------------------------
# Curricula


def _unit(session: Session, unit_id: int | None) -> OrgUnit | None:
    return session.get(OrgUnit, unit_id) if unit_id is not None else None


def create_curriculum(session: Session, actor: User, data: CurriculumIn) -> Curriculum:
    unit = _unit(session, data.org_unit_id)
    if data.org_unit_id is not None and unit is None:
        raise ValidationFailed(_("The organisation unit does not exist."), errors=[{"loc": ["org_unit_id"], "msg": "unknown"}])
    curriculum = Curriculum(title=data.title, description=data.description, tier=data.tier.value, org_unit_id=data.org_unit_id,
                            sort_order=data.sort_order, created_by_id=actor.id)
    if not permissions.can_manage_curriculum(actor, curriculum, unit):
        raise PermissionDenied(_("You can manage only the curricula of your own units."))
    session.add(curriculum)
    session.flush()
    return curriculum


def get_curriculum(session: Session, curriculum_id: int) -> Curriculum:
    curriculum = session.get(Curriculum, curriculum_id)
    if curriculum is None:
        raise NotFound()
    return curriculum


def update_curriculum(session: Session, actor: User, curriculum: Curriculum, data: CurriculumIn | CurriculumPatch) -> Curriculum:
    """Change the fields given (a CurriculumPatch names only some; a CurriculumIn the ones it was built
    with, so a form without `sort_order` keeps the current order). Moving it to another unit needs
    the right to manage both; a district administrator cannot make it city-wide."""
    if not permissions.can_manage_curriculum(actor, curriculum, _unit(session, curriculum.org_unit_id)):
        raise PermissionDenied(_("You can manage only the curricula of your own units."))
    changes = data.model_dump(exclude_unset=True)
    if "org_unit_id" in changes and changes["org_unit_id"] != curriculum.org_unit_id:
        new_unit = _unit(session, changes["org_unit_id"])
        if changes["org_unit_id"] is not None and new_unit is None:
            raise ValidationFailed(_("The organisation unit does not exist."), errors=[{"loc": ["org_unit_id"], "msg": "unknown"}])
        if not permissions.can_manage_curriculum(actor, curriculum, new_unit):
            raise PermissionDenied(_("You can manage only the curricula of your own units."))
    if changes.get("tier") is not None:
        changes["tier"] = Tier(changes["tier"]).value
    for name in ("title", "tier", "description", "sort_order"):  # null: not changed (the columns are NOT NULL)
        if name in changes and changes[name] is None:
            del changes[name]
    curriculum.sqlmodel_update(changes)
    session.add(curriculum)
    session.flush()
    return curriculum


def live_published_courses(session: Session, curriculum: Curriculum) -> list[Course]:
    return list(session.exec(select(Course).where(Course.curriculum_id == curriculum.id, Course.published_number > 0,
                                                  col(Course.archived_at).is_(None)).order_by(col(Course.id))).all())


def set_curriculum_active(session: Session, actor: User, curriculum: Curriculum, active: bool) -> Curriculum:
    """Archive (or restore) a curriculum. One that still has published courses trainees can be enrolled
    in is refused: archive those courses first. An archived curriculum takes no new courses."""
    if not permissions.can_manage_curriculum(actor, curriculum, _unit(session, curriculum.org_unit_id)):
        raise PermissionDenied(_("You can manage only the curricula of your own units."))
    if not active and (published := live_published_courses(session, curriculum)):
        raise Conflict(_("The curriculum still has published courses: %(titles)s. Archive them first.",
                         titles="、".join(c.title for c in published)))
    curriculum.is_active = active
    session.add(curriculum)
    session.flush()
    return curriculum


def manageable_curriculum_ids(session: Session, actor: User, curricula: Sequence[Curriculum]) -> set[int]:
    """Which of these curricula the actor may edit and archive (for the authoring page's buttons)."""
    units = {u.id: u for u in session.exec(select(OrgUnit).where(
        col(OrgUnit.id).in_({c.org_unit_id for c in curricula if c.org_unit_id is not None}))).all()}
    return {c.id or 0 for c in curricula if permissions.can_manage_curriculum(actor, c, units.get(c.org_unit_id))}


def list_curricula(session: Session, actor: User, *, tier: str | None = None) -> Sequence[Curriculum]:
    """Authors see every curriculum; a district administrator the city-wide ones and their subtree's."""
    stmt = select(Curriculum).outerjoin(OrgUnit, col(OrgUnit.id) == Curriculum.org_unit_id)
    if not permissions.can_author(actor):
        raise PermissionDenied()
    prefix = account_permissions.scope_path(actor)
    if actor.has_role(Role.district_admin) and not actor.has_role(Role.admin, Role.instructor) and prefix is not None:
        stmt = stmt.where(sa.or_(col(Curriculum.org_unit_id).is_(None), col(OrgUnit.path).startswith(prefix, autoescape=True)))
    if tier:
        stmt = stmt.where(Curriculum.tier == tier)
    return session.exec(stmt.order_by(col(Curriculum.tier), col(Curriculum.sort_order), col(Curriculum.id))).all()


# ---------------------------------------------------------------------------------------------
# Courses


def _context(session: Session, course: Course) -> tuple[Curriculum, OrgUnit | None]:
    curriculum = get_curriculum(session, course.curriculum_id)
    return curriculum, _unit(session, curriculum.org_unit_id)


def can_edit(session: Session, actor: User, course: Course) -> bool:
    curriculum, unit = _context(session, course)
    return permissions.can_edit_course(actor, course, curriculum, unit)


def require_edit(session: Session, actor: User, course: Course) -> None:
    if not can_edit(session, actor, course):
        raise PermissionDenied(_("You can edit only your own courses."))
    if course.archived_at is not None:
        raise Conflict(_("The course has been archived."))


def touch_course(session: Session, course: Course) -> None:
    course.has_draft_changes = True
    course.updated_at = utcnow()
    session.add(course)


def create_course(session: Session, actor: User, curriculum: Curriculum, data: CourseIn) -> Course:
    if not permissions.can_add_course(actor, curriculum, _unit(session, curriculum.org_unit_id)):
        raise PermissionDenied(_("Only instructors and administrators author courses."))
    if not curriculum.is_active:
        raise Conflict(_("The curriculum has been archived."))
    course = Course(curriculum_id=curriculum.id or 0, title=data.title, summary=data.summary, hours=data.hours,
                    is_required=data.is_required, sort_order=data.sort_order, owner_id=actor.id or 0)
    session.add(course)
    session.flush()
    return course


def get_course(session: Session, course_id: int) -> Course:
    course = session.get(Course, course_id)
    if course is None:
        raise NotFound()
    return course


def get_course_for_edit(session: Session, actor: User, course_id: int) -> Course:
    course = get_course(session, course_id)
    if not can_edit(session, actor, course):
        raise NotFound()
    return course


def update_course(session: Session, actor: User, course: Course, data: CourseIn) -> Course:
    require_edit(session, actor, course)
    renamed = data.title != course.title
    course.sqlmodel_update(data.model_dump())
    touch_course(session, course)
    session.flush()
    if renamed:
        relabel_citations(session, course)
    return course


def archive_course(session: Session, actor: User, course: Course, *, now: datetime | None = None) -> Course:
    """Archived courses take no new enrolments; enrolled trainees keep their records."""
    require_edit(session, actor, course)
    course.archived_at = now or utcnow()
    session.add(course)
    session.flush()
    return course


def courses_of(session: Session, curriculum: Curriculum) -> Sequence[Course]:
    return session.exec(select(Course).where(Course.curriculum_id == curriculum.id)
                        .order_by(col(Course.is_required).desc(), col(Course.sort_order), col(Course.id))).all()


def list_own_courses(session: Session, actor: User) -> Sequence[Course]:
    stmt = select(Course)
    if not permissions.is_admin(actor):
        stmt = stmt.where(Course.owner_id == actor.id)
    return session.exec(stmt.order_by(col(Course.updated_at).desc())).all()


def material_label(course: Course, lesson: Lesson, material: Material) -> str:
    return f"{course.title} · {lesson.title} · {material.title}"


def material_url(course: Course, material: Material) -> str:
    """Where the review worklist sends the owner: the material in the course editor."""
    return f"/author/courses/{course.id}#material-{material.id}"


def relabel_citations(session: Session, course: Course, *, lesson_ids: Sequence[int] | None = None) -> None:
    """Keep the worklist's names in step after a course, module or lesson is renamed."""
    stmt = (select(Material, Lesson).join(Lesson, col(Lesson.id) == Material.lesson_id).join(Module, col(Module.id) == Lesson.module_id)
            .where(Module.course_id == course.id, col(Material.removed_at).is_(None)))
    if lesson_ids is not None:
        stmt = stmt.where(col(Lesson.id).in_(lesson_ids))
    for material, lesson in session.exec(stmt).all():
        session.execute(sa.update(Citation).where(col(Citation.target_type) == CITATION_TARGET,
                                                  col(Citation.target_id) == str(material.id))
                        .values(label=material_label(course, lesson, material)[:300], url=material_url(course, material)))


# ---------------------------------------------------------------------------------------------
# Prerequisites


def prerequisite_ids(session: Session, course_id: int) -> list[int]:
    return list(session.exec(select(Prerequisite.required_course_id).where(Prerequisite.course_id == course_id)
                             .order_by(col(Prerequisite.required_course_id))).all())


def set_prerequisites(session: Session, actor: User, course: Course, required_ids: Sequence[int]) -> list[int]:
    """Replace the course's prerequisites; refuses unknown courses and cycles."""
    require_edit(session, actor, course)
    wanted = sorted(set(required_ids))
    if course.id in wanted:
        raise ValidationFailed(_("A course cannot be its own prerequisite."), errors=[{"loc": ["required_ids"], "msg": "self"}])
    found = set(session.exec(select(Course.id).where(col(Course.id).in_(wanted))).all())
    if missing := [i for i in wanted if i not in found]:
        raise ValidationFailed(_("Unknown course: %(ids)s", ids=", ".join(map(str, missing))),
                               errors=[{"loc": ["required_ids"], "msg": "unknown"}])
    edges: dict[int, set[int]] = {}
    for a, b in session.exec(select(Prerequisite.course_id, Prerequisite.required_course_id)).all():
        edges.setdefault(a, set()).add(b)
    edges[course.id or 0] = set(wanted)
    seen: set[int] = set()
    stack = list(wanted)
    while stack:  # does any prerequisite (transitively) require this course?
        current = stack.pop()
        if current == course.id:
            raise ValidationFailed(_("These prerequisites would make a cycle."), errors=[{"loc": ["required_ids"], "msg": "cycle"}])
        if current not in seen:
            seen.add(current)
            stack.extend(edges.get(current, ()))
    session.execute(sa.delete(Prerequisite).where(col(Prerequisite.course_id) == course.id))
    for required in wanted:
        session.add(Prerequisite(course_id=course.id or 0, required_course_id=required))
    session.flush()
    return wanted


# ---------------------------------------------------------------------------------------------
# Listings for the authoring pages and the API (added with them)


@dataclass
class CourseFilter:
    curriculum_id: int | None = None
    tier: str | None = None
    q: str | None = None
    mine: bool = False


def search_courses(session: Session, actor: User, flt: CourseFilter | None = None, *, limit: int = 50,
                   offset: int = 0) -> tuple[list[Course], int]:
    """Courses the caller may see: authors every course (`mine`: only the ones they can edit, a
    district administrator's being their subtree's); anyone else only published courses they are
    enrolled in."""
    flt = flt or CourseFilter()
    stmt = select(Course).join(Curriculum, col(Curriculum.id) == Course.curriculum_id).outerjoin(
        OrgUnit, col(OrgUnit.id) == Curriculum.org_unit_id)
    if not permissions.can_author(actor):
        enrolled = select(Enrolment.course_id).where(Enrolment.user_id == actor.id)
        stmt = stmt.where(col(Course.id).in_(enrolled), Course.published_number > 0)
    elif flt.mine and not permissions.is_admin(actor):
        ownership: list[Any] = [col(Course.owner_id) == actor.id] if actor.has_role(Role.instructor) else []
        prefix = account_permissions.scope_path(actor)
        if actor.has_role(Role.district_admin) and prefix is not None:
            ownership.append(col(OrgUnit.path).startswith(prefix, autoescape=True))
        stmt = stmt.where(sa.or_(*ownership) if ownership else sa.false())
    if flt.curriculum_id is not None:
        stmt = stmt.where(Course.curriculum_id == flt.curriculum_id)
    if flt.tier:
        stmt = stmt.where(Curriculum.tier == flt.tier)
    if flt.q:
        stmt = stmt.where(col(Course.title).contains(flt.q.strip(), autoescape=True))
    total = session.exec(select(sa.func.count()).select_from(stmt.subquery())).one()
    rows = session.exec(stmt.order_by(col(Course.updated_at).desc(), col(Course.id).desc()).limit(limit).offset(offset)).all()
    return list(rows), int(total)


def list_enrolments(session: Session, actor: User, *, user_id: int | None = None, course_id: int | None = None,
                    limit: int = 50, offset: int = 0) -> tuple[list[tuple[Enrolment, User, Course]], int]:
    """Enrolments the caller may see: administrators every one, district administrators their
    subtree's people, instructors those of the courses they can edit, anyone else their own."""
    stmt = (select(Enrolment, User, Course).join(User, col(User.id) == Enrolment.user_id)
            .join(Course, col(Course.id) == Enrolment.course_id).join(OrgUnit, col(OrgUnit.id) == User.org_unit_id))
    if permissions.is_admin(actor):
        pass
    elif actor.has_role(Role.district_admin, Role.instructor):
        visible: list[Any] = []
        prefix = account_permissions.scope_path(actor)
        if actor.has_role(Role.district_admin) and prefix is not None:
            visible.append(col(OrgUnit.path).startswith(prefix, autoescape=True))
        if actor.has_role(Role.instructor):
            visible.append(Course.owner_id == actor.id)
        visible.append(Enrolment.user_id == actor.id)
        stmt = stmt.where(sa.or_(*visible))
    else:
        stmt = stmt.where(Enrolment.user_id == actor.id)
    if user_id is not None:
        stmt = stmt.where(Enrolment.user_id == user_id)
    if course_id is not None:
        stmt = stmt.where(Enrolment.course_id == course_id)
    total = session.exec(select(sa.func.count()).select_from(stmt.subquery())).one()
    rows = session.exec(stmt.order_by(col(Enrolment.id)).limit(limit).offset(offset)).all()
    return [(e, u, c) for e, u, c in rows], int(total)


def versions_by_id(session: Session, version_ids: set[int]) -> dict[int, CourseVersion]:
    if not version_ids:
        return {}
    return {v.id or 0: v for v in session.exec(select(CourseVersion).where(col(CourseVersion.id).in_(version_ids))).all()}


def users_by_id(session: Session, user_ids: set[int]) -> dict[int, User]:
    if not user_ids:
        return {}
    return {u.id or 0: u for u in session.exec(select(User).where(col(User.id).in_(user_ids))).all()}


def curricula_by_id(session: Session, ids: set[int]) -> dict[int, Curriculum]:
    if not ids:
        return {}
    return {c.id or 0: c for c in session.exec(select(Curriculum).where(col(Curriculum.id).in_(ids))).all()}
