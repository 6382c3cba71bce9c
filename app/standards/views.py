"""HTML pages of the standards library: list and search, a standard with its versions and clauses,
authoring (standards, versions, clauses, text import), lifecycle decisions and the review worklist.
Views parse, call the service and render; permissions are enforced by the service and the loaders."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Form, Query, Request, Response
from markupsafe import Markup
from pydantic import ValidationError

from app.accounts.access import CurrentUser, allow, signed_in
from app.accounts.models import User
from app.core.errors import Conflict, DomainError, NotFound, ValidationFailed
from app.core.i18n import gettext as _
from app.core.pagination import page_numbers
from app.core.routing import DbSession, body_limit, make_router
from app.core.templating import env as templates_env
from app.core.templating import flash, path_for, redirect, render
from app.core.types import Id, Line, Offset, Text
from app.standards import citations, permissions, service
from app.standards.dependencies import VisibleClause, VisibleStandard, VisibleVersion
from app.standards.models import (
    CATEGORY_GROUP_LABELS,
    Category,
    Level,
    ReviewStatus,
    Standard,
    StandardStatus,
    StandardVersion,
    VersionStatus,
)
from app.standards.schemas import IMPORT_BODY_LIMIT, ClauseIn, ClauseUpdate, StandardCreate, StandardUpdate, VersionCreate

router = make_router(tags=["pages: standards"])
AUTHORS = permissions.AUTHOR_ROLES
PAGE_SIZE = 20



def _errors(exc: ValidationError | DomainError) -> dict[str, str]:
    if isinstance(exc, DomainError):
        names = [str(e["loc"][0]) for e in exc.errors if e.get("loc")]
        return {name: exc.translated_detail() for name in names} or {"__all__": exc.translated_detail()}
    errors: dict[str, str] = {}
    for err in exc.errors():
        name = str(err["loc"][0]) if err["loc"] else "__all__"
        kind = err.get("type", "")
        errors.setdefault(name, _("Required.") if kind in ("missing", "string_too_short") else _("Choose one of the offered values.")
                          if kind == "enum" else _("Check this value."))
    return errors


def _choices() -> dict[str, Any]:
    return {"categories": list(Category), "levels": list(Level), "statuses": list(StandardStatus),
            "group_labels": CATEGORY_GROUP_LABELS}


# ---------------------------------------------------------------------------------------------
# List and search


@router.get("/standards", name="standards:list", dependencies=[signed_in()])
def standards_list(
    request: Request, db: DbSession, user: CurrentUser, q: Line = "", category: Line = "", level: Line = "", status: Line = "",
    offset: Annotated[Offset, Query(ge=0)] = 0,
) -> Response:
    flt = service.StandardFilter(
        category=category if category in {c.value for c in Category} else None,
        level=level if level in {lv.value for lv in Level} else None,
        status=status if status in {s.value for s in StandardStatus} else None,
    )
    query = q.strip()[:100]
    hits: list[service.SearchHit] = []
    rows: list[Standard] = []
    if query:
        hits, total = service.search_standards(db, user, query, flt, limit=PAGE_SIZE, offset=offset)
    else:
        found, total = service.list_standards(db, user, flt, limit=PAGE_SIZE, offset=offset)
        rows = list(found)
    filters = {"q": query, "category": flt.category or "", "level": flt.level or "", "status": flt.status or ""}
    return render(request, "standards/list.html", {
        "rows": rows, "hits": hits, "total": total, "filters": filters,
        "query": urlencode({k: v for k, v in filters.items() if v}), "pager": page_numbers(total, PAGE_SIZE, offset),
        "can_author": permissions.can_author(user), "open_reviews": citations.open_review_count(db, user), **_choices(),
    }, block="results")


# ---------------------------------------------------------------------------------------------
# Create and edit a standard


def _standard_form(request: Request, values: dict[str, str], *, standard: Standard | None = None,
                   errors: dict[str, str] | None = None, status_code: int = 200) -> Response:
    return render(request, "standards/standard_form.html", {
        "standard": standard, "values": values, "errors": errors or {}, **_choices()}, status_code=status_code)


@router.get("/standards/new", name="standards:new", dependencies=[allow(*AUTHORS)])
def standard_new(request: Request) -> Response:
    return _standard_form(request, {"code": "", "title": "", "category": "", "level": Level.internal.value, "summary": ""})


@router.post("/standards/new", name="standards:create", dependencies=[allow(*AUTHORS)])
def standard_create(
    request: Request, db: DbSession, user: CurrentUser, code: Annotated[Line, Form()] = "", title: Annotated[Line, Form()] = "",
    category: Annotated[Line, Form()] = "", level: Annotated[Line, Form()] = "", summary: Annotated[Text, Form()] = "",
) -> Response:
    values = {"code": code, "title": title, "category": category, "level": level, "summary": summary}
    try:
        data = StandardCreate.model_validate(values)
        standard = service.create_standard(db, user, data)
    except (ValidationError, Conflict, ValidationFailed) as exc:
        return _standard_form(request, values, errors=_errors(exc), status_code=422)
    flash(request, _("Standard %(code)s created as a draft. Add its clauses next.", code=standard.code))
    return redirect(request, path_for(request, "standards:version_edit", version_id=standard.versions[0].id))


@router.get("/standards/{standard_id}/edit", name="standards:edit", dependencies=[allow(*AUTHORS)])
def standard_edit(request: Request, standard: VisibleStandard) -> Response:
    return _standard_form(request, {"code": standard.code, "title": standard.title, "category": standard.category,
                                    "level": standard.level, "summary": standard.summary}, standard=standard)


@router.post("/standards/{standard_id}/edit", name="standards:update", dependencies=[allow(*AUTHORS)])
def standard_update(
    request: Request, db: DbSession, user: CurrentUser, standard: VisibleStandard, code: Annotated[Line, Form()] = "",
    title: Annotated[Line, Form()] = "", category: Annotated[Line, Form()] = "", level: Annotated[Line, Form()] = "",
    summary: Annotated[Text, Form()] = "",
) -> Response:
    values = {"code": code, "title": title, "category": category, "level": level, "summary": summary}
    try:
        service.update_standard(db, user, standard, StandardUpdate.model_validate(values))
    except (ValidationError, Conflict, ValidationFailed) as exc:
        return _standard_form(request, values, standard=standard, errors=_errors(exc), status_code=422)
    flash(request, _("Changes saved."))
    return redirect(request, path_for(request, "standards:detail", standard_id=standard.id))


# ---------------------------------------------------------------------------------------------
# Reviews (before /standards/{id} so that the static path wins)


@router.get("/standards/reviews", name="standards:reviews", dependencies=[signed_in()])
def reviews(request: Request, db: DbSession, user: CurrentUser, status: Line = "open", everyone: Line = "",
            offset: Annotated[Offset, Query(ge=0)] = 0) -> Response:
    status = status if status in {s.value for s in ReviewStatus} else ""
    show_all = everyone == "1" and permissions.can_see_all_reviews(user)
    rows, total = citations.review_items(db, user, status=status or None, everyone=show_all, limit=50, offset=offset)
    clauses = service.clauses_by_id(db, {r.citation.clause_id for r in rows})
    standards = service.standards_by_id(db, {r.version.standard_id for r in rows})
    owners = service.users_by_id(db, {r.owner_id for r in rows if r.owner_id})
    filters = {"status": status, "everyone": "1" if show_all else ""}
    return render(request, "standards/reviews.html", {
        "rows": rows, "total": total, "clauses": clauses, "standards": standards, "owners": owners, "filters": filters,
        "query": urlencode({k: v for k, v in filters.items() if v}), "pager": page_numbers(total, 50, offset),
        "can_see_all": permissions.can_see_all_reviews(user), "statuses": list(ReviewStatus),
    }, block="results")


@router.post("/standards/reviews/{item_id}/reviewed", name="standards:review_done", dependencies=[signed_in()])
def review_done(request: Request, db: DbSession, user: CurrentUser, item_id: Id, note: Annotated[Text, Form(max_length=500)] = "",
                back: Annotated[Line, Form()] = "") -> Response:
    citations.mark_reviewed(db, user, item_id, note=note.strip())
    flash(request, _("Marked as reviewed."))
    target = back if back.startswith("/standards/reviews") else path_for(request, "standards:reviews")
    return redirect(request, target)


# ---------------------------------------------------------------------------------------------
# A standard: versions timeline and clause tree


def _selected(versions: list[StandardVersion], version_id: int | None) -> StandardVersion | None:
    if version_id is not None:
        for v in versions:
            if v.id == version_id:
                return v
        raise NotFound()
    current = [v for v in versions if v.status in (VersionStatus.in_force, VersionStatus.under_revision)]
    return current[0] if current else (versions[0] if versions else None)


@router.get("/standards/{standard_id}", name="standards:detail", dependencies=[signed_in()])
def standard_detail(request: Request, db: DbSession, user: CurrentUser, standard: VisibleStandard,
                    version: Id | None = None) -> Response:
    versions = service.versions_of(db, user, standard)
    selected = _selected(versions, version)
    clauses = service.clauses_of(db, selected) if selected else []
    owner = service.users_by_id(db, {standard.owner_id}).get(standard.owner_id)
    return render(request, "standards/detail.html", {
        "standard": standard, "owner": owner, "versions": versions, "selected": selected,
        "tree": service.clause_tree(clauses), "clause_count": len(clauses),
        "can_author": permissions.can_author(user), "can_decide": permissions.can_decide(user),
        "today": service.today(),
    }, block="clauses")


@router.post("/standards/{standard_id}/versions", name="standards:version_create", dependencies=[allow(*AUTHORS)])
def version_create(request: Request, db: DbSession, user: CurrentUser, standard: VisibleStandard,
                   label: Annotated[Line, Form()] = "", code: Annotated[Line, Form()] = "",
                   copy_from_id: Annotated[Line, Form()] = "") -> Response:
    try:
        data = VersionCreate.model_validate({"label": label, "code": code or standard.code,
                                             "copy_from_id": int(copy_from_id) if copy_from_id.isdigit() else None})
        version = service.create_version(db, user, standard, data)
    except (ValidationError, Conflict, ValidationFailed) as exc:
        flash(request, next(iter(_errors(exc).values())), "error")
        return redirect(request, path_for(request, "standards:detail", standard_id=standard.id))
    flash(request, _("Draft %(label)s created.", label=version.label))
    return redirect(request, path_for(request, "standards:version_edit", version_id=version.id))


@router.post("/standards/versions/{version_id}/transition", name="standards:transition", dependencies=[allow(*AUTHORS)])
def version_transition(request: Request, db: DbSession, user: CurrentUser, version: VisibleVersion,
                       action: Annotated[Line, Form()] = "", effective: Annotated[Line, Form()] = "",
                       note: Annotated[Text, Form(max_length=500)] = "") -> Response:
    when: date | None = None
    try:
        when = date.fromisoformat(effective) if effective else None
    except ValueError:
        flash(request, _("Enter the date as YYYY-MM-DD."), "error")
        return redirect(request, path_for(request, "standards:detail", standard_id=version.standard_id) + f"?version={version.id}")
    if action not in service.TRANSITIONS:
        raise ValidationFailed(_("Unknown action."))
    try:
        result = service.transition(db, user, version, action, effective=when, note=note.strip())
    except (Conflict, ValidationFailed) as exc:
        flash(request, exc.translated_detail(), "error")
        return redirect(request, path_for(request, "standards:detail", standard_id=version.standard_id) + f"?version={version.id}")
    messages = {"publish": _("%(label)s is now in force.", label=result.label),
                "revise": _("Revision started: edit the draft %(label)s.", label=result.label),
                "abolish": _("%(label)s has been abolished.", label=result.label)}
    flash(request, messages[action])
    if action == "revise":
        return redirect(request, path_for(request, "standards:version_edit", version_id=result.id))
    return redirect(request, path_for(request, "standards:detail", standard_id=version.standard_id) + f"?version={result.id}")


# ---------------------------------------------------------------------------------------------
# Authoring a draft's clauses


def _version_page(request: Request, db: DbSession, user: User, version: StandardVersion, *, import_text: str = "",
                  import_errors: list[dict[str, Any]] | None = None, clause_values: dict[str, str] | None = None,
                  clause_errors: dict[str, str] | None = None, status_code: int = 200) -> Response:
    clauses = service.clauses_of(db, version)
    return render(request, "standards/version_edit.html", {
        "version": version, "standard": version.standard, "clauses": clauses, "editable": version.status == VersionStatus.draft,
        "import_text": import_text, "import_errors": import_errors or [],
        "clause_values": clause_values or {"number": "", "title": "", "body": ""}, "clause_errors": clause_errors or {},
    }, block="clauses", status_code=status_code)


@router.get("/standards/versions/{version_id}/edit", name="standards:version_edit", dependencies=[allow(*AUTHORS)])
def version_edit(request: Request, db: DbSession, user: CurrentUser, version: VisibleVersion) -> Response:
    return _version_page(request, db, user, version)


@router.post("/standards/versions/{version_id}/import", name="standards:import",
             dependencies=[allow(*AUTHORS), body_limit(IMPORT_BODY_LIMIT)])
def version_import(request: Request, db: DbSession, user: CurrentUser, version: VisibleVersion,
                   text: Annotated[Text, Form(max_length=500_000)] = "") -> Response:
    try:
        created = service.import_text(db, user, version, text)
    except ValidationFailed as exc:
        errors = exc.errors or [{"loc": ["text", 0], "msg": exc.translated_detail()}]
        return _version_page(request, db, user, version, import_text=text, import_errors=errors, status_code=422)
    except Conflict as exc:
        return _version_page(request, db, user, version, import_text=text,
                             import_errors=[{"loc": ["text", 0], "msg": exc.translated_detail()}], status_code=409)
    flash(request, _("%(n)s clauses imported.", n=len(created)))
    return redirect(request, path_for(request, "standards:version_edit", version_id=version.id))


@router.post("/standards/versions/{version_id}/clauses", name="standards:clause_add", dependencies=[allow(*AUTHORS)])
def clause_add(request: Request, db: DbSession, user: CurrentUser, version: VisibleVersion,
               number: Annotated[Line, Form()] = "", title: Annotated[Line, Form()] = "", body: Annotated[Text, Form()] = "") -> Response:
    values = {"number": number, "title": title, "body": body}
    try:
        clause = service.add_clause(db, user, version, ClauseIn.model_validate(values))
    except ValidationError:
        return _version_page(request, db, user, version, clause_values=values,
                             clause_errors={"number": _("Clause numbers look like 5, 5.2 or 5.2.1.")}, status_code=422)
    except (Conflict, ValidationFailed) as exc:
        return _version_page(request, db, user, version, clause_values=values, clause_errors=_errors(exc), status_code=422)
    flash(request, _("Clause %(number)s added.", number=clause.number))
    return redirect(request, path_for(request, "standards:version_edit", version_id=version.id) + f"#clause-{clause.id}")


@router.post("/standards/clauses/{clause_id}", name="standards:clause_update", dependencies=[allow(*AUTHORS)])
def clause_update(request: Request, db: DbSession, user: CurrentUser, clause: VisibleClause,
                  title: Annotated[Line, Form(max_length=300)] = "", body: Annotated[Text, Form(max_length=20000)] = "") -> Response:
    service.update_clause(db, user, clause, ClauseUpdate(title=title, body=body))
    flash(request, _("Clause %(number)s saved.", number=clause.number))
    return redirect(request, path_for(request, "standards:version_edit", version_id=clause.version_id) + f"#clause-{clause.id}")


@router.post("/standards/clauses/{clause_id}/delete", name="standards:clause_delete", dependencies=[allow(*AUTHORS)])
def clause_delete(request: Request, db: DbSession, user: CurrentUser, clause: VisibleClause) -> Response:
    version_id, number = clause.version_id, clause.number
    try:
        service.delete_clause(db, user, clause)
    except Conflict as exc:
        flash(request, exc.translated_detail(), "error")
    else:
        flash(request, _("Clause %(number)s deleted.", number=number))
    return redirect(request, path_for(request, "standards:version_edit", version_id=version_id))


# ---------------------------------------------------------------------------------------------
# Template helpers


def _label(enum: Any, value: str) -> str:
    try:
        return str(enum(value).label)
    except ValueError:
        return value


templates_env.globals["status_label"] = lambda value: _label(VersionStatus, value)
templates_env.globals["category_label"] = lambda value: _label(Category, value)
templates_env.globals["level_label"] = lambda value: _label(Level, value)
templates_env.globals["review_status_label"] = lambda value: _label(ReviewStatus, value)


def _status_badge(status: str) -> Markup:
    return Markup('<span class="badge std-status std-status-%s">%s</span>') % (status, _label(VersionStatus, status))


templates_env.globals["status_badge"] = _status_badge
