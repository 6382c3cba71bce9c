"""The draft tree of a course, publishing it as a frozen version, and its versions (service.py has
curricula and courses, structure.py the draft's modules, lessons and materials).

Functions flush, never commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlmodel import Session, col, select

from app.accounts.models import User
from app.core.errors import NotFound, ValidationFailed
from app.core.i18n import gettext as _
from app.core.models import utcnow
from app.courses.models import Course, CourseVersion, Lesson, Material, Module
from app.courses.service import SNAPSHOT_SCHEMA, can_edit, require_edit
from app.courses.structure import live, modules_of

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
    lessons = session.exec(select(Lesson).where(col(Lesson.module_id).in_([m.id for m in modules]), live(Lesson.removed_at))
                           .order_by(col(Lesson.position), col(Lesson.id))).all() if modules else []
    mats = session.exec(select(Material).where(col(Material.lesson_id).in_([lesson.id for lesson in lessons]), live(Material.removed_at))
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
    require_edit(session, actor, course)
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


def draft_preview(session: Session, actor: User, course: Course) -> dict[str, Any]:
    """The draft in the shape of a published snapshot, for 'preview as trainee' (nothing is stored)."""
    if not can_edit(session, actor, course):
        raise NotFound()
    return build_snapshot(session, course)
