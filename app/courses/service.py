"""Authoring: curricula, courses, prerequisites and the listings of the authoring pages and the API.
The module → lesson → material structure and its citations of standard clauses are in structure.py,
publishing in publishing.py; enrolment, progress and hours in learning.py.

Functions flush, never commit; permission rules are checked here (permissions.py has the predicates).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, col, select

from app.accounts import permissions as account_permissions
from app.accounts import service as accounts
from app.accounts.models import Role, Tier, User
from app.accounts.scope import CHANGE, READ, USE
from app.core.errors import Conflict, PermissionDenied, ValidationFailed
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


def create_curriculum(session: Session, actor: User, data: CurriculumIn) -> Curriculum:
    """A curriculum for a unit the actor may aim at (a district administrator: one of their subtree; only
    an administrator makes city-wide ones)."""
    if not permissions.is_admin(actor) and not actor.has_role(Role.district_admin):
        raise PermissionDenied(_("You can manage only the curricula of your own units."))
    accounts.target_unit(session, actor, data.org_unit_id)
    curriculum = Curriculum(title=data.title, description=data.description, tier=data.tier.value, org_unit_id=data.org_unit_id,
                            sort_order=data.sort_order, created_by_id=actor.id)
    session.add(curriculum)
    session.flush()
    return curriculum


def get_curriculum(session: Session, actor: User, curriculum_id: int, action: str = READ) -> Curriculum:
    """A curriculum the actor may `action` (CURRICULUM policy); anything else reads as missing."""
    return permissions.CURRICULUM.get(session, actor, curriculum_id, action)


def update_curriculum(session: Session, actor: User, curriculum: Curriculum, data: CurriculumIn | CurriculumPatch) -> Curriculum:
    """Change the fields given (a CurriculumPatch names only some; a CurriculumIn the ones it was built
    with, so a form without `sort_order` keeps the current order). Moving it to another unit needs
    the right to aim at that unit; a district administrator cannot make it city-wide."""
    permissions.CURRICULUM.require(session, actor, curriculum, CHANGE)
    changes = data.model_dump(exclude_unset=True)
    if "org_unit_id" in changes and changes["org_unit_id"] != curriculum.org_unit_id:
        accounts.target_unit(session, actor, changes["org_unit_id"])
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
    permissions.CURRICULUM.require(session, actor, curriculum, CHANGE)
    if not active and (published := live_published_courses(session, curriculum)):
        raise Conflict(_("The curriculum still has published courses: %(titles)s. Archive them first.",
                         titles="、".join(c.title for c in published)))
    curriculum.is_active = active
    session.add(curriculum)
    session.flush()
    return curriculum


def manageable_curriculum_ids(session: Session, actor: User, curricula: Sequence[Curriculum]) -> set[int]:
    """Which of these curricula the actor may edit and archive (for the authoring page's buttons)."""
    return permissions.CURRICULUM.allowed_ids(session, actor, [c.id or 0 for c in curricula], CHANGE)


def list_curricula(session: Session, actor: User, *, tier: str | None = None) -> Sequence[Curriculum]:
    """Authors see every curriculum; a district administrator the city-wide ones and their subtree's."""
    if not permissions.can_author(actor):
        raise PermissionDenied()
    stmt = permissions.CURRICULUM.select(actor, READ)
    if tier:
        stmt = stmt.where(Curriculum.tier == tier)
    return session.exec(stmt.order_by(col(Curriculum.tier), col(Curriculum.sort_order), col(Curriculum.id))).all()


# ---------------------------------------------------------------------------------------------
# Courses


def can_edit(session: Session, actor: User, course: Course) -> bool:
    return permissions.COURSE.allows(session, actor, course, CHANGE)


def require_edit(session: Session, actor: User, course: Course) -> None:
    """The actor may edit the course (COURSE's CHANGE rule; anybody else's reads as missing) and it is not archived."""
    permissions.COURSE.require(session, actor, course, CHANGE)
    if course.archived_at is not None:
        raise Conflict(_("The course has been archived."))


def touch_course(session: Session, course: Course) -> None:
    course.has_draft_changes = True
    course.updated_at = utcnow()
    session.add(course)


def create_course(session: Session, actor: User, curriculum: Curriculum, data: CourseIn) -> Course:
    permissions.CURRICULUM.require(session, actor, curriculum, USE)
    if not curriculum.is_active:
        raise Conflict(_("The curriculum has been archived."))
    course = Course(curriculum_id=curriculum.id or 0, title=data.title, summary=data.summary, hours=data.hours,
                    is_required=data.is_required, sort_order=data.sort_order, owner_id=actor.id or 0)
    session.add(course)
    session.flush()
    return course


def curriculum_to_add_to(session: Session, actor: User, curriculum_id: int) -> Curriculum:
    """A curriculum the actor may add a course to, named in a request's body (422 when not)."""
    curriculum = permissions.CURRICULUM.find(session, actor, curriculum_id, USE)
    if curriculum is None:
        raise ValidationFailed(_("The curriculum does not exist."), errors=[{"loc": ["body", "curriculum_id"], "msg": "unknown"}])
    return curriculum


def move_course(session: Session, actor: User, course: Course, curriculum_id: int) -> Course:
    """Move a course the actor edits into another curriculum they may add courses to (an active one)."""
    require_edit(session, actor, course)
    target = permissions.CURRICULUM.find(session, actor, curriculum_id, USE)
    if target is None:
        raise ValidationFailed(_("The curriculum does not exist."), errors=[{"loc": ["curriculum_id"], "msg": "unknown"}])
    if not target.is_active:
        raise ValidationFailed(_("The curriculum has been archived."))
    course.curriculum_id = target.id or 0
    touch_course(session, course)
    session.flush()
    return course


def get_course(session: Session, actor: User, course_id: int, action: str = READ) -> Course:
    """A course the actor may `action` (COURSE policy: authors read every course, trainees the published
    ones they are enrolled in); anything else reads as missing."""
    return permissions.COURSE.get(session, actor, course_id, action)


def get_course_for_edit(session: Session, actor: User, course_id: int) -> Course:
    return get_course(session, actor, course_id, CHANGE)


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
    """The courses the actor may edit, most recently changed first."""
    return session.exec(permissions.COURSE.select(actor, CHANGE).order_by(col(Course.updated_at).desc())).all()


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
    mine = flt.mine and permissions.can_author(actor)
    stmt = permissions.COURSE.select(actor, CHANGE if mine else READ).join(Curriculum, col(Curriculum.id) == Course.curriculum_id)
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
            .join(Course, col(Course.id) == Enrolment.course_id).where(permissions.ENROLMENT.where(actor, READ)))
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


def users_by_id(session: Session, user_ids: set[int], actor: User | None = None) -> dict[int, User]:
    """Users by id (their names beside rows already shown); with `actor`, only those the actor manages
    (USER's rule), for ids a caller names."""
    if not user_ids:
        return {}
    stmt = select(User).where(col(User.id).in_(user_ids))
    if actor is not None:
        stmt = stmt.where(account_permissions.USER.where(actor, READ))
    return {u.id or 0: u for u in session.exec(stmt).all()}


def curricula_by_id(session: Session, ids: set[int]) -> dict[int, Curriculum]:
    if not ids:
        return {}
    return {c.id or 0: c for c in session.exec(select(Curriculum).where(col(Curriculum.id).in_(ids))).all()}
