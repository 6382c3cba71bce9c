"""JSON API of the courses domain under /api/v1: curricula, courses (published structure, authoring,
publishing), enrolments, the caller's learning and the progress report. Ids are strings, times ISO
8601 with offset; errors are problem+json (DomainError)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import Body, Query, Response
from pydantic import BaseModel, Field

from app.accounts.access import CurrentUser, allow, signed_in
from app.accounts.models import Role, User
from app.accounts.scope import CHANGE, USE
from app.core.errors import ValidationFailed
from app.core.i18n import gettext as _
from app.core.pagination import Page
from app.core.routing import DbSession, make_router
from app.core.types import Count, Id, Line, Offset, Text
from app.courses import learning, publishing, reads, reports, service, structure
from app.courses.models import Course, CourseVersion, Curriculum, Enrolment
from app.courses.schemas import CourseIn, CurriculumIn, CurriculumPatch, EnrolmentIn

router = make_router(prefix="/api/v1", tags=["courses"])
AUTHORS = (Role.instructor, Role.admin, Role.district_admin)


class Ref(BaseModel):
    id: str
    title: str


class UserRef(BaseModel):
    id: str
    display_name: str


class CurriculumOut(BaseModel):
    id: str
    title: str
    description: str
    tier: str
    org_unit_id: str | None
    is_active: bool


class CourseOut(BaseModel):
    id: str
    curriculum_id: str
    title: str
    summary: str
    hours: Decimal
    is_required: bool
    owner: UserRef | None
    status: str = Field(description="draft (never published), published, or changed (published, with newer draft edits)")
    published_version: int | None
    updated_at: datetime
    archived: bool


class MaterialOut(BaseModel):
    id: str
    kind: str
    title: str
    is_required: bool
    config: dict[str, Any]


class LessonOut(BaseModel):
    id: str
    title: str
    summary: str
    materials: list[MaterialOut]


class ModuleOut(BaseModel):
    id: str
    title: str
    lessons: list[LessonOut]


class VersionOut(BaseModel):
    id: str
    number: int
    hours: Decimal
    published_at: datetime
    modules: list[ModuleOut]


class CourseDetailOut(CourseOut):
    prerequisite_ids: list[str]
    version: VersionOut | None


class CourseCreate(CourseIn):
    curriculum_id: Id
    prerequisite_ids: list[Id] = Field(default_factory=list)


class PublishIn(BaseModel):
    note: Text = Field(default="", max_length=500)


class PublishOut(BaseModel):
    id: str
    course_id: str
    number: int
    published_at: datetime


class EnrolmentOut(BaseModel):
    id: str
    course: Ref
    user: UserRef
    source: str
    status: str
    enrolled_at: datetime
    start_on: date | None
    due_on: date | None
    started_at: datetime | None
    completed_at: datetime | None


class EnrolIn(BaseModel):
    user_id: Id | None = None
    user_ids: list[Id] = Field(default_factory=list, max_length=5000)
    start_on: date | None = None
    due_on: date | None = None


class EnrolOut(BaseModel):
    created: int
    total: int


class CourseCardOut(BaseModel):
    course: Ref
    status: str
    version_number: int
    newer_version: bool
    lessons_done: int
    lessons_total: int
    percent: int
    next_lesson_id: str | None
    blocked_by: list[Ref]
    due_on: date | None
    overdue: bool


class MyLearningOut(BaseModel):
    year: int
    hours_this_year: Decimal
    required_hours: Decimal
    hours_remaining: Decimal
    courses: list[CourseCardOut]


class UnitRef(BaseModel):
    id: str
    name: str
    path: str


class ProgressRowOut(BaseModel):
    user: UserRef
    username: str
    tier: str
    org_unit: UnitRef
    course: Ref
    status: str
    percent: int
    enrolled_at: datetime
    due_on: date | None
    completed_at: datetime | None


def _sid(value: int | None) -> str | None:
    return str(value) if value is not None else None


def course_status(course: Course) -> str:
    if course.published_number == 0:
        return "draft"
    return "changed" if course.has_draft_changes else "published"


def curriculum_out(c: Curriculum) -> CurriculumOut:
    return CurriculumOut(id=str(c.id), title=c.title, description=c.description, tier=c.tier, org_unit_id=_sid(c.org_unit_id),
                         is_active=c.is_active)


def course_out(course: Course, owner: User | None) -> CourseOut:
    return CourseOut(id=str(course.id), curriculum_id=str(course.curriculum_id), title=course.title, summary=course.summary,
                     hours=course.hours, is_required=course.is_required,
                     owner=UserRef(id=str(owner.id), display_name=owner.display_name) if owner else None,
                     status=course_status(course), published_version=course.published_number or None,
                     updated_at=course.updated_at, archived=course.archived_at is not None)


def version_out(version: CourseVersion) -> VersionOut:
    snapshot = version.snapshot
    return VersionOut(id=str(version.id), number=version.number, hours=version.hours, published_at=version.published_at, modules=[
        ModuleOut(id=str(m["id"]), title=m["title"], lessons=[
            LessonOut(id=str(lesson["id"]), title=lesson["title"], summary=lesson.get("summary", ""), materials=[
                MaterialOut(id=str(x["id"]), kind=x["kind"], title=x["title"], is_required=x["is_required"], config=x["config"])
                for x in lesson["materials"]]) for lesson in m["lessons"]]) for m in snapshot["modules"]])


@router.get("/curricula", name="api:curricula", response_model=Page[CurriculumOut], dependencies=[allow(*AUTHORS)])
def list_curricula(db: DbSession, user: CurrentUser, tier: Line | None = None) -> Page[CurriculumOut]:
    rows = service.list_curricula(db, user, tier=tier)
    return Page(items=[curriculum_out(c) for c in rows], total=len(rows))


@router.post("/curricula", name="api:curriculum_create", status_code=201, response_model=CurriculumOut,
             dependencies=[allow(Role.admin, Role.district_admin)])
def create_curriculum(db: DbSession, user: CurrentUser, data: CurriculumIn) -> CurriculumOut:
    """A district administrator's curricula belong to a unit of their subtree."""
    return curriculum_out(service.create_curriculum(db, user, data))


@router.patch("/curricula/{curriculum_id}", name="api:curriculum_update", response_model=CurriculumOut,
              dependencies=[allow(Role.admin, Role.district_admin)])
def update_curriculum(db: DbSession, user: CurrentUser, curriculum_id: Id, data: CurriculumPatch) -> CurriculumOut:
    """Change the fields given; `"org_unit_id": null` makes it city-wide (administrators only)."""
    return curriculum_out(service.update_curriculum(db, user, service.get_curriculum(db, user, curriculum_id, CHANGE), data))


@router.post("/curricula/{curriculum_id}/archive", name="api:curriculum_archive", response_model=CurriculumOut,
             dependencies=[allow(Role.admin, Role.district_admin)])
def archive_curriculum(db: DbSession, user: CurrentUser, curriculum_id: Id) -> CurriculumOut:
    """409 while the curriculum has published courses that are not archived."""
    return curriculum_out(service.set_curriculum_active(db, user, service.get_curriculum(db, user, curriculum_id, CHANGE), False))


@router.post("/curricula/{curriculum_id}/restore", name="api:curriculum_restore", response_model=CurriculumOut,
             dependencies=[allow(Role.admin, Role.district_admin)])
def restore_curriculum(db: DbSession, user: CurrentUser, curriculum_id: Id) -> CurriculumOut:
    return curriculum_out(service.set_curriculum_active(db, user, service.get_curriculum(db, user, curriculum_id, CHANGE), True))


@router.get("/courses", name="api:courses", response_model=Page[CourseOut], dependencies=[signed_in()])
def list_courses(
    db: DbSession, user: CurrentUser, curriculum_id: Id | None = None, tier: Line | None = None, q: Line = "", mine: bool = False,
    limit: Annotated[int, Query(ge=1, le=200)] = 50, offset: Annotated[Offset, Query(ge=0)] = 0,
) -> Page[CourseOut]:
    """Authors see every course (`mine=true`: those they can edit); trainees the published courses they are enrolled in."""
    flt = service.CourseFilter(curriculum_id=curriculum_id, tier=tier, q=q.strip()[:100] or None, mine=mine)
    rows, total = service.search_courses(db, user, flt, limit=limit, offset=offset)
    owners = service.users_by_id(db, {c.owner_id for c in rows})
    return Page(items=[course_out(c, owners.get(c.owner_id)) for c in rows], total=total)


@router.get("/courses/{course_id}", name="api:course", response_model=CourseDetailOut, dependencies=[signed_in()])
def course_detail(db: DbSession, user: CurrentUser, course_id: Id) -> CourseDetailOut:
    """The course with its newest published structure (`version` is null until it is published)."""
    course = service.get_course(db, user, course_id)  # authors: every course; others: published and enrolled
    version = publishing.latest_version(db, course.id or 0)
    base = course_out(course, service.users_by_id(db, {course.owner_id}).get(course.owner_id))
    return CourseDetailOut(**base.model_dump(), prerequisite_ids=[str(i) for i in service.prerequisite_ids(db, course.id or 0)],
                           version=version_out(version) if version else None)


@router.post("/courses", name="api:course_create", status_code=201, response_model=CourseDetailOut,
             dependencies=[allow(*AUTHORS)])
def create_course(db: DbSession, user: CurrentUser, data: CourseCreate) -> CourseDetailOut:
    curriculum = service.curriculum_to_add_to(db, user, data.curriculum_id)
    course = service.create_course(db, user, curriculum, CourseIn.model_validate(data.model_dump(include=set(CourseIn.model_fields))))
    if data.prerequisite_ids:
        service.set_prerequisites(db, user, course, data.prerequisite_ids)
    return CourseDetailOut(**course_out(course, user).model_dump(),
                           prerequisite_ids=[str(i) for i in service.prerequisite_ids(db, course.id or 0)], version=None)


@router.post("/courses/{course_id}/publish", name="api:course_publish", response_model=PublishOut, dependencies=[allow(*AUTHORS)])
def publish(db: DbSession, user: CurrentUser, course_id: Id, data: Annotated[PublishIn | None, Body()] = None) -> PublishOut:
    course = service.get_course_for_edit(db, user, course_id)
    version = publishing.publish_course(db, user, course, note=(data.note if data else ""))
    return PublishOut(id=str(version.id), course_id=str(course.id), number=version.number, published_at=version.published_at)


class LessonMoveIn(BaseModel):
    module_id: Id
    position: Count | None = Field(default=None, ge=0, description="0-based place in the target module; the end when omitted")


class MaterialMoveIn(BaseModel):
    lesson_id: Id
    position: Count | None = Field(default=None, ge=0, description="0-based place in the target lesson; the end when omitted")


class MovedOut(BaseModel):
    id: str
    parent_id: str = Field(description="the module (of a lesson) or lesson (of a material) it is now in")
    position: int


@router.post("/lessons/{lesson_id}/move", name="api:lesson_move", response_model=MovedOut, dependencies=[allow(*AUTHORS)])
def move_lesson(db: DbSession, user: CurrentUser, lesson_id: Id, data: LessonMoveIn) -> MovedOut:
    """Move a lesson to a module of the same course (422 for another course's module; 404 for a lesson
    the caller cannot edit)."""
    structure.item_for_edit(db, user, "lesson", lesson_id)
    lesson = structure.move_lesson(db, user, lesson_id, data.module_id, position=data.position)
    return MovedOut(id=str(lesson.id), parent_id=str(lesson.module_id), position=lesson.position)


@router.post("/materials/{material_id}/move", name="api:material_move", response_model=MovedOut, dependencies=[allow(*AUTHORS)])
def move_material(db: DbSession, user: CurrentUser, material_id: Id, data: MaterialMoveIn) -> MovedOut:
    """Move a material to a lesson of the same course."""
    structure.item_for_edit(db, user, "material", material_id)
    material = structure.move_material(db, user, material_id, data.lesson_id, position=data.position)
    return MovedOut(id=str(material.id), parent_id=str(material.lesson_id), position=material.position)


def enrolment_out(enrolment: Enrolment, user: User, course: Course) -> EnrolmentOut:
    return EnrolmentOut(id=str(enrolment.id), course=Ref(id=str(course.id), title=course.title),
                        user=UserRef(id=str(user.id), display_name=user.display_name), source=enrolment.source,
                        status=learning.status_of(enrolment).value, enrolled_at=enrolment.enrolled_at, start_on=enrolment.start_on,
                        due_on=enrolment.due_on, started_at=enrolment.started_at, completed_at=enrolment.completed_at)


@router.get("/enrolments", name="api:enrolments", response_model=Page[EnrolmentOut], dependencies=[signed_in()])
def list_enrolments(
    db: DbSession, user: CurrentUser, user_id: Id | None = None, course_id: Id | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50, offset: Annotated[Offset, Query(ge=0)] = 0,
) -> Page[EnrolmentOut]:
    """Administrators see every enrolment, district administrators their subtree's, instructors those of
    their courses; everybody else only their own."""
    rows, total = service.list_enrolments(db, user, user_id=user_id, course_id=course_id, limit=limit, offset=offset)
    return Page(items=[enrolment_out(e, u, c) for e, u, c in rows], total=total)


@router.post("/courses/{course_id}/enrolments", name="api:course_enrol", status_code=201, response_model=EnrolOut,
             dependencies=[allow(Role.admin, Role.district_admin)])
def enrol(db: DbSession, user: CurrentUser, course_id: Id, data: EnrolIn, response: Response) -> EnrolOut:
    """Enrol one (`user_id`) or many (`user_ids`) people; enrolling someone twice changes nothing
    (`created` counts the new ones; 200 when nobody was new)."""
    course = service.get_course(db, user, course_id, USE)
    wanted = sorted(set(data.user_ids) | ({data.user_id} if data.user_id is not None else set()))
    if not wanted:
        raise ValidationFailed(_("Name at least one person to enrol."), errors=[{"loc": ["body", "user_ids"], "msg": "empty"}])
    people = service.users_by_id(db, set(wanted), user)  # only people the caller manages: anybody else is unknown
    if missing := [i for i in wanted if i not in people]:
        raise ValidationFailed(_("Unknown user: %(ids)s", ids=", ".join(map(str, missing))),
                               errors=[{"loc": ["body", "user_ids"], "msg": "unknown"}])
    created = learning.enrol_many(db, user, course, [people[i] for i in wanted],
                                  EnrolmentIn(start_on=data.start_on, due_on=data.due_on))
    if created == 0:
        response.status_code = 200
    return EnrolOut(created=created, total=len(wanted))


@router.get("/me/learning", name="api:my_learning", response_model=MyLearningOut, dependencies=[signed_in()])
def my_learning(db: DbSession, user: CurrentUser) -> MyLearningOut:
    data = reads.my_learning(db, user)
    return MyLearningOut(year=data.year, hours_this_year=data.hours_this_year, required_hours=data.required_hours,
                         hours_remaining=data.hours_remaining, courses=[
        CourseCardOut(course=Ref(id=str(card.course.id), title=card.course.title), status=card.status.value,
                      version_number=card.version_number, newer_version=card.newer_version,
                      lessons_done=card.progress.lessons_done, lessons_total=card.progress.lessons_total,
                      percent=100 if card.enrolment.completed_at else card.progress.percent,
                      next_lesson_id=str(card.progress.next_lesson["id"]) if card.progress.next_lesson else None,
                      blocked_by=[Ref(id=str(c.id), title=c.title) for c in card.blocked_by], due_on=card.enrolment.due_on,
                      overdue=card.overdue) for card in data.courses])


def progress_row_out(row: reports.ReportRow) -> ProgressRowOut:
    return ProgressRowOut(user=UserRef(id=str(row.user.id), display_name=row.user.display_name), username=row.user.username,
                          tier=row.user.tier, org_unit=UnitRef(id=str(row.unit.id), name=row.unit.name, path=row.unit.path),
                          course=Ref(id=str(row.course.id), title=row.course.title), status=row.status.value, percent=row.percent,
                          enrolled_at=row.enrolment.enrolled_at, due_on=row.enrolment.due_on, completed_at=row.enrolment.completed_at)


@router.get("/progress", name="api:progress", response_model=Page[ProgressRowOut],
            dependencies=[allow(Role.admin, Role.district_admin, Role.instructor)])
def progress(
    db: DbSession, user: CurrentUser, org_unit_id: Id | None = None, tier: Line | None = None, course_id: Id | None = None,
    status: Line | None = None, limit: Annotated[int, Query(ge=1, le=1000)] = 100, offset: Annotated[Offset, Query(ge=0)] = 0,
) -> Page[ProgressRowOut]:
    """Enrolments with progress: administrators all, district administrators only people of their
    subtree, instructors only the enrolments of their own courses."""
    flt = reports.ReportFilter(org_unit_id=org_unit_id, tier=tier or None, course_id=course_id, status=status or None)
    rows, total = reports.progress_report(db, user, flt, limit=limit, offset=offset)
    return Page(items=[progress_row_out(r) for r in rows], total=total)
