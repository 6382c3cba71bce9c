"""Course authoring pages: the author's courses and curricula, the course editor (fields, prerequisites,
the module → lesson → material tree with inline title edits, drag or button reordering), preview as a
trainee, publishing, and the progress report with its Excel export. Views parse, call the service
and render; the service checks who may edit what (another instructor's course reads as 404)."""

from __future__ import annotations

import io
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Form, Query, Request, Response
from pydantic import BaseModel, Field, ValidationError

from app.accounts.access import CurrentUser, allow
from app.accounts.models import Role, Tier, User
from app.accounts.scope import CHANGE, USE
from app.accounts.service import all_org_units, list_org_units
from app.core.errors import Conflict, NotFound, ValidationFailed, form_error_message
from app.core.i18n import gettext as _
from app.core.pagination import page_numbers
from app.core.routing import DbSession, make_router
from app.core.templating import env as templates_env
from app.core.templating import flash, path_for, redirect, render
from app.core.timeutil import format_datetime
from app.core.types import Count, Id, Line, Offset, Text
from app.core.xlsx import append_row
from app.courses import permissions, picture_book, publishing, reports, service, structure, video
from app.courses.models import Course, MaterialKind
from app.courses.schemas import CourseIn, CurriculumIn, LessonIn, MaterialIn, MaterialUpdate, ModuleIn
from app.media import service as media
from app.media.models import AssetKind as MediaKind
from app.standards import service as standards

router = make_router(tags=["pages: course authoring"])
AUTHORS = (Role.instructor, Role.admin, Role.district_admin)
REPORTERS = (Role.admin, Role.district_admin, Role.instructor)
REPORT_PAGE = 50
EXPORT_LIMIT = 20_000



def _status(course: Course) -> str:
    if course.published_number == 0:
        return _("Draft")
    if course.has_draft_changes:
        return _("Published v%(n)s, changed since", n=course.published_number)
    return _("Published v%(n)s", n=course.published_number)


def _edit(db: DbSession, user: User, course_id: int) -> Course:
    return service.get_course_for_edit(db, user, course_id)


# ---------------------------------------------------------------------------------------------
# The author's courses and the curricula


@router.get("/author/courses", name="author:courses", dependencies=[allow(*AUTHORS)])
def courses(request: Request, db: DbSession, user: CurrentUser, offset: Annotated[Offset, Query(ge=0)] = 0) -> Response:
    rows, total = service.search_courses(db, user, service.CourseFilter(mine=True), limit=50, offset=offset)
    curricula = service.list_curricula(db, user)
    return render(request, "courses/authoring/courses.html", {
        "rows": rows, "total": total, "pager": page_numbers(total, 50, offset), "status_of": _status,
        "curricula": curricula, "curricula_by_id": {c.id: c for c in curricula},
        "active_curricula": [c for c in curricula if c.is_active],
        "manageable": service.manageable_curriculum_ids(db, user, curricula),
        "owners": service.users_by_id(db, {c.owner_id for c in rows}), "tiers": list(Tier),
        "can_manage_curricula": user.has_role(Role.admin, Role.district_admin),
        "can_report": permissions.can_view_progress(user),
        "units": list_org_units(db, user, include_inactive=False) if user.has_role(Role.admin, Role.district_admin) else [],
        "can_add_course": user.has_role(Role.instructor, Role.admin),
    }, block="courses")


@router.post("/author/curricula", name="author:curriculum_create", dependencies=[allow(*AUTHORS)])
def curriculum_create(request: Request, db: DbSession, user: CurrentUser, title: Annotated[Line, Form()] = "",
                      tier: Annotated[Line, Form()] = "", description: Annotated[Text, Form()] = "",
                      org_unit_id: Annotated[Line, Form()] = "") -> Response:
    try:
        data = CurriculumIn.model_validate({"title": title, "tier": tier, "description": description,
                                            "org_unit_id": int(org_unit_id) if org_unit_id.isdigit() else None})
        curriculum = service.create_curriculum(db, user, data)
    except (ValidationError, ValidationFailed) as exc:
        flash(request, form_error_message(exc), "error")
    else:
        flash(request, _("Curriculum “%(title)s” created.", title=curriculum.title))
    return redirect(request, path_for(request, "author:courses") + "#curricula")


@router.post("/author/curricula/{curriculum_id}", name="author:curriculum_update", dependencies=[allow(*AUTHORS)])
def curriculum_update(request: Request, db: DbSession, user: CurrentUser, curriculum_id: Id, title: Annotated[Line, Form()] = "",
                      tier: Annotated[Line, Form()] = "", description: Annotated[Text, Form()] = "",
                      org_unit_id: Annotated[Line, Form()] = "") -> Response:
    curriculum = service.get_curriculum(db, user, curriculum_id, CHANGE)
    try:
        data = CurriculumIn.model_validate({"title": title, "tier": tier, "description": description,
                                            "org_unit_id": int(org_unit_id) if org_unit_id.isdigit() else None})
        service.update_curriculum(db, user, curriculum, data)
    except (ValidationError, ValidationFailed) as exc:
        flash(request, form_error_message(exc), "error")
        return redirect(request, path_for(request, "author:courses"))  # the error shows at the top
    flash(request, _("Curriculum “%(title)s” saved.", title=curriculum.title))
    return redirect(request, path_for(request, "author:courses") + f"#curriculum-{curriculum_id}")


@router.post("/author/curricula/{curriculum_id}/archive", name="author:curriculum_archive", dependencies=[allow(*AUTHORS)])
def curriculum_archive(request: Request, db: DbSession, user: CurrentUser, curriculum_id: Id,
                       active: Annotated[Line, Form()] = "0") -> Response:
    """Archive (active=0) or restore (active=1) a curriculum."""
    curriculum = service.get_curriculum(db, user, curriculum_id, CHANGE)
    try:
        service.set_curriculum_active(db, user, curriculum, active == "1")
    except Conflict as exc:
        flash(request, exc.translated_detail(), "error")
        return redirect(request, path_for(request, "author:courses"))
    flash(request, _("Curriculum “%(title)s” restored.", title=curriculum.title) if curriculum.is_active
          else _("Curriculum “%(title)s” archived.", title=curriculum.title))
    return redirect(request, path_for(request, "author:courses") + f"#curriculum-{curriculum_id}")


@router.post("/author/courses", name="author:course_create", dependencies=[allow(*AUTHORS)])
def course_create(request: Request, db: DbSession, user: CurrentUser, title: Annotated[Line, Form()] = "",
                  curriculum_id: Annotated[Id, Form()] = 0, hours: Annotated[Line, Form()] = "1",
                  is_required: Annotated[Line, Form()] = "") -> Response:
    try:
        curriculum = service.get_curriculum(db, user, curriculum_id, USE)
        course = service.create_course(db, user, curriculum, CourseIn.model_validate(
            {"title": title, "hours": hours or "0", "is_required": is_required == "1"}))
    except (ValidationError, ValidationFailed, NotFound, Conflict) as exc:
        flash(request, form_error_message(exc), "error")
        return redirect(request, path_for(request, "author:courses"))
    flash(request, _("Course “%(title)s” created. Add its modules and lessons next.", title=course.title))
    return redirect(request, path_for(request, "author:editor", course_id=course.id))


# ---------------------------------------------------------------------------------------------
# The editor


def _editor(request: Request, db: DbSession, user: User, course: Course, *, block: str | None = "tree",
            status_code: int = 200) -> Response:
    tree = publishing.draft_tree(db, user, course)
    curricula = service.list_curricula(db, user)
    others, _total = service.search_courses(db, user, service.CourseFilter(), limit=500)
    material_ids = [m.id for dm in tree for dl in dm.lessons for m in dl.materials]
    clause_ids = {cid for dm in tree for dl in dm.lessons for m in dl.materials for cid in m.config.get("clause_ids", [])}
    return render(request, "courses/authoring/editor.html", {
        "course": course, "tree": tree, "curricula": curricula, "status": _status(course),
        "prerequisites": set(service.prerequisite_ids(db, course.id or 0)),
        "candidates": [c for c in others if c.id != course.id], "kinds": list(MaterialKind),
        "versions": publishing.versions_of(db, user, course), "clauses": standards.clauses_by_id(db, clause_ids),
        "material_count": len(material_ids),
    }, block=block, status_code=status_code)


@router.get("/author/courses/{course_id}", name="author:editor", dependencies=[allow(*AUTHORS)])
def editor(request: Request, db: DbSession, user: CurrentUser, course_id: Id) -> Response:
    return _editor(request, db, user, _edit(db, user, course_id))


@router.post("/author/courses/{course_id}", name="author:course_update", dependencies=[allow(*AUTHORS)])
def course_update(request: Request, db: DbSession, user: CurrentUser, course_id: Id, title: Annotated[Line, Form()] = "",
                  summary: Annotated[Text, Form()] = "", hours: Annotated[Line, Form()] = "0",
                  is_required: Annotated[Line, Form()] = "", curriculum_id: Annotated[Id, Form()] = 0,
                  prerequisite_ids: Annotated[list[Id] | None, Form()] = None) -> Response:
    course = _edit(db, user, course_id)
    try:
        data = CourseIn.model_validate({"title": title, "summary": summary, "hours": Decimal(hours or "0"),
                                        "is_required": is_required == "1", "sort_order": course.sort_order})
        with db.begin_nested():  # all or nothing, without expiring what the page still shows
            if curriculum_id and curriculum_id != course.curriculum_id:
                service.move_course(db, user, course, curriculum_id)
            service.update_course(db, user, course, data)
            service.set_prerequisites(db, user, course, prerequisite_ids or [])
    except (ValidationError, ValidationFailed, InvalidOperation, NotFound) as exc:
        flash(request, form_error_message(exc) if not isinstance(exc, InvalidOperation) else _("Enter the hours as a number."), "error")
        return redirect(request, path_for(request, "author:editor", course_id=course_id))
    flash(request, _("Course details saved."))
    return redirect(request, path_for(request, "author:editor", course_id=course_id))



@router.post("/author/courses/{course_id}/modules", name="author:module_add", dependencies=[allow(*AUTHORS)])
def module_add(request: Request, db: DbSession, user: CurrentUser, course_id: Id, title: Annotated[Line, Form()] = "") -> Response:
    course = _edit(db, user, course_id)
    try:
        structure.add_module(db, user, course, ModuleIn(title=title))
    except ValidationError as exc:
        flash(request, form_error_message(exc), "error")
    if _hx(request):
        return _editor(request, db, user, course)
    return redirect(request, path_for(request, "author:editor", course_id=course_id))


@router.post("/author/modules/{module_id}/lessons", name="author:lesson_add", dependencies=[allow(*AUTHORS)])
def lesson_add(request: Request, db: DbSession, user: CurrentUser, module_id: Id, course_id: Annotated[Id, Form()],
               title: Annotated[Line, Form()] = "") -> Response:
    course = _edit(db, user, course_id)
    try:
        if module_id not in {dm.module.id for dm in publishing.draft_tree(db, user, course)}:
            raise NotFound()
        structure.add_lesson(db, user, module_id, LessonIn(title=title))
    except ValidationError as exc:
        flash(request, form_error_message(exc), "error")
    if _hx(request):
        return _editor(request, db, user, course)
    return redirect(request, path_for(request, "author:editor", course_id=course_id))


def _hx(request: Request) -> bool:
    return request.headers.get("HX-Request") == "true"


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def material_config(kind: str, form: dict[str, Any], clause_ids: list[int]) -> dict[str, Any]:
    """The config of a material from the fields of its form (one set of fields per kind)."""
    if kind == MaterialKind.text:
        return {"html": form.get("html", ""), "clause_ids": clause_ids}
    if kind == MaterialKind.video:
        return video.form_config(form)
    if kind == MaterialKind.picture_book:
        return picture_book.form_config(form, _lines(form.get("pages", "")))
    if kind == MaterialKind.scene:
        return {"name": form.get("name", ""), "location": form.get("location", ""), "photos": _lines(form.get("photos", "")),
                "equipment": _lines(form.get("equipment", "")), "notes": form.get("notes", "")}
    return {"checklist_id": form.get("checklist_id", ""), "instructions": form.get("instructions", "")}


class MaterialForm(BaseModel):
    """The fields of the material form; each kind uses its own subset (see material_config)."""

    course_id: Id = 0
    kind: Line = ""
    title: Line = ""
    is_required: Line = ""
    html: Text = ""
    clause_ids: list[Id] = Field(default_factory=list)
    asset_id: Line = ""
    duration_s: Line = ""
    completion_percent: Line = ""
    no_seek: Line = ""
    subtitles_vtt: Text = ""
    subtitles_label: Line = ""
    pages: Text = ""
    page_image: list[Line] = Field(default_factory=list)  # picture book: the page rows, in order
    page_caption: list[Line] = Field(default_factory=list)
    name: Line = ""
    location: Line = ""
    photos: Text = ""
    equipment: Text = ""
    notes: Text = ""
    checklist_id: Line = ""
    instructions: Text = ""


@router.post("/author/lessons/{lesson_id}/materials", name="author:material_add", dependencies=[allow(*AUTHORS)])
def material_add(request: Request, db: DbSession, user: CurrentUser, lesson_id: Id, form: Annotated[MaterialForm, Form()]) -> Response:
    course = _edit(db, user, form.course_id)
    try:
        if lesson_id not in {dl.lesson.id for dm in publishing.draft_tree(db, user, course) for dl in dm.lessons}:
            raise NotFound()
        with db.begin_nested():
            structure.add_material(db, user, lesson_id, MaterialIn.model_validate({
                "kind": form.kind, "title": form.title, "is_required": form.is_required == "1",
                "config": material_config(form.kind, form.model_dump(), form.clause_ids)}))
    except (ValidationError, ValidationFailed) as exc:
        flash(request, form_error_message(exc), "error")
    else:
        flash(request, _("Material added."))
    return redirect(request, path_for(request, "author:editor", course_id=course.id) + f"#lesson-{lesson_id}")


@router.get("/author/lessons/{lesson_id}/materials/new", name="author:material_new", dependencies=[allow(*AUTHORS)])
def material_new(request: Request, db: DbSession, user: CurrentUser, lesson_id: Id, kind: Line = "text") -> Response:
    lesson, course = _item(db, user, "lesson", lesson_id)
    if kind not in {k.value for k in MaterialKind}:
        raise NotFound()
    return render(request, "courses/authoring/material.html", {
        "material": None, "new_kind": kind, "course": course, "lesson": lesson, "values": dict.fromkeys(MaterialForm.model_fields, ""),
        "chosen": [], "standards_by_id": {}, "versions_by_id": {}, **video.editor_context(db, user, kind),
        **picture_book.editor_context(db, user, kind)})


@router.get("/author/materials/{material_id}", name="author:material_edit", dependencies=[allow(*AUTHORS)])
def material_edit(request: Request, db: DbSession, user: CurrentUser, material_id: Id) -> Response:
    material, course, lesson = _material_for_edit(db, user, material_id)
    config = material.config
    values = {"html": config.get("html", ""), "asset_id": config.get("asset_id", ""), "duration_s": config.get("duration_s") or "",
              "pages": "",  # a picture book's pages are rows of their own (picture_book.editor_context)
              "name": config.get("name", ""), "location": config.get("location", ""), "photos": "\n".join(config.get("photos", [])),
              "equipment": "\n".join(config.get("equipment", [])), "notes": config.get("notes", ""),
              "checklist_id": config.get("checklist_id", ""), "instructions": config.get("instructions", ""),
              **(video.form_values(config) if material.kind == MaterialKind.video else {})}
    clauses = standards.clauses_by_id(db, set(config.get("clause_ids", [])))
    return render(request, "courses/authoring/material.html", {
        "material": material, "course": course, "lesson": lesson, "values": values,
        "chosen": [clauses[i] for i in config.get("clause_ids", []) if i in clauses],
        "standards_by_id": standards.standards_by_id(db, {v.standard_id for v in _versions(db, clauses.values())}),
        "versions_by_id": {v.id: v for v in _versions(db, clauses.values())},
        **video.editor_context(db, user, material.kind, values["asset_id"]),
        **picture_book.editor_context(db, user, material.kind, config),
    })


@router.get("/author/picture-book/pages", name="author:picture_book_rows", dependencies=[allow(*AUTHORS)])
def picture_book_rows(request: Request, db: DbSession, user: CurrentUser, asset_id: Line = "") -> Response:
    """The page rows an uploaded picture or PDF adds to a picture book (an htmx fragment for the editor's
    script), with the progress fragment while it is processed."""
    asset = media.get_visible(db, user, asset_id)
    if asset.kind == MediaKind.video:
        raise ValidationFailed(_("A video cannot be a page of a picture book."))
    pages = picture_book.editor_pages(db, [{"image": ref, "caption": ""} for ref in picture_book.refs_of_asset(asset)])
    return render(request, "courses/authoring/_picture_book_pages.html", {
        "new_pages": pages, "book_processing": picture_book.processing_assets(pages)})  # the template's output is its rows block


def _versions(db: DbSession, clauses: Any) -> list[Any]:
    return list(standards.versions_by_id(db, {c.version_id for c in clauses}).values())


def _material_for_edit(db: DbSession, user: User, material_id: int) -> tuple[Any, Course, Any]:
    material, course = structure.item_for_edit(db, user, "material", material_id)
    return material, course, structure.course_of_material(db, material)[1]


@router.post("/author/materials/{material_id}", name="author:material_update", dependencies=[allow(*AUTHORS)])
def material_update(request: Request, db: DbSession, user: CurrentUser, material_id: Id,
                    form: Annotated[MaterialForm, Form()]) -> Response:
    material, course, lesson = _material_for_edit(db, user, material_id)
    try:
        with db.begin_nested():
            structure.update_material(db, user, material_id, MaterialUpdate.model_validate({
                "title": form.title, "is_required": form.is_required == "1",
                "config": material_config(material.kind, form.model_dump(), form.clause_ids)}))
    except (ValidationError, ValidationFailed) as exc:
        flash(request, form_error_message(exc), "error")
        return redirect(request, path_for(request, "author:material_edit", material_id=material_id))
    flash(request, _("Material saved."))
    return redirect(request, path_for(request, "author:editor", course_id=course.id) + f"#lesson-{lesson.id}")


@router.get("/author/clauses", name="author:clause_search", dependencies=[allow(*AUTHORS)])
def clause_search(request: Request, db: DbSession, user: CurrentUser, q: Line = "") -> Response:
    """Standard clauses to cite, from the standards library's search (an htmx fragment)."""
    query = q.strip()[:100]
    hits = [h for h in standards.search_standards(db, user, query, limit=20)[0] if h.clause is not None] if query else []
    return render(request, "courses/authoring/_clause_hits.html", {"hits": hits, "query": query})


# Inline title editing: GET ?edit=1 gives the form, POST saves and gives the title back.

ITEM_KINDS = ("module", "lesson", "material")


def _item(db: DbSession, user: User, kind: str, item_id: int) -> tuple[Any, Course]:
    if kind not in ITEM_KINDS:
        raise NotFound()
    return structure.item_for_edit(db, user, kind, item_id)


@router.get("/author/{kind}s/{item_id}/title", name="author:title", dependencies=[allow(*AUTHORS)])
def title_fragment(request: Request, db: DbSession, user: CurrentUser, kind: Line, item_id: Id, edit: Count = 0) -> Response:
    item, course = _item(db, user, kind, item_id)
    return render(request, "courses/authoring/_title.html", {"kind": kind, "item": item, "course": course, "editing": bool(edit)})


@router.post("/author/{kind}s/{item_id}/title", name="author:title_save", dependencies=[allow(*AUTHORS)])
def title_save(request: Request, db: DbSession, user: CurrentUser, kind: Line, item_id: Id,
               title: Annotated[Line, Form()] = "") -> Response:
    item, course = _item(db, user, kind, item_id)
    try:
        if kind == "module":
            structure.rename_module(db, user, item_id, ModuleIn(title=title))
        elif kind == "lesson":
            structure.update_lesson(db, user, item_id, LessonIn(title=title, summary=item.summary))
        else:
            structure.update_material(db, user, item_id, MaterialUpdate(title=title, is_required=item.is_required, config=item.config))
    except ValidationError:
        return render(request, "courses/authoring/_title.html", {
            "kind": kind, "item": item, "course": course, "editing": True, "value": title,
            "error": _("A title of 1 to 200 characters is required.")}, status_code=422)
    return render(request, "courses/authoring/_title.html", {"kind": kind, "item": item, "course": course, "editing": False})


@router.post("/author/{kind}s/{item_id}/remove", name="author:remove", dependencies=[allow(*AUTHORS)])
def remove(request: Request, db: DbSession, user: CurrentUser, kind: Line, item_id: Id) -> Response:
    item, course = _item(db, user, kind, item_id)
    {"module": structure.remove_module, "lesson": structure.remove_lesson, "material": structure.remove_material}[kind](db, user, item_id)
    flash(request, _("“%(title)s” removed.", title=item.title))
    if _hx(request):
        return _editor(request, db, user, course)
    return redirect(request, path_for(request, "author:editor", course_id=course.id))


# Reordering: drag and drop posts the whole new order; the 上移/下移 buttons move one step.


@router.post("/author/courses/{course_id}/order", name="author:reorder", dependencies=[allow(*AUTHORS)])
def reorder(request: Request, db: DbSession, user: CurrentUser, course_id: Id, scope: Annotated[Line, Form()],
            ids: Annotated[list[Id], Form()], parent_id: Annotated[Id | None, Form()] = None) -> Response:
    course = _edit(db, user, course_id)
    structure.reorder_in_course(db, user, course, scope, parent_id, ids)
    return _editor(request, db, user, course)


@router.post("/author/courses/{course_id}/move", name="author:move", dependencies=[allow(*AUTHORS)])
def move(request: Request, db: DbSession, user: CurrentUser, course_id: Id, scope: Annotated[Line, Form()],
         item_id: Annotated[Id, Form()], direction: Annotated[Line, Form()], parent_id: Annotated[Id | None, Form()] = None) -> Response:
    course = _edit(db, user, course_id)
    structure.move_step(db, user, course, scope, parent_id, item_id, -1 if direction == "up" else 1)
    if _hx(request):
        return _editor(request, db, user, course)
    return redirect(request, path_for(request, "author:editor", course_id=course_id) + f"#{scope[:-1]}-{item_id}")


@router.post("/author/{kind}s/{item_id}/move-to", name="author:move_to", dependencies=[allow(*AUTHORS)])
def move_to(request: Request, db: DbSession, user: CurrentUser, kind: Line, item_id: Id,
            parent_id: Annotated[Id, Form()]) -> Response:
    """Move a lesson to another module, or a material to another lesson, of the same course (to the end)."""
    if kind not in ("lesson", "material"):
        raise NotFound()
    item, course = _item(db, user, kind, item_id)
    try:
        if kind == "lesson":
            structure.move_lesson(db, user, item_id, parent_id)
        else:
            structure.move_material(db, user, item_id, parent_id)
    except (ValidationFailed, NotFound) as exc:
        flash(request, exc.translated_detail() if isinstance(exc, ValidationFailed) else _("That place is not part of this course."),
              "error")
    else:
        flash(request, _("“%(title)s” moved.", title=item.title))
    if _hx(request):
        return _editor(request, db, user, course)
    return redirect(request, path_for(request, "author:editor", course_id=course.id) + f"#{kind}-{item_id}")


# ---------------------------------------------------------------------------------------------
# Preview and publish


@router.get("/author/courses/{course_id}/preview", name="author:preview", dependencies=[allow(*AUTHORS)])
def preview(request: Request, db: DbSession, user: CurrentUser, course_id: Id, lesson: Id | None = None) -> Response:
    course = _edit(db, user, course_id)
    snapshot = publishing.draft_preview(db, user, course)
    lessons = [dict(les, module_title=m["title"]) for m in snapshot["modules"] for les in m["lessons"]]
    index = 0
    if lesson is not None:
        index = next((i for i, les in enumerate(lessons) if les["id"] == lesson), -1)
        if index < 0:
            raise NotFound()
    current = lessons[index] if lessons else None
    clause_ids = {cid for m in (current or {}).get("materials", []) for cid in m["config"].get("clause_ids", [])}
    clauses = standards.clauses_by_id(db, clause_ids)
    book_refs = [str(p.get("image", "")) for m in (current or {}).get("materials", []) if m["kind"] == MaterialKind.picture_book
                 for p in m["config"].get("pages", [])]
    return render(request, "courses/authoring/preview.html", {
        "course": course, "snapshot": snapshot, "lessons": lessons, "current": current, "clauses": clauses,
        "book_pictures": picture_book.pictures(db, book_refs),
        "previous": lessons[index - 1] if current and index > 0 else None,
        "next": lessons[index + 1] if current and index + 1 < len(lessons) else None,
    }, block="lesson")


@router.post("/author/courses/{course_id}/publish", name="author:publish", dependencies=[allow(*AUTHORS)])
def publish(request: Request, db: DbSession, user: CurrentUser, course_id: Id,
            note: Annotated[Text, Form(max_length=500)] = "") -> Response:
    course = _edit(db, user, course_id)
    try:
        version = publishing.publish_course(db, user, course, note=note.strip())
    except (ValidationFailed, Conflict) as exc:
        flash(request, exc.translated_detail(), "error")
    else:
        flash(request, _("Published as version %(n)s. Trainees who start now learn this version.", n=version.number))
    return redirect(request, path_for(request, "author:editor", course_id=course_id))


# ---------------------------------------------------------------------------------------------
# Progress report and its Excel export


def _report_filter(org_unit_id: str, tier: str, course_id: str, status: str) -> reports.ReportFilter:
    return reports.ReportFilter(
        org_unit_id=int(org_unit_id) if org_unit_id.isdigit() else None,
        tier=tier if tier in {t.value for t in Tier} else None,
        course_id=int(course_id) if course_id.isdigit() else None,
        status=status if status in {"not_started", "in_progress", "completed"} else None)


def _report_units(db: DbSession, user: User) -> list[Any]:
    """Units to filter by: an administrator's scope; an instructor's courses reach the whole city."""
    if user.has_role(Role.admin, Role.district_admin):
        return list(list_org_units(db, user, include_inactive=False))
    return [u for u in all_org_units(db) if u.is_active]


@router.get("/author/reports/progress", name="author:progress", dependencies=[allow(*REPORTERS)])
def progress(request: Request, db: DbSession, user: CurrentUser, org_unit_id: Line = "", tier: Line = "", course_id: Line = "",
             status: Line = "", offset: Annotated[Offset, Query(ge=0)] = 0) -> Response:
    """Administrators see every enrolment, district administrators their subtree's people, instructors
    the enrolments of their own courses (reports.progress_report scopes the rows)."""
    flt = _report_filter(org_unit_id, tier, course_id, status)
    rows, total = reports.progress_report(db, user, flt, limit=REPORT_PAGE, offset=offset)
    own_only = not user.has_role(Role.admin, Role.district_admin)
    courses_list, _n = service.search_courses(db, user, service.CourseFilter(mine=own_only), limit=500)
    filters = {"org_unit_id": str(flt.org_unit_id or ""), "tier": flt.tier or "", "course_id": str(flt.course_id or ""),
               "status": flt.status or ""}
    query = urlencode({k: v for k, v in filters.items() if v})
    return render(request, "courses/authoring/progress.html", {
        "rows": rows, "total": total, "filters": filters, "query": query, "pager": page_numbers(total, REPORT_PAGE, offset),
        "units": _report_units(db, user), "tiers": list(Tier),
        "courses": [c for c in courses_list if c.published_number > 0], "own_only": own_only,
    }, block="results")


@router.get("/author/reports/progress.xlsx", name="author:progress_export", dependencies=[allow(*REPORTERS)])
def progress_export(db: DbSession, user: CurrentUser, org_unit_id: Line = "", tier: Line = "", course_id: Line = "",
                    status: Line = "") -> Response:
    from openpyxl import Workbook

    rows, _total = reports.progress_report(db, user, _report_filter(org_unit_id, tier, course_id, status), limit=EXPORT_LIMIT)
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = _("Progress")[:31]
    sheet.append([_("Name"), _("Username"), _("Unit"), _("Tier"), _("Course"), _("Status"), _("Progress (%)"), _("Enrolled"),
                  _("Due"), _("Completed")])
    for row in rows:
        append_row(sheet, [row.user.display_name, row.user.username, row.unit.name, str(Tier(row.user.tier).label), row.course.title,
                      row.status.label, row.percent, format_datetime(row.enrolment.enrolled_at),
                      row.enrolment.due_on.isoformat() if row.enrolment.due_on else "",
                      format_datetime(row.enrolment.completed_at) if row.enrolment.completed_at else ""])
    for column, width in zip("ABCDEFGHIJ", (14, 14, 24, 10, 28, 10, 10, 18, 12, 18), strict=True):
        sheet.column_dimensions[column].width = width
    sheet.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return Response(out.getvalue(), media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": "attachment; filename=\"progress.xlsx\""})



def _kind_label(kind: str) -> str:
    try:
        return MaterialKind(kind).label
    except ValueError:
        return kind


templates_env.globals["kind_label"] = _kind_label
