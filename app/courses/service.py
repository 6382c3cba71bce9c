"""Authoring: curricula, courses, prerequisites, the module → lesson → material structure, material
citations of standard clauses, and publishing. Enrolment, progress and hours are in learning.py.

Functions flush, never commit; permission rules are checked here (permissions.py has the predicates).
Structure rows are never deleted: `remove_*` stamps `removed_at`, so published snapshots and
trainees' progress records keep pointing at valid ids. Citations follow the draft: removing a
material removes its citations.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from app.accounts import permissions as account_permissions
from app.accounts.models import OrgUnit, Role, Tier, User
from app.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from app.core.i18n import gettext as _
from app.core.models import utcnow
from app.courses import materials, permissions
from app.courses.models import (
    Course,
    CourseVersion,
    Curriculum,
    Enrolment,
    Lesson,
    Material,
    MaterialKind,
    Module,
    Prerequisite,
)
from app.courses.schemas import CourseIn, CurriculumIn, CurriculumPatch, LessonIn, MaterialIn, MaterialUpdate, ModuleIn
from app.standards import service as standards
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
    for name in ("title", "tier"):
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


def _require_edit(session: Session, actor: User, course: Course) -> None:
    if not can_edit(session, actor, course):
        raise PermissionDenied(_("You can edit only your own courses."))
    if course.archived_at is not None:
        raise Conflict(_("The course has been archived."))


def _touch(session: Session, course: Course) -> None:
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
    _require_edit(session, actor, course)
    renamed = data.title != course.title
    course.sqlmodel_update(data.model_dump())
    _touch(session, course)
    session.flush()
    if renamed:
        _relabel_citations(session, course)
    return course


def archive_course(session: Session, actor: User, course: Course, *, now: datetime | None = None) -> Course:
    """Archived courses take no new enrolments; enrolled trainees keep their records."""
    _require_edit(session, actor, course)
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


# ---------------------------------------------------------------------------------------------
# Prerequisites


def prerequisite_ids(session: Session, course_id: int) -> list[int]:
    return list(session.exec(select(Prerequisite.required_course_id).where(Prerequisite.course_id == course_id)
                             .order_by(col(Prerequisite.required_course_id))).all())


def set_prerequisites(session: Session, actor: User, course: Course, required_ids: Sequence[int]) -> list[int]:
    """Replace the course's prerequisites; refuses unknown courses and cycles."""
    _require_edit(session, actor, course)
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
# Structure: modules, lessons, materials


def _live(column: Any) -> Any:
    return col(column).is_(None)


def _next_position(session: Session, model: Any, parent_column: Any, parent_id: int) -> int:
    current = session.exec(select(sa.func.max(model.position)).where(parent_column == parent_id, _live(model.removed_at))).one()
    return 0 if current is None else int(current) + 1


def modules_of(session: Session, course_id: int) -> list[Module]:
    return list(session.exec(select(Module).where(Module.course_id == course_id, _live(Module.removed_at))
                             .order_by(col(Module.position), col(Module.id))).all())


def lessons_of(session: Session, module_id: int) -> list[Lesson]:
    return list(session.exec(select(Lesson).where(Lesson.module_id == module_id, _live(Lesson.removed_at))
                             .order_by(col(Lesson.position), col(Lesson.id))).all())


def materials_of(session: Session, lesson_id: int) -> list[Material]:
    return list(session.exec(select(Material).where(Material.lesson_id == lesson_id, _live(Material.removed_at))
                             .order_by(col(Material.position), col(Material.id))).all())


def _get_live(session: Session, model: Any, item_id: int) -> Any:
    item = session.get(model, item_id)
    if item is None or item.removed_at is not None:
        raise NotFound()
    return item


def course_of_module(session: Session, module: Module) -> Course:
    return get_course(session, module.course_id)


def course_of_lesson(session: Session, lesson: Lesson) -> tuple[Course, Module]:
    module = session.get(Module, lesson.module_id)
    assert module is not None
    return get_course(session, module.course_id), module


def course_of_material(session: Session, material: Material) -> tuple[Course, Lesson]:
    lesson = session.get(Lesson, material.lesson_id)
    assert lesson is not None
    course, _module = course_of_lesson(session, lesson)
    return course, lesson


def add_module(session: Session, actor: User, course: Course, data: ModuleIn) -> Module:
    _require_edit(session, actor, course)
    module = Module(course_id=course.id or 0, title=data.title,
                    position=_next_position(session, Module, Module.course_id, course.id or 0))
    session.add(module)
    _touch(session, course)
    session.flush()
    return module


def rename_module(session: Session, actor: User, module_id: int, data: ModuleIn) -> Module:
    module = _get_live(session, Module, module_id)
    course = course_of_module(session, module)
    _require_edit(session, actor, course)
    module.title = data.title
    session.add(module)
    _touch(session, course)
    session.flush()
    _relabel_citations(session, course, lesson_ids=[lesson.id or 0 for lesson in lessons_of(session, module.id or 0)])
    return module


def add_lesson(session: Session, actor: User, module_id: int, data: LessonIn) -> Lesson:
    module = _get_live(session, Module, module_id)
    course = course_of_module(session, module)
    _require_edit(session, actor, course)
    lesson = Lesson(module_id=module.id, title=data.title, summary=data.summary,
                    position=_next_position(session, Lesson, Lesson.module_id, module.id))
    session.add(lesson)
    _touch(session, course)
    session.flush()
    return lesson


def update_lesson(session: Session, actor: User, lesson_id: int, data: LessonIn) -> Lesson:
    lesson = _get_live(session, Lesson, lesson_id)
    course, _module = course_of_lesson(session, lesson)
    _require_edit(session, actor, course)
    lesson.title, lesson.summary = data.title, data.summary
    session.add(lesson)
    _touch(session, course)
    session.flush()
    _relabel_citations(session, course, lesson_ids=[lesson.id or 0])
    return lesson


ITEM_MODELS: dict[str, Any] = {"module": Module, "lesson": Lesson, "material": Material}


def item_for_edit(session: Session, actor: User, kind: str, item_id: int) -> tuple[Any, Course]:
    """A live module, lesson or material with its course, if the actor may edit that course; anything
    else (unknown, removed, another instructor's) is NotFound, so existence does not leak."""
    model = ITEM_MODELS.get(kind)
    item = session.get(model, item_id) if model is not None else None
    if item is None or item.removed_at is not None:
        raise NotFound()
    course = (course_of_module(session, item) if kind == "module" else course_of_lesson(session, item)[0] if kind == "lesson"
              else course_of_material(session, item)[0])
    if not can_edit(session, actor, course):
        raise NotFound()
    return item, course


def _lock(session: Session, course: Course) -> None:
    """Serialise structure moves of one course (PostgreSQL; SQLite writers are serialised anyway)."""
    session.exec(select(Course.id).where(Course.id == course.id).with_for_update()).one()


def _place(session: Session, item: Any, source: list[Any], target: list[Any], position: int | None) -> None:
    """Renumber both lists after `item` left `source` and joins `target` at `position` (the end when
    None or past it): positions stay 0..n-1 on both sides."""
    source = [other for other in source if other.id != item.id]
    target = [other for other in target if other.id != item.id]
    index = len(target) if position is None else max(0, min(position, len(target)))
    target.insert(index, item)
    for number, row in enumerate(source):
        row.position = number
        session.add(row)
    for number, row in enumerate(target):
        row.position = number
        session.add(row)


def move_lesson(session: Session, actor: User, lesson_id: int, module_id: int, *, position: int | None = None) -> Lesson:
    """Move a lesson to another module of the same course (at `position`, else at the end)."""
    lesson = _get_live(session, Lesson, lesson_id)
    course, old = course_of_lesson(session, lesson)
    _require_edit(session, actor, course)
    _lock(session, course)
    target = _get_live(session, Module, module_id)
    if target.course_id != course.id:
        raise ValidationFailed(_("A lesson can move only within its course."), errors=[{"loc": ["module_id"], "msg": "other course"}])
    source = lessons_of(session, old.id or 0)
    siblings = source if target.id == old.id else lessons_of(session, target.id or 0)
    lesson.module_id = target.id or 0
    _place(session, lesson, [] if target.id == old.id else source, siblings, position)
    _touch(session, course)
    session.flush()
    return lesson


def move_material(session: Session, actor: User, material_id: int, lesson_id: int, *, position: int | None = None) -> Material:
    """Move a material to another lesson of the same course (at `position`, else at the end); its
    citations follow it (their label names the new lesson)."""
    material = _get_live(session, Material, material_id)
    course, old = course_of_material(session, material)
    _require_edit(session, actor, course)
    _lock(session, course)
    target = _get_live(session, Lesson, lesson_id)
    if course_of_lesson(session, target)[0].id != course.id:
        raise ValidationFailed(_("A material can move only within its course."), errors=[{"loc": ["lesson_id"], "msg": "other course"}])
    source = materials_of(session, old.id or 0)
    siblings = source if target.id == old.id else materials_of(session, target.id or 0)
    material.lesson_id = target.id or 0
    _place(session, material, [] if target.id == old.id else source, siblings, position)
    _touch(session, course)
    session.flush()
    if target.id != old.id:
        clauses = standards.clauses_by_id(session, {c.clause_id for c in material_citations(session, material.id or 0)})
        for clause in clauses.values():
            standards.cite(session, clause, target_type=CITATION_TARGET, target_id=material.id or 0, owner=_owner(session, course),
                           label=_material_label(course, target, material), url=_material_url(course, material))
    return material


def _material_label(course: Course, lesson: Lesson, material: Material) -> str:
    return f"{course.title} · {lesson.title} · {material.title}"


def _material_url(course: Course, material: Material) -> str:
    """Where the review worklist sends the owner: the material in the course editor."""
    return f"/author/courses/{course.id}#material-{material.id}"


def _relabel_citations(session: Session, course: Course, *, lesson_ids: Sequence[int] | None = None) -> None:
    """Keep the worklist's names in step after a course, module or lesson is renamed."""
    stmt = (select(Material, Lesson).join(Lesson, col(Lesson.id) == Material.lesson_id).join(Module, col(Module.id) == Lesson.module_id)
            .where(Module.course_id == course.id, col(Material.removed_at).is_(None)))
    if lesson_ids is not None:
        stmt = stmt.where(col(Lesson.id).in_(lesson_ids))
    for material, lesson in session.exec(stmt).all():
        session.execute(sa.update(Citation).where(col(Citation.target_type) == CITATION_TARGET,
                                                  col(Citation.target_id) == str(material.id))
                        .values(label=_material_label(course, lesson, material)[:300], url=_material_url(course, material)))


def _sync_text_citations(session: Session, actor: User, course: Course, lesson: Lesson, material: Material,
                         old_ids: Sequence[int], new_ids: Sequence[int]) -> None:
    for clause_id in new_ids:
        clause = standards.get_clause(session, actor, clause_id)
        standards.cite(session, clause, target_type=CITATION_TARGET, target_id=material.id or 0, owner=_owner(session, course),
                       label=_material_label(course, lesson, material), url=_material_url(course, material))
    for clause_id in set(old_ids) - set(new_ids):
        old = standards.clauses_by_id(session, {clause_id}).get(clause_id)
        if old is not None:
            standards.uncite(session, old, target_type=CITATION_TARGET, target_id=material.id or 0)


def _owner(session: Session, course: Course) -> User | None:
    return session.get(User, course.owner_id)


def _validated(kind: MaterialKind, config: dict[str, Any]) -> dict[str, Any]:
    return materials.dump_config(materials.parse_config(kind.value, config))


def add_material(session: Session, actor: User, lesson_id: int, data: MaterialIn) -> Material:
    lesson = _get_live(session, Lesson, lesson_id)
    course, _module = course_of_lesson(session, lesson)
    _require_edit(session, actor, course)
    material = Material(lesson_id=lesson.id, kind=data.kind.value, title=data.title, is_required=data.is_required,
                        config=_validated(data.kind, data.config),
                        position=_next_position(session, Material, Material.lesson_id, lesson.id))
    session.add(material)
    session.flush()
    _sync_text_citations(session, actor, course, lesson, material, [], material.config.get("clause_ids", []))
    _touch(session, course)
    session.flush()
    return material


def update_material(session: Session, actor: User, material_id: int, data: MaterialUpdate) -> Material:
    material = _get_live(session, Material, material_id)
    course, lesson = course_of_material(session, material)
    _require_edit(session, actor, course)
    old_ids = list(material.config.get("clause_ids", []))
    material.config = _validated(MaterialKind(material.kind), data.config)
    material.title, material.is_required = data.title, data.is_required
    session.add(material)
    session.flush()
    _sync_text_citations(session, actor, course, lesson, material, old_ids, material.config.get("clause_ids", []))
    _touch(session, course)
    session.flush()
    return material


def _remove(session: Session, actor: User, course: Course, item: Any, now: datetime | None) -> None:
    _require_edit(session, actor, course)
    item.removed_at = now or utcnow()
    session.add(item)
    _touch(session, course)
    session.flush()


def _uncite_all(session: Session, material_ids: Sequence[int]) -> None:
    if material_ids:
        session.execute(sa.delete(Citation).where(col(Citation.target_type) == CITATION_TARGET,
                                                  col(Citation.target_id).in_([str(i) for i in material_ids])))


def remove_material(session: Session, actor: User, material_id: int, *, now: datetime | None = None) -> None:
    material = _get_live(session, Material, material_id)
    course, _lesson = course_of_material(session, material)
    _remove(session, actor, course, material, now)
    _uncite_all(session, [material.id or 0])


def remove_lesson(session: Session, actor: User, lesson_id: int, *, now: datetime | None = None) -> None:
    lesson = _get_live(session, Lesson, lesson_id)
    course, _module = course_of_lesson(session, lesson)
    _remove(session, actor, course, lesson, now)
    _uncite_all(session, [m.id or 0 for m in materials_of(session, lesson.id or 0)])


def remove_module(session: Session, actor: User, module_id: int, *, now: datetime | None = None) -> None:
    module = _get_live(session, Module, module_id)
    course = course_of_module(session, module)
    _remove(session, actor, course, module, now)
    _uncite_all(session, [m.id or 0 for lesson in lessons_of(session, module.id or 0) for m in materials_of(session, lesson.id or 0)])


def _reorder(session: Session, items: Sequence[Any], ordered_ids: Sequence[int]) -> None:
    by_id = {item.id: item for item in items}
    if sorted(ordered_ids) != sorted(by_id) or len(set(ordered_ids)) != len(ordered_ids):
        raise ValidationFailed(_("The new order must list every item exactly once."), errors=[{"loc": ["order"], "msg": "mismatch"}])
    for position, item_id in enumerate(ordered_ids):
        by_id[item_id].position = position
        session.add(by_id[item_id])
    session.flush()


def reorder_modules(session: Session, actor: User, course: Course, ordered_ids: Sequence[int]) -> None:
    _require_edit(session, actor, course)
    _reorder(session, modules_of(session, course.id or 0), ordered_ids)
    _touch(session, course)


def reorder_lessons(session: Session, actor: User, module_id: int, ordered_ids: Sequence[int]) -> None:
    module = _get_live(session, Module, module_id)
    course = course_of_module(session, module)
    _require_edit(session, actor, course)
    _reorder(session, lessons_of(session, module.id or 0), ordered_ids)
    _touch(session, course)


def reorder_materials(session: Session, actor: User, lesson_id: int, ordered_ids: Sequence[int]) -> None:
    lesson = _get_live(session, Lesson, lesson_id)
    course, _module = course_of_lesson(session, lesson)
    _require_edit(session, actor, course)
    _reorder(session, materials_of(session, lesson.id or 0), ordered_ids)
    _touch(session, course)


# ---------------------------------------------------------------------------------------------
# Citations of standard clauses by materials


def cite_clause(session: Session, actor: User, material_id: int, clause_id: int) -> Citation:
    material = _get_live(session, Material, material_id)
    course, lesson = course_of_material(session, material)
    _require_edit(session, actor, course)
    clause = standards.get_clause(session, actor, clause_id)
    return standards.cite(session, clause, target_type=CITATION_TARGET, target_id=material.id or 0, owner=_owner(session, course),
                          label=_material_label(course, lesson, material), url=_material_url(course, material))


def uncite_clause(session: Session, actor: User, material_id: int, clause_id: int) -> bool:
    material = _get_live(session, Material, material_id)
    course, _lesson = course_of_material(session, material)
    _require_edit(session, actor, course)
    clause = standards.get_clause(session, actor, clause_id)
    return standards.uncite(session, clause, target_type=CITATION_TARGET, target_id=material.id or 0)


def material_citations(session: Session, material_id: int) -> list[Citation]:
    return standards.citations_for(session, CITATION_TARGET, material_id)


# ---------------------------------------------------------------------------------------------
# The draft tree and publishing


@dataclass
class DraftLesson:
    lesson: Lesson
    materials: list[Material] = field(default_factory=list)


@dataclass
class DraftModule:
    module: Module
    lessons: list[DraftLesson] = field(default_factory=list)


def draft_tree(session: Session, actor: User, course: Course) -> list[DraftModule]:
    """The editable structure in order (three queries whatever its size)."""
    if not can_edit(session, actor, course):
        raise NotFound()
    return _tree(session, course)


def _tree(session: Session, course: Course) -> list[DraftModule]:
    modules = modules_of(session, course.id or 0)
    lessons = session.exec(select(Lesson).where(col(Lesson.module_id).in_([m.id for m in modules]), _live(Lesson.removed_at))
                           .order_by(col(Lesson.position), col(Lesson.id))).all() if modules else []
    mats = session.exec(select(Material).where(col(Material.lesson_id).in_([lesson.id for lesson in lessons]), _live(Material.removed_at))
                        .order_by(col(Material.position), col(Material.id))).all() if lessons else []
    by_lesson: dict[int, list[Material]] = {}
    for material in mats:
        by_lesson.setdefault(material.lesson_id, []).append(material)
    by_module: dict[int, list[DraftLesson]] = {}
    for lesson in lessons:
        by_module.setdefault(lesson.module_id, []).append(DraftLesson(lesson, by_lesson.get(lesson.id or 0, [])))
    return [DraftModule(m, by_module.get(m.id or 0, [])) for m in modules]


def build_snapshot(session: Session, course: Course) -> dict[str, Any]:
    """The frozen shape of a published version:
    {"schema": 1, "course": {"id", "title", "summary", "hours", "is_required"},
     "modules": [{"id", "title", "lessons": [{"id", "title", "summary",
                  "materials": [{"id", "kind", "title", "is_required", "config"}]}]}]}
    Ids are the stable ids of the structure rows (progress records point at material ids)."""
    return {
        "schema": SNAPSHOT_SCHEMA,
        "course": {"id": course.id, "title": course.title, "summary": course.summary, "hours": str(course.hours),
                   "is_required": course.is_required},
        "modules": [{"id": dm.module.id, "title": dm.module.title, "lessons": [
            {"id": dl.lesson.id, "title": dl.lesson.title, "summary": dl.lesson.summary, "materials": [
                {"id": m.id, "kind": m.kind, "title": m.title, "is_required": m.is_required, "config": m.config}
                for m in dl.materials]} for dl in dm.lessons]} for dm in _tree(session, course)],
    }


def publish_course(session: Session, actor: User, course: Course, *, note: str = "", now: datetime | None = None) -> CourseVersion:
    """Freeze the draft as the next version. The course row is locked so two publishers number their
    versions one after the other (the unique (course_id, number) is the backstop)."""
    _require_edit(session, actor, course)
    course = session.exec(select(Course).where(Course.id == course.id).with_for_update()
                          .execution_options(populate_existing=True)).one()
    snapshot = build_snapshot(session, course)
    lessons = [lesson for module in snapshot["modules"] for lesson in module["lessons"]]
    if not lessons:
        raise ValidationFailed(_("A course needs at least one lesson before it can be published."))
    if empty := [lesson["title"] for lesson in lessons if not lesson["materials"]]:
        raise ValidationFailed(_("Every lesson needs at least one material: %(titles)s", titles="、".join(empty)))
    version = CourseVersion(course_id=course.id or 0, number=course.published_number + 1, title=course.title, hours=course.hours,
                            snapshot=snapshot, published_at=now or utcnow(), published_by_id=actor.id, note=note[:500])
    session.add(version)
    course.published_number = version.number
    course.has_draft_changes = False
    session.add(course)
    session.flush()
    return version


def latest_version(session: Session, course_id: int) -> CourseVersion | None:
    return session.exec(select(CourseVersion).where(CourseVersion.course_id == course_id)
                        .order_by(col(CourseVersion.number).desc())).first()


def versions_of(session: Session, actor: User, course: Course) -> Sequence[CourseVersion]:
    if not can_edit(session, actor, course):
        raise NotFound()
    return session.exec(select(CourseVersion).where(CourseVersion.course_id == course.id).order_by(col(CourseVersion.number).desc())).all()


def snapshot_hours(version: CourseVersion) -> Decimal:
    return Decimal(version.hours)


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


REORDER_SCOPES = ("modules", "lessons", "materials")


def _siblings_in_course(session: Session, course: Course, scope: str, parent_id: int | None) -> list[Any]:
    """The live items of one list of the course's structure; NotFound when the parent is not part of it."""
    if scope == "modules":
        return modules_of(session, course.id or 0)
    if scope == "lessons":
        module = _get_live(session, Module, parent_id or 0)
        if module.course_id != course.id:
            raise NotFound()
        return lessons_of(session, module.id or 0)
    if scope == "materials":
        lesson = _get_live(session, Lesson, parent_id or 0)
        if course_of_lesson(session, lesson)[0].id != course.id:
            raise NotFound()
        return materials_of(session, lesson.id or 0)
    raise ValidationFailed(_("Unknown list."), errors=[{"loc": ["scope"], "msg": "unknown"}])


def reorder_in_course(session: Session, actor: User, course: Course, scope: str, parent_id: int | None,
                      ordered_ids: Sequence[int]) -> None:
    """Reorder one list (modules of the course, lessons of a module, materials of a lesson) of this
    course: a parent or an item of another course is refused and nothing changes."""
    _require_edit(session, actor, course)
    _reorder(session, _siblings_in_course(session, course, scope, parent_id), ordered_ids)
    _touch(session, course)
    session.flush()


def move_step(session: Session, actor: User, course: Course, scope: str, parent_id: int | None, item_id: int, delta: int) -> bool:
    """Move an item one place up (-1) or down (+1) in its list; False when it is already at that end."""
    _require_edit(session, actor, course)
    ids = [item.id for item in _siblings_in_course(session, course, scope, parent_id)]
    if item_id not in ids:
        raise NotFound()
    index = ids.index(item_id)
    target = index + (1 if delta > 0 else -1)
    if not 0 <= target < len(ids):
        return False
    ids[index], ids[target] = ids[target], ids[index]
    reorder_in_course(session, actor, course, scope, parent_id, ids)
    return True


def draft_preview(session: Session, actor: User, course: Course) -> dict[str, Any]:
    """The draft in the shape of a published snapshot, for 'preview as trainee' (nothing is stored)."""
    if not can_edit(session, actor, course):
        raise NotFound()
    return build_snapshot(session, course)
