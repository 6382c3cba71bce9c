"""The draft structure of a course: modules, lessons and materials (add, edit, move, reorder, remove)
and the standard clauses materials cite. Structure rows are never deleted: `remove_*` stamps
`removed_at`, so published snapshots and trainees' progress records keep pointing at valid ids.
Citations follow the draft: removing a material removes its citations.

Functions flush, never commit; a course's edit rights are checked with service.require_edit.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from app.accounts.models import User
from app.accounts.scope import CHANGE, READ, Policy, related
from app.core.errors import NotFound, ValidationFailed
from app.core.i18n import gettext as _
from app.core.models import utcnow
from app.courses import materials
from app.courses.models import Course, Lesson, Material, MaterialKind, Module
from app.courses.permissions import LESSON, MATERIAL, MODULE
from app.courses.schemas import LessonIn, MaterialIn, MaterialUpdate, ModuleIn
from app.courses.service import (
    CITATION_TARGET,
    material_label,
    material_url,
    relabel_citations,
    require_edit,
    touch_course,
)
from app.media import permissions as media_permissions
from app.media import service as media
from app.standards import citations
from app.standards import service as standards
from app.standards.models import Citation

# ---------------------------------------------------------------------------------------------
# Structure: modules, lessons, materials


def live(column: Any) -> Any:
    return col(column).is_(None)


def _next_position(session: Session, model: Any, parent_column: Any, parent_id: int) -> int:
    current = session.exec(select(sa.func.max(model.position)).where(parent_column == parent_id, live(model.removed_at))).one()
    return 0 if current is None else int(current) + 1


def modules_of(session: Session, course_id: int) -> list[Module]:
    return list(session.exec(select(Module).where(Module.course_id == course_id, live(Module.removed_at))
                             .order_by(col(Module.position), col(Module.id))).all())


def lessons_of(session: Session, module_id: int) -> list[Lesson]:
    return list(session.exec(select(Lesson).where(Lesson.module_id == module_id, live(Lesson.removed_at))
                             .order_by(col(Lesson.position), col(Lesson.id))).all())


def materials_of(session: Session, lesson_id: int) -> list[Material]:
    return list(session.exec(select(Material).where(Material.lesson_id == lesson_id, live(Material.removed_at))
                             .order_by(col(Material.position), col(Material.id))).all())


ITEM_POLICIES: dict[str, Policy[Any]] = {"module": MODULE, "lesson": LESSON, "material": MATERIAL}


def _get_live(session: Session, actor: User, kind: str, item_id: int) -> Any:
    """A live module, lesson or material of a course the actor may edit (its policy follows the course);
    anything else (unknown, removed, another instructor's) is NotFound, so existence does not leak."""
    policy = ITEM_POLICIES.get(kind)
    item = policy.find(session, actor, item_id, CHANGE) if policy is not None else None
    if item is None or item.removed_at is not None:
        raise NotFound()
    return item


def _live_in_course(session: Session, course: Course, model: Any, item_id: int) -> Any:
    """A live module or lesson of a course the caller already edits (its rule checked): None when it
    belongs to another course, is removed or does not exist."""
    if model is Module:
        return session.exec(select(Module).where(Module.id == item_id, Module.course_id == course.id, live(Module.removed_at))).first()
    return session.exec(select(Lesson).join(Module, col(Module.id) == Lesson.module_id)
                        .where(Lesson.id == item_id, Module.course_id == course.id, live(Lesson.removed_at))).first()


def course_of_module(session: Session, module: Module) -> Course:
    """The course of a module already in hand (loaded through its policy)."""
    course = related(session, Course, module.course_id)
    assert course is not None  # a foreign key
    return course


def course_of_lesson(session: Session, lesson: Lesson) -> tuple[Course, Module]:
    module = related(session, Module, lesson.module_id)
    assert module is not None
    return course_of_module(session, module), module


def course_of_material(session: Session, material: Material) -> tuple[Course, Lesson]:
    lesson = related(session, Lesson, material.lesson_id)
    assert lesson is not None
    course, _module = course_of_lesson(session, lesson)
    return course, lesson


def add_module(session: Session, actor: User, course: Course, data: ModuleIn) -> Module:
    require_edit(session, actor, course)
    module = Module(course_id=course.id or 0, title=data.title,
                    position=_next_position(session, Module, Module.course_id, course.id or 0))
    session.add(module)
    touch_course(session, course)
    session.flush()
    return module


def rename_module(session: Session, actor: User, module_id: int, data: ModuleIn) -> Module:
    module = _get_live(session, actor, "module", module_id)
    course = course_of_module(session, module)
    require_edit(session, actor, course)
    module.title = data.title
    session.add(module)
    touch_course(session, course)
    session.flush()
    relabel_citations(session, course, lesson_ids=[lesson.id or 0 for lesson in lessons_of(session, module.id or 0)])
    return module


def add_lesson(session: Session, actor: User, module_id: int, data: LessonIn) -> Lesson:
    module = _get_live(session, actor, "module", module_id)
    course = course_of_module(session, module)
    require_edit(session, actor, course)
    lesson = Lesson(module_id=module.id, title=data.title, summary=data.summary,
                    position=_next_position(session, Lesson, Lesson.module_id, module.id))
    session.add(lesson)
    touch_course(session, course)
    session.flush()
    return lesson


def update_lesson(session: Session, actor: User, lesson_id: int, data: LessonIn) -> Lesson:
    lesson = _get_live(session, actor, "lesson", lesson_id)
    course, _module = course_of_lesson(session, lesson)
    require_edit(session, actor, course)
    lesson.title, lesson.summary = data.title, data.summary
    session.add(lesson)
    touch_course(session, course)
    session.flush()
    relabel_citations(session, course, lesson_ids=[lesson.id or 0])
    return lesson


def item_for_edit(session: Session, actor: User, kind: str, item_id: int) -> tuple[Any, Course]:
    """A live module, lesson or material with its course, if the actor may edit that course; anything
    else (unknown, removed, another instructor's) is NotFound, so existence does not leak."""
    item = _get_live(session, actor, kind, item_id)
    course = (course_of_module(session, item) if kind == "module" else course_of_lesson(session, item)[0] if kind == "lesson"
              else course_of_material(session, item)[0])
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
    lesson = _get_live(session, actor, "lesson", lesson_id)
    course, old = course_of_lesson(session, lesson)
    require_edit(session, actor, course)
    _lock(session, course)
    target = _live_in_course(session, course, Module, module_id)
    if target is None:
        raise ValidationFailed(_("A lesson can move only within its course."), errors=[{"loc": ["module_id"], "msg": "other course"}])
    source = lessons_of(session, old.id or 0)
    siblings = source if target.id == old.id else lessons_of(session, target.id or 0)
    lesson.module_id = target.id or 0
    _place(session, lesson, [] if target.id == old.id else source, siblings, position)
    touch_course(session, course)
    session.flush()
    return lesson


def move_material(session: Session, actor: User, material_id: int, lesson_id: int, *, position: int | None = None) -> Material:
    """Move a material to another lesson of the same course (at `position`, else at the end); its
    citations follow it (their label names the new lesson)."""
    material = _get_live(session, actor, "material", material_id)
    course, old = course_of_material(session, material)
    require_edit(session, actor, course)
    _lock(session, course)
    target = _live_in_course(session, course, Lesson, lesson_id)
    if target is None:
        raise ValidationFailed(_("A material can move only within its course."), errors=[{"loc": ["lesson_id"], "msg": "other course"}])
    source = materials_of(session, old.id or 0)
    siblings = source if target.id == old.id else materials_of(session, target.id or 0)
    material.lesson_id = target.id or 0
    _place(session, material, [] if target.id == old.id else source, siblings, position)
    touch_course(session, course)
    session.flush()
    if target.id != old.id:
        clauses = standards.clauses_by_id(session, {c.clause_id for c in material_citations(session, material.id or 0)})
        for clause in clauses.values():
            citations.cite(session, clause, target_type=CITATION_TARGET, target_id=material.id or 0, owner=_owner(session, course),
                           label=material_label(course, target, material), url=material_url(course, material))
    return material


def _sync_text_citations(session: Session, actor: User, course: Course, lesson: Lesson, material: Material,
                         old_ids: Sequence[int], new_ids: Sequence[int]) -> None:
    for clause_id in new_ids:
        clause = standards.get_clause(session, actor, clause_id)
        citations.cite(session, clause, target_type=CITATION_TARGET, target_id=material.id or 0, owner=_owner(session, course),
                       label=material_label(course, lesson, material), url=material_url(course, material))
    for clause_id in set(old_ids) - set(new_ids):
        old = standards.clauses_by_id(session, {clause_id}).get(clause_id)
        if old is not None:
            citations.uncite(session, old, target_type=CITATION_TARGET, target_id=material.id or 0)


def _owner(session: Session, course: Course) -> User | None:
    return related(session, User, course.owner_id)


def _validated(session: Session, actor: User, kind: MaterialKind, config: dict[str, Any],
               keep: dict[str, Any] | None = None) -> dict[str, Any]:
    """The config as stored, once valid; the media it newly names must be media the author may see (ASSET's
    READ rule), else the material would hand them to its trainees. A reference to no asset stays allowed:
    it is a placeholder that shows as missing (the demo without ffmpeg), and asset ids are random tokens,
    so accepting one tells nothing. Media the material already showed may stay."""
    dumped = materials.dump_config(materials.parse_config(kind.value, config))
    new = materials.asset_ids(kind.value, dumped) - (materials.asset_ids(kind.value, keep) if keep else set())
    existing = media.existing_asset_ids(session, new)
    if unknown := sorted(existing - media_permissions.ASSET.allowed_ids(session, actor, existing, READ)):
        raise ValidationFailed(_("No such media file: %(ids)s", ids=", ".join(unknown)),
                               errors=[{"loc": ["config"], "msg": f"unknown media {i}"} for i in unknown])
    return dumped


def add_material(session: Session, actor: User, lesson_id: int, data: MaterialIn) -> Material:
    lesson = _get_live(session, actor, "lesson", lesson_id)
    course, _module = course_of_lesson(session, lesson)
    require_edit(session, actor, course)
    material = Material(lesson_id=lesson.id, kind=data.kind.value, title=data.title, is_required=data.is_required,
                        config=_validated(session, actor, data.kind, data.config),
                        position=_next_position(session, Material, Material.lesson_id, lesson.id))
    session.add(material)
    session.flush()
    _sync_text_citations(session, actor, course, lesson, material, [], material.config.get("clause_ids", []))
    touch_course(session, course)
    session.flush()
    return material


def update_material(session: Session, actor: User, material_id: int, data: MaterialUpdate) -> Material:
    material = _get_live(session, actor, "material", material_id)
    course, lesson = course_of_material(session, material)
    require_edit(session, actor, course)
    old_ids = list(material.config.get("clause_ids", []))
    material.config = _validated(session, actor, MaterialKind(material.kind), data.config, keep=material.config)
    material.title, material.is_required = data.title, data.is_required
    session.add(material)
    session.flush()
    _sync_text_citations(session, actor, course, lesson, material, old_ids, material.config.get("clause_ids", []))
    touch_course(session, course)
    session.flush()
    return material


def _remove(session: Session, actor: User, course: Course, item: Any, now: datetime | None) -> None:
    require_edit(session, actor, course)
    item.removed_at = now or utcnow()
    session.add(item)
    touch_course(session, course)
    session.flush()


def _uncite_all(session: Session, material_ids: Sequence[int]) -> None:
    if material_ids:
        session.execute(sa.delete(Citation).where(col(Citation.target_type) == CITATION_TARGET,
                                                  col(Citation.target_id).in_([str(i) for i in material_ids])))


def remove_material(session: Session, actor: User, material_id: int, *, now: datetime | None = None) -> None:
    material = _get_live(session, actor, "material", material_id)
    course, _lesson = course_of_material(session, material)
    _remove(session, actor, course, material, now)
    _uncite_all(session, [material.id or 0])


def remove_lesson(session: Session, actor: User, lesson_id: int, *, now: datetime | None = None) -> None:
    lesson = _get_live(session, actor, "lesson", lesson_id)
    course, _module = course_of_lesson(session, lesson)
    _remove(session, actor, course, lesson, now)
    _uncite_all(session, [m.id or 0 for m in materials_of(session, lesson.id or 0)])


def remove_module(session: Session, actor: User, module_id: int, *, now: datetime | None = None) -> None:
    module = _get_live(session, actor, "module", module_id)
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
    require_edit(session, actor, course)
    _reorder(session, modules_of(session, course.id or 0), ordered_ids)
    touch_course(session, course)


def reorder_lessons(session: Session, actor: User, module_id: int, ordered_ids: Sequence[int]) -> None:
    module = _get_live(session, actor, "module", module_id)
    course = course_of_module(session, module)
    require_edit(session, actor, course)
    _reorder(session, lessons_of(session, module.id or 0), ordered_ids)
    touch_course(session, course)


def reorder_materials(session: Session, actor: User, lesson_id: int, ordered_ids: Sequence[int]) -> None:
    lesson = _get_live(session, actor, "lesson", lesson_id)
    course, _module = course_of_lesson(session, lesson)
    require_edit(session, actor, course)
    _reorder(session, materials_of(session, lesson.id or 0), ordered_ids)
    touch_course(session, course)


# ---------------------------------------------------------------------------------------------
# Citations of standard clauses by materials


def cite_clause(session: Session, actor: User, material_id: int, clause_id: int) -> Citation:
    material = _get_live(session, actor, "material", material_id)
    course, lesson = course_of_material(session, material)
    require_edit(session, actor, course)
    clause = standards.get_clause(session, actor, clause_id)
    return citations.cite(session, clause, target_type=CITATION_TARGET, target_id=material.id or 0, owner=_owner(session, course),
                          label=material_label(course, lesson, material), url=material_url(course, material))


def uncite_clause(session: Session, actor: User, material_id: int, clause_id: int) -> bool:
    material = _get_live(session, actor, "material", material_id)
    course, _lesson = course_of_material(session, material)
    require_edit(session, actor, course)
    clause = standards.get_clause(session, actor, clause_id)
    return citations.uncite(session, clause, target_type=CITATION_TARGET, target_id=material.id or 0)


def material_citations(session: Session, material_id: int) -> list[Citation]:
    return citations.citations_for(session, CITATION_TARGET, material_id)


REORDER_SCOPES = ("modules", "lessons", "materials")


def _siblings_in_course(session: Session, course: Course, scope: str, parent_id: int | None) -> list[Any]:
    """The live items of one list of the course's structure; NotFound when the parent is not part of it."""
    if scope == "modules":
        return modules_of(session, course.id or 0)
    if scope == "lessons":
        module = _live_in_course(session, course, Module, parent_id or 0)
        if module is None:
            raise NotFound()
        return lessons_of(session, module.id or 0)
    if scope == "materials":
        lesson = _live_in_course(session, course, Lesson, parent_id or 0)
        if lesson is None:
            raise NotFound()
        return materials_of(session, lesson.id or 0)
    raise ValidationFailed(_("Unknown list."), errors=[{"loc": ["scope"], "msg": "unknown"}])


def reorder_in_course(session: Session, actor: User, course: Course, scope: str, parent_id: int | None,
                      ordered_ids: Sequence[int]) -> None:
    """Reorder one list (modules of the course, lessons of a module, materials of a lesson) of this
    course: a parent or an item of another course is refused and nothing changes."""
    require_edit(session, actor, course)
    _reorder(session, _siblings_in_course(session, course, scope, parent_id), ordered_ids)
    touch_course(session, course)
    session.flush()


def move_step(session: Session, actor: User, course: Course, scope: str, parent_id: int | None, item_id: int, delta: int) -> bool:
    """Move an item one place up (-1) or down (+1) in its list; False when it is already at that end."""
    require_edit(session, actor, course)
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
