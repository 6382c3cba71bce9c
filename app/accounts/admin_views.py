"""Administration pages: users, org units and the bulk import from Excel.

Admins see everything; a district admin sees and manages only their own subtree. Scope is enforced by
the service functions (out of scope is NotFound, so existence does not leak), never only by what the
templates offer. These views parse the form, call the service or the importer, and render.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import File, Form, Query, Request, Response, UploadFile
from pydantic import ValidationError

from app.accounts import import_workbooks, importer, permissions, service
from app.accounts.access import CurrentUser, allow
from app.accounts.models import ORG_KIND_LABELS, OrgUnitKind, Role, Tier, User
from app.accounts.schemas import OrgUnitCreate, UserCreate, UserUpdate
from app.core.errors import Conflict, DomainError, ValidationFailed
from app.core.i18n import gettext as _
from app.core.pagination import page_numbers
from app.core.routing import DbSession, body_limit, make_router
from app.core.security import generate_password
from app.core.templating import flash, path_for, redirect, render
from app.core.types import Id, Line, Offset, Text

router = make_router(tags=["pages: administration"])
ADMINS = (Role.admin, Role.district_admin)
PAGE_SIZE = 50
MAX_ERRORS_SHOWN = 1000


# ---------------------------------------------------------------------------------------------
# Shared parsing helpers


def _int_or_none(value: str | None) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except ValueError:
        return None


def _field_errors(exc: ValidationError) -> dict[str, str]:
    """Pydantic's errors as one Chinese-first message per form field."""
    errors: dict[str, str] = {}
    for err in exc.errors():
        name = str(err["loc"][0]) if err["loc"] else "__all__"
        kind = err.get("type", "")
        ctx = err.get("ctx") or {}
        if kind == "missing" or (kind == "string_too_short" and ctx.get("min_length") == 1) or kind == "value_error":
            message = _("Required.")
        elif kind == "string_too_short":
            message = _("At least %(n)s characters.", n=ctx.get("min_length"))
        elif kind == "string_too_long":
            message = _("At most %(n)s characters.", n=ctx.get("max_length"))
        elif kind == "string_pattern_mismatch" and name in ("username", "code"):
            message = _("Only letters, digits, '.', '_' and '-' are allowed.")
        elif kind in ("int_parsing", "int_type") and name in ("org_unit_id", "parent_id"):
            message = _("Choose a unit.")
        else:
            message = _("Choose one of the offered values.")
        errors.setdefault(name, message)
    return errors


def _service_errors(exc: DomainError) -> dict[str, str]:
    """A service error attached to the field it names (or to the whole form)."""
    names = [str(e["loc"][0]) for e in exc.errors if e.get("loc")]
    return {name: exc.translated_detail() for name in names} or {"__all__": exc.translated_detail()}



# ---------------------------------------------------------------------------------------------
# Users: list


@router.get("/admin/users", name="accounts:admin_users", dependencies=[allow(*ADMINS)])
def users(
    request: Request, db: DbSession, actor: CurrentUser, q: Line = "", org_unit_id: Line = "", tier: Line = "",
    role: Line = "", active: Line = "", offset: Annotated[Offset, Query(ge=0)] = 0,
) -> Response:
    flt = service.UserFilter(
        q=q.strip()[:100] or None,
        org_unit_id=_int_or_none(org_unit_id),
        tier=tier if tier in {t.value for t in Tier} else None,
        role=role if role in {r.value for r in Role} else None,
        active={"true": True, "false": False}.get(active),
    )
    rows, total = service.search_users(db, actor, flt, limit=PAGE_SIZE, offset=offset)
    filters = {"q": flt.q or "", "org_unit_id": flt.org_unit_id or "", "tier": flt.tier or "", "role": flt.role or "",
               "active": active if flt.active is not None else ""}
    query = urlencode({k: v for k, v in filters.items() if v != ""})
    return render(request, "accounts/admin_users.html", {
        "rows": rows, "total": total, "filters": filters, "query": query,
        "pager": page_numbers(total, PAGE_SIZE, offset), "units": service.org_unit_tree(db, actor),
        "tiers": list(Tier), "roles": list(Role),
    }, block="results")


# ---------------------------------------------------------------------------------------------
# Users: create and edit


@dataclass
class UserFormValues:
    display_name: str = ""
    username: str = ""
    org_unit_id: str = ""
    tier: str = Tier.execution.value
    roles: list[str] = field(default_factory=lambda: [Role.trainee.value])
    phone: str = ""
    email: str = ""
    employee_no: str = ""

    @classmethod
    def of(cls, user: User) -> UserFormValues:
        return cls(display_name=user.display_name, username=user.username, org_unit_id=str(user.org_unit_id),
                   tier=user.tier, roles=sorted(user.roles), phone=user.phone or "", email=user.email or "",
                   employee_no=user.employee_no or "")


def _parse_user(values: UserFormValues, *, creating: bool, password: str = "") -> tuple[Any, dict[str, str]]:
    fields: dict[str, Any] = {
        "display_name": values.display_name.strip(), "org_unit_id": values.org_unit_id or None,
        "tier": values.tier or None, "roles": values.roles, "phone": values.phone.strip() or None,
        "email": values.email.strip() or None, "employee_no": values.employee_no.strip() or None,
    }
    errors: dict[str, str] = {}
    if creating:
        fields["username"] = values.username.strip()
    if not values.org_unit_id:
        errors["org_unit_id"] = _("Choose a unit.")
    if not values.roles:
        errors["roles"] = _("Choose at least one role.")
    model: Any = None
    try:
        model = (UserCreate if creating else UserUpdate).model_validate(fields)
    except ValidationError as exc:
        errors = {**_field_errors(exc), **errors}
    if fields["phone"] and "phone" not in errors and (message := importer.check_phone(fields["phone"])):
        errors["phone"] = message
    if fields["email"] and "email" not in errors and (message := importer.check_email(fields["email"])):
        errors["email"] = message
    if creating and password:
        try:
            service.validate_password(password, username=fields["username"] or None)
        except ValidationFailed as exc:
            errors["password"] = exc.translated_detail()
    return (None if errors else model), errors


def _user_form(request: Request, db: DbSession, actor: User, values: UserFormValues, *, target: User | None = None,
               errors: dict[str, str] | None = None, status_code: int = 200) -> Response:
    assignable = permissions.assignable_roles(actor)
    # Deactivated units are not offered, except the one the user already belongs to.
    units = [n for n in service.org_unit_tree(db, actor) if n.unit.is_active or (target and n.unit.id == target.org_unit_id)]
    return render(request, "accounts/admin_user_form.html", {
        "target": target, "values": values, "errors": errors or {}, "units": units,
        "tiers": list(Tier), "roles": [r for r in Role if r.value in assignable],
        "kept_roles": sorted(target.roles - assignable) if target else [],
        "is_self": target is not None and target.id == actor.id,
    }, status_code=status_code)


@router.get("/admin/users/new", name="accounts:admin_user_new", dependencies=[allow(*ADMINS)])
def user_new(request: Request, db: DbSession, actor: CurrentUser, org_unit_id: Line = "") -> Response:
    return _user_form(request, db, actor, UserFormValues(org_unit_id=org_unit_id))


@router.post("/admin/users/new", name="accounts:admin_user_create", dependencies=[allow(*ADMINS)])
def user_create(
    request: Request, db: DbSession, actor: CurrentUser,
    display_name: Annotated[Line, Form()] = "", username: Annotated[Line, Form()] = "",
    org_unit_id: Annotated[Line, Form()] = "", tier: Annotated[Line, Form()] = "",
    roles: Annotated[list[Line] | None, Form()] = None, phone: Annotated[Line, Form()] = "",
    email: Annotated[Line, Form()] = "", employee_no: Annotated[Line, Form()] = "",
    password: Annotated[Text, Form()] = "",
) -> Response:
    values = UserFormValues(display_name=display_name, username=username, org_unit_id=org_unit_id, tier=tier,
                            roles=roles or [], phone=phone, email=email, employee_no=employee_no)
    data, errors = _parse_user(values, creating=True, password=password)
    if data is not None:
        unit = service.get_org_unit(db, actor, data.org_unit_id)  # outside the actor's scope: 404
        generated = None if password else generate_password()
        data.password = password or generated
        try:
            if not unit.is_active:
                raise ValidationFailed(_("The unit %(code)s has been deactivated.", code=unit.code),
                                       errors=[{"loc": ["org_unit_id"], "msg": "inactive"}])
            user = service.create_user(db, actor, data, must_change_password=True)
        except (Conflict, ValidationFailed) as exc:
            errors = _service_errors(exc)
        else:
            if generated:
                return render(request, "accounts/admin_user_password.html",
                              {"target": user, "password": generated, "created": True}, status_code=201)
            flash(request, _("User %(username)s created. They must change the password at the first sign-in.",
                             username=user.username))
            return redirect(request, path_for(request, "accounts:admin_user", user_id=user.id))
    return _user_form(request, db, actor, values, errors=errors, status_code=422)


@router.get("/admin/users/{user_id:int}", name="accounts:admin_user", dependencies=[allow(*ADMINS)])
def user_edit(request: Request, db: DbSession, actor: CurrentUser, user_id: Id) -> Response:
    target = service.get_user_for(db, actor, user_id)
    return _user_form(request, db, actor, UserFormValues.of(target), target=target)


@router.post("/admin/users/{user_id:int}", name="accounts:admin_user_update", dependencies=[allow(*ADMINS)])
def user_update(
    request: Request, db: DbSession, actor: CurrentUser, user_id: Id,
    display_name: Annotated[Line, Form()] = "", org_unit_id: Annotated[Line, Form()] = "",
    tier: Annotated[Line, Form()] = "", roles: Annotated[list[Line] | None, Form()] = None,
    phone: Annotated[Line, Form()] = "", email: Annotated[Line, Form()] = "", employee_no: Annotated[Line, Form()] = "",
) -> Response:
    target = service.get_user_for(db, actor, user_id)
    values = UserFormValues(display_name=display_name, username=target.username, org_unit_id=org_unit_id, tier=tier,
                            roles=roles or [], phone=phone, email=email, employee_no=employee_no)
    data, errors = _parse_user(values, creating=False)
    if data is not None:
        # Empty optional fields mean "clear it" on this form (the service treats None as "unchanged").
        for name in ("phone", "email", "employee_no"):
            if getattr(data, name) is None:
                setattr(data, name, "")
        try:
            service.update_user(db, actor, target, data)
        except (Conflict, ValidationFailed) as exc:
            errors = _service_errors(exc)
        else:
            flash(request, _("Changes to %(username)s saved.", username=target.username))
            return redirect(request, path_for(request, "accounts:admin_user", user_id=target.id))
    return _user_form(request, db, actor, values, target=target, errors=errors, status_code=422)


@router.post("/admin/users/{user_id:int}/active", name="accounts:admin_user_active", dependencies=[allow(*ADMINS)])
def user_set_active(request: Request, db: DbSession, actor: CurrentUser, user_id: Id,
                    active: Annotated[Line, Form()] = "") -> Response:
    target = service.get_user_for(db, actor, user_id)
    make_active = active == "true"
    try:
        service.set_active(db, actor, target, make_active)
    except Conflict as exc:
        flash(request, exc.translated_detail(), "error")
    else:
        flash(request, _("%(username)s can sign in again.", username=target.username) if make_active else
              _("%(username)s has been deactivated and signed out everywhere.", username=target.username))
    return redirect(request, path_for(request, "accounts:admin_user", user_id=target.id))


@router.post("/admin/users/{user_id:int}/password", name="accounts:admin_user_password", dependencies=[allow(*ADMINS)])
def user_reset_password(request: Request, db: DbSession, actor: CurrentUser, user_id: Id) -> Response:
    target = service.get_user_for(db, actor, user_id)
    temporary = generate_password()
    service.reset_password(db, actor, target, temporary)
    return render(request, "accounts/admin_user_password.html", {"target": target, "password": temporary, "created": False})


# ---------------------------------------------------------------------------------------------
# Org units


def _units_page(request: Request, db: DbSession, actor: User, *, form: dict[str, Any] | None = None,
                errors: dict[str, str] | None = None, status_code: int = 200) -> Response:
    nodes = service.org_unit_tree(db, actor)
    return render(request, "accounts/admin_units.html", {
        "nodes": nodes, "parents": [n for n in nodes if n.unit.is_active], "kinds": list(OrgUnitKind),
        "kind_labels": ORG_KIND_LABELS, "form": form or {"kind": OrgUnitKind.unit.value}, "errors": errors or {},
        "can_create_top": permissions.is_admin(actor),
    }, status_code=status_code)


@router.get("/admin/units", name="accounts:admin_units", dependencies=[allow(*ADMINS)])
def units(request: Request, db: DbSession, actor: CurrentUser, parent: Line = "") -> Response:
    return _units_page(request, db, actor, form={"kind": OrgUnitKind.unit.value, "parent_id": parent})


@router.post("/admin/units", name="accounts:admin_unit_create", dependencies=[allow(*ADMINS)])
def unit_create(
    request: Request, db: DbSession, actor: CurrentUser, parent_id: Annotated[Line, Form()] = "",
    code: Annotated[Line, Form()] = "", name: Annotated[Line, Form()] = "", kind: Annotated[Line, Form()] = "",
) -> Response:
    form = {"parent_id": parent_id, "code": code.strip(), "name": name.strip(), "kind": kind}
    errors: dict[str, str] = {}
    try:
        data = OrgUnitCreate.model_validate({**form, "parent_id": parent_id or None})
    except ValidationError as exc:
        errors = _field_errors(exc)
    else:
        if data.parent_id is not None:
            service.get_org_unit(db, actor, data.parent_id)  # outside the actor's scope: 404
        try:
            unit = service.create_org_unit(db, actor, data)
        except (Conflict, ValidationFailed) as exc:
            errors = _service_errors(exc)
        else:
            flash(request, _("Unit %(name)s created.", name=unit.name))
            return redirect(request, path_for(request, "accounts:admin_units") + f"#unit-{unit.id}")
    return _units_page(request, db, actor, form=form, errors=errors, status_code=422)


def _unit_page(request: Request, db: DbSession, actor: User, unit_id: int, *, name: str | None = None,
               errors: dict[str, str] | None = None, status_code: int = 200) -> Response:
    unit = service.get_org_unit(db, actor, unit_id)
    node = next((n for n in service.org_unit_tree(db, actor) if n.unit.id == unit.id), None)
    return render(request, "accounts/admin_unit.html", {
        "unit": unit, "node": node, "path_names": service.org_unit_path_names(db, unit),
        "name": unit.name if name is None else name, "errors": errors or {}, "kind_labels": ORG_KIND_LABELS,
        "is_scope_root": not permissions.is_admin(actor) and unit.id == actor.org_unit_id,
    }, status_code=status_code)


@router.get("/admin/units/{unit_id:int}", name="accounts:admin_unit", dependencies=[allow(*ADMINS)])
def unit_edit(request: Request, db: DbSession, actor: CurrentUser, unit_id: Id) -> Response:
    return _unit_page(request, db, actor, unit_id)


@router.post("/admin/units/{unit_id:int}", name="accounts:admin_unit_update", dependencies=[allow(*ADMINS)])
def unit_update(request: Request, db: DbSession, actor: CurrentUser, unit_id: Id,
                name: Annotated[Line, Form()] = "") -> Response:
    unit = service.get_org_unit(db, actor, unit_id)
    if len(name.strip()) > 200:
        return _unit_page(request, db, actor, unit_id, name=name, errors={"name": _("At most %(n)s characters.", n=200)},
                          status_code=422)
    try:
        service.update_org_unit(db, actor, unit, name=name)
    except ValidationFailed as exc:
        return _unit_page(request, db, actor, unit_id, name=name, errors=_service_errors(exc), status_code=422)
    flash(request, _("Unit renamed to %(name)s.", name=unit.name))
    return redirect(request, path_for(request, "accounts:admin_unit", unit_id=unit.id))


@router.post("/admin/units/{unit_id:int}/active", name="accounts:admin_unit_active", dependencies=[allow(*ADMINS)])
def unit_set_active(request: Request, db: DbSession, actor: CurrentUser, unit_id: Id,
                    active: Annotated[Line, Form()] = "") -> Response:
    unit = service.get_org_unit(db, actor, unit_id)
    try:
        service.set_org_unit_active(db, actor, unit, active == "true")
    except Conflict as exc:
        flash(request, exc.translated_detail(), "error")
    else:
        flash(request, _("Unit %(name)s reactivated.", name=unit.name) if unit.is_active
              else _("Unit %(name)s deactivated.", name=unit.name))
    return redirect(request, path_for(request, "accounts:admin_unit", unit_id=unit.id))


# ---------------------------------------------------------------------------------------------
# Bulk import


def _import_page(request: Request, *, file_error: str | None = None, errors: list[importer.RowError] | None = None,
                 total: int = 0, filename: str = "", status_code: int = 200) -> Response:
    errors = errors or []
    return render(request, "accounts/admin_import.html", {
        "file_error": file_error, "errors": errors[:MAX_ERRORS_SHOWN], "error_count": len(errors),
        "error_rows": len({e.row for e in errors}), "total": total, "filename": filename,
        "max_rows": importer.MAX_ROWS, "max_mb": importer.MAX_BYTES // 2**20, "sync_max_rows": importer.SYNC_MAX_ROWS,
    }, status_code=status_code)


@router.get("/admin/users/import", name="accounts:admin_import", dependencies=[allow(*ADMINS)])
def user_import(request: Request) -> Response:
    return _import_page(request)


@router.get("/admin/users/import/template.xlsx", name="accounts:admin_import_template", dependencies=[allow(*ADMINS)])
def user_import_template(db: DbSession, actor: CurrentUser) -> Response:
    return Response(import_workbooks.template_workbook(db, actor), media_type=importer.XLSX_MEDIA_TYPE, headers={
        "Content-Disposition": "attachment; filename=\"user-import-template.xlsx\"; "
                               "filename*=UTF-8''%E7%94%A8%E6%88%B7%E5%AF%BC%E5%85%A5%E6%A8%A1%E6%9D%BF.xlsx"})


@router.post("/admin/users/import", name="accounts:admin_import_submit",
             dependencies=[allow(*ADMINS), body_limit(importer.BODY_LIMIT)])
def user_import_submit(request: Request, db: DbSession, actor: CurrentUser,
                       file: Annotated[UploadFile | None, File()] = None) -> Response:
    if file is None or not file.filename:
        return _import_page(request, file_error=_("Choose the filled-in template (.xlsx) to upload."), status_code=422)
    filename = file.filename[:200]
    try:
        sheet = importer.read_workbook(file.file.read(importer.MAX_BYTES + 1))
    except (importer.ImportFileError, importer.ImportTooLarge) as exc:
        return _import_page(request, file_error=exc.translated_detail(), filename=filename, status_code=exc.status_code)
    validated = importer.validate_rows(db, actor, sheet)
    if validated.errors:
        return _import_page(request, errors=validated.errors, total=validated.total, filename=filename, status_code=422)
    job_view = None
    if len(validated.rows) <= importer.SYNC_MAX_ROWS:
        try:
            credentials = importer.import_now(db, actor, validated)
        except ValidationFailed as exc:
            errors = [importer.RowError(int(e["loc"][1]), str(e["loc"][2]), str(e["msg"]))
                      for e in exc.errors if len(e.get("loc", [])) == 3]
            return _import_page(request, file_error=exc.translated_detail(), errors=errors, total=validated.total,
                                filename=filename, status_code=422)
    else:
        job, credentials = importer.enqueue_import(db, actor, validated, filename=filename)
        job_view = importer.describe_job(job)
    generated = [c for c in credentials if c.generated]
    return render(request, "accounts/admin_import_result.html", {
        "credentials": credentials, "generated_count": len(generated), "count": len(credentials),
        "data_url": import_workbooks.credentials_data_url(credentials) if generated else None, "filename": filename,
        "view": job_view,
    }, status_code=202 if job_view else 201)


@router.get("/admin/users/import/jobs/{job_id:int}", name="accounts:admin_import_job", dependencies=[allow(*ADMINS)])
def user_import_job(request: Request, db: DbSession, actor: CurrentUser, job_id: Id) -> Response:
    view = importer.describe_job(importer.get_import_job(db, actor, job_id))
    return render(request, "accounts/admin_import_job.html", {"view": view}, block="progress")
