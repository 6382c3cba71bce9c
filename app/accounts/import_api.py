"""JSON API for the bulk user import (the same .xlsx format and rules as the page)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import File, Form, Response, UploadFile
from pydantic import BaseModel

from app.accounts import importer
from app.accounts.access import CurrentUser, allow
from app.accounts.models import Role
from app.core.errors import ValidationFailed
from app.core.i18n import gettext as _
from app.core.routing import DbSession, body_limit, make_router
from app.core.types import Id

router = make_router(prefix="/api/v1", tags=["accounts"])

ADMINS = (Role.admin, Role.district_admin)


class ImportedUserOut(BaseModel):
    row: int
    username: str
    display_name: str
    org_unit_code: str
    tier: str
    roles: list[str]
    # The one-time password generated for this user; null when the file gave one (or on a dry run).
    password: str | None = None


class ImportOut(BaseModel):
    created: int
    users: list[ImportedUserOut]
    errors: list[dict[str, Any]] = []
    dry_run: bool = False
    # Larger files are created by a background job: 202, `created` is 0 and `job_id` tells where to look.
    job_id: str | None = None
    queued: int = 0


class ImportJobOut(BaseModel):
    job_id: str
    status: str  # queued | running | succeeded | failed | cancelled
    progress: int
    finished: bool
    ok: bool  # finished and the users exist
    created: int
    errors: list[dict[str, Any]] = []


def _users(rows: list[importer.ImportRow], passwords: dict[int, str | None] | None = None) -> list[ImportedUserOut]:
    return [ImportedUserOut(row=r.row, username=r.username, display_name=r.display_name, org_unit_code=r.unit_code,
                            tier=r.data.tier.value, roles=r.roles, password=(passwords or {}).get(r.row))
            for r in rows]


@router.post("/users/import", name="api:users_import", response_model=ImportOut,
             dependencies=[allow(*ADMINS), body_limit(importer.BODY_LIMIT)],
             responses={202: {"description": "Valid; the users are being created by a background job",
                              "model": ImportOut},
                        413: {"description": "File too large"},
                        422: {"description": "Not a usable .xlsx, or rows with errors (nothing stored)"}})
def import_users(
    response: Response, db: DbSession, actor: CurrentUser, file: Annotated[UploadFile, File()],
    dry_run: Annotated[bool, Form()] = False,
) -> ImportOut:
    """Create users from the import template (.xlsx). All rows or none; errors are
    `{"loc": ["file", <row>, <column header>], "msg": ...}`. With `dry_run` nothing is stored and `created`
    is the number that would be. Passwords generated for users are returned once, here."""
    sheet = importer.read_workbook(file.file.read(importer.MAX_BYTES + 1))
    validated = importer.validate_rows(db, actor, sheet)
    if validated.errors:
        raise ValidationFailed(
            _("%(problems)s problems in %(rows)s rows; nothing was imported.", problems=len(validated.errors),
              rows=len({e.row for e in validated.errors})),
            errors=[e.as_problem() for e in validated.errors])
    if dry_run:
        return ImportOut(created=len(validated.rows), users=_users(validated.rows), dry_run=True)
    if len(validated.rows) <= importer.SYNC_MAX_ROWS:
        credentials = importer.import_now(db, actor, validated)
        return ImportOut(created=len(credentials), users=_users(validated.rows, {c.row: c.password for c in credentials}))
    job, credentials = importer.enqueue_import(db, actor, validated, filename=file.filename)
    response.status_code = 202
    return ImportOut(created=0, queued=len(credentials), job_id=str(job.id),
                     users=_users(validated.rows, {c.row: c.password for c in credentials}))


@router.get("/users/import/jobs/{job_id}", name="api:users_import_job", response_model=ImportJobOut,
            dependencies=[allow(*ADMINS)])
def import_job(db: DbSession, actor: CurrentUser, job_id: Id) -> ImportJobOut:
    view = importer.describe_job(importer.get_import_job(db, actor, job_id))
    return ImportJobOut(job_id=str(view.job.id), status=view.job.status, progress=view.job.progress,
                        finished=view.finished, ok=view.ok, created=view.created,
                        errors=[e.as_problem() for e in view.errors])
