"""JSON API of the question bank under /api/v1 (../shared/API.md "Question banks"): banks, their
questions, imports (all or nothing; 422 problem with per-line errors; 202 and a job for large files on request),
exports and the Excel template. Ids are strings; lists are {"items", "total"} with limit/offset."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import File, Form, Query, Response, UploadFile
from fastapi.responses import Response as RawResponse

from app.accounts.access import CurrentUser, allow
from app.accounts.models import User
from app.accounts.scope import related
from app.core.errors import ValidationFailed
from app.core.i18n import gettext as _
from app.core.pagination import Page
from app.core.routing import DbSession, body_limit, make_router
from app.core.types import Count, Id, Line, Offset
from app.exams import bank as service
from app.exams import bank_jobs, bank_transfer, question_checks
from app.exams.bank_schemas import (
    BankDetailOut,
    BankIn,
    BankOut,
    BankPatch,
    ImportedQuestionOut,
    ImportJobOut,
    ImportOut,
    OptionOut,
    QuestionIn,
    QuestionOut,
    QuestionPatch,
    QuestionRowOut,
)
from app.exams.exporters import EXTENSIONS, MEDIA_TYPES
from app.exams.importers import FORMATS, guess_format, xlsx_template
from app.exams.importers.base import IMPORT_BODY_LIMIT, MAX_FILE_BYTES
from app.exams.models import QuestionBank
from app.exams.permissions import AUTHOR_ROLES

router = make_router(prefix="/api/v1", tags=["question banks"])
AUTHORS = AUTHOR_ROLES
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def bank_out(db: DbSession, bank: QuestionBank, count: int | None = None) -> BankDetailOut:
    owner = related(db, User, bank.owner_id)
    return BankDetailOut(id=str(bank.id), name=bank.name, description=bank.description,
                         owner={"id": str(owner.id), "display_name": owner.display_name} if owner else None,
                         questions=count if count is not None else service.question_counts(db, {bank.id or 0}).get(bank.id or 0, 0),
                         archived=bank.archived_at is not None)


def row_out(db: DbSession, row: service.QuestionRow) -> QuestionRowOut:
    shown = service.question_for_display(row.version)
    problems = [] if question_checks.is_valid(db, row.version) else question_checks.problems(row.version)
    return QuestionRowOut(id=str(row.question.id), type=row.version.type, stem=row.version.stem,
                          options=[OptionOut(**o) for o in shown["options"]], tags=list(row.question.tags),
                          difficulty=row.question.difficulty, status=row.question.status, version=row.version.number,
                          problems=problems)


def question_out(db: DbSession, row: service.QuestionRow) -> QuestionOut:
    refs = bank_transfer.clause_refs(db, row.version.clause_ids)
    return QuestionOut(**row_out(db, row).model_dump(), config=row.version.config, points=float(row.version.points),
                       explanation=row.version.explanation, category=row.question.category, tier=row.question.tier,
                       clauses=[{"id": str(c), "ref": refs.get(c, "")} for c in row.version.clause_ids],
                       versions=row.question.version_count, bank_id=str(row.question.bank_id))


# ---------------------------------------------------------------------------------------------
# Banks


@router.get("/question-banks/template.xlsx", name="api:question_bank_template", dependencies=[allow(*AUTHORS)],
            response_class=RawResponse, responses={200: {"content": {XLSX: {}}}})
def template(layout: Literal["question", "option"] = "question") -> RawResponse:
    """The Excel import template: one row per question, or (`layout=option`) one row per option."""
    return RawResponse(xlsx_template(layout), media_type=XLSX,
                       headers={"Content-Disposition": f'attachment; filename="question-template-{layout}.xlsx"'})


@router.get("/question-banks", name="api:question_banks", response_model=Page[BankDetailOut], dependencies=[allow(*AUTHORS)])
def list_banks(db: DbSession, user: CurrentUser, q: Line = "", archived: bool = False,
               limit: Annotated[int, Query(ge=1, le=200)] = 50, offset: Annotated[Offset, Query(ge=0)] = 0) -> Page[BankDetailOut]:
    """The banks the caller manages: their own; an administrator's every bank; a district administrator's their subtree's."""
    rows, total = service.list_banks(db, user, q=q[:100], archived=archived, limit=limit, offset=offset)
    counts = service.question_counts(db, {b.id or 0 for b in rows})
    return Page(items=[bank_out(db, b, counts.get(b.id or 0, 0)) for b in rows], total=total)


@router.post("/question-banks", name="api:question_bank_create", status_code=201, response_model=BankOut,
             dependencies=[allow(*AUTHORS)])
def create_bank(db: DbSession, user: CurrentUser, data: BankIn) -> BankOut:
    bank = service.create_bank(db, user, data)
    return BankOut(id=str(bank.id), name=bank.name)


@router.get("/question-banks/{bank_id}", name="api:question_bank", response_model=BankDetailOut, dependencies=[allow(*AUTHORS)])
def get_bank(db: DbSession, user: CurrentUser, bank_id: Id) -> BankDetailOut:
    return bank_out(db, service.get_bank(db, user, bank_id))


@router.patch("/question-banks/{bank_id}", name="api:question_bank_update", response_model=BankDetailOut,
              dependencies=[allow(*AUTHORS)])
def update_bank(db: DbSession, user: CurrentUser, bank_id: Id, data: BankPatch) -> BankDetailOut:
    return bank_out(db, service.update_bank(db, user, service.get_bank(db, user, bank_id), data))


@router.post("/question-banks/{bank_id}/archive", name="api:question_bank_archive", response_model=BankDetailOut,
             dependencies=[allow(*AUTHORS)])
def archive_bank(db: DbSession, user: CurrentUser, bank_id: Id) -> BankDetailOut:
    return bank_out(db, service.archive_bank(db, user, service.get_bank(db, user, bank_id)))


@router.post("/question-banks/{bank_id}/restore", name="api:question_bank_restore", response_model=BankDetailOut,
             dependencies=[allow(*AUTHORS)])
def restore_bank(db: DbSession, user: CurrentUser, bank_id: Id) -> BankDetailOut:
    return bank_out(db, service.archive_bank(db, user, service.get_bank(db, user, bank_id), archived=False))


# ---------------------------------------------------------------------------------------------
# Questions


@router.get("/question-banks/{bank_id}/questions", name="api:bank_questions", response_model=Page[QuestionRowOut],
            dependencies=[allow(*AUTHORS)])
def list_questions(db: DbSession, user: CurrentUser, bank_id: Id, type: Line | None = None, tag: Line | None = None,
                   difficulty: Annotated[int | None, Query(ge=1, le=5)] = None, status: Line | None = None, q: Line | None = None,
                   limit: Annotated[int, Query(ge=1, le=500)] = 50, offset: Annotated[Offset, Query(ge=0)] = 0) -> Page[QuestionRowOut]:
    """Questions with their current version, newest first; options are `[{id, text}]` (matching: the right-hand side)."""
    bank = service.get_bank(db, user, bank_id)
    flt = service.QuestionFilter(type=type, tag=tag, difficulty=difficulty, status=status, q=(q or "")[:100] or None)
    rows, total = service.search_questions(db, user, bank, flt, limit=limit, offset=offset)
    return Page(items=[row_out(db, r) for r in rows], total=total)


@router.post("/question-banks/{bank_id}/questions", name="api:bank_question_create", status_code=201, response_model=QuestionOut,
             dependencies=[allow(*AUTHORS)])
def create_question(db: DbSession, user: CurrentUser, bank_id: Id, data: QuestionIn) -> QuestionOut:
    return question_out(db, service.create_question(db, user, service.get_bank(db, user, bank_id), data))


@router.get("/questions/{question_id}", name="api:question", response_model=QuestionOut, dependencies=[allow(*AUTHORS)])
def get_question(db: DbSession, user: CurrentUser, question_id: Id) -> QuestionOut:
    return question_out(db, service.get_question(db, user, question_id))


@router.patch("/questions/{question_id}", name="api:question_update", response_model=QuestionOut, dependencies=[allow(*AUTHORS)])
def update_question(db: DbSession, user: CurrentUser, question_id: Id, data: QuestionPatch,
                    expected_version: Annotated[Count | None, Query(ge=1)] = None) -> QuestionOut:
    """Content changes make a new version (past attempts keep theirs); `expected_version` turns a
    concurrent edit into 409."""
    row = service.get_question(db, user, question_id)
    return question_out(db, service.update_question(db, user, row.question, data, expected_version=expected_version))


# ---------------------------------------------------------------------------------------------
# Import and export


@router.post("/question-banks/{bank_id}/imports", name="api:bank_import", response_model=ImportOut,
             dependencies=[allow(*AUTHORS), body_limit(IMPORT_BODY_LIMIT)],
             responses={202: {"description": "Asked for `background` and large: a job stores the questions", "model": ImportOut},
                        422: {"description": "Errors in the file (nothing stored): errors [{loc: [\"file\", line or item], msg}]"}})
def import_questions(response: Response, db: DbSession, user: CurrentUser, bank_id: Id, file: Annotated[UploadFile, File()],
                     format: Annotated[Line, Form()] = "", dry_run: Annotated[bool, Form()] = False,
                     skip_duplicates: Annotated[bool, Form()] = False, background: Annotated[bool, Form()] = False) -> ImportOut:
    """Import a gift, aiken, moodle-xml, qti (item or zip package) or xlsx file: every question or
    none. Duplicates of questions already in the bank come back as warnings (`skip_duplicates` leaves
    them out). With `dry_run` nothing is stored and `created` is the number that would be. The import
    runs in the request (200) unless `background` is asked for and the file is large: then 202 and a job
    (poll `GET …/imports/{job_id}`)."""
    bank = service.get_bank(db, user, bank_id)
    data = file.file.read(MAX_FILE_BYTES + 1)
    fmt = format.strip() or guess_format(file.filename or "", data) or ""
    if fmt not in FORMATS:
        raise ValidationFailed(_("Choose the file's format: %(formats)s.", formats=", ".join(FORMATS)),
                               errors=[{"loc": ["body", "format"], "msg": f"one of {', '.join(FORMATS)}"}])
    outcome = bank_transfer.import_file(db, user, bank, data, fmt, dry_run=dry_run, filename=file.filename or "",
                                        skip_duplicates=skip_duplicates, background=background)
    if not outcome.ok:
        raise ValidationFailed(_("%(n)s problems in the file; nothing was imported.", n=len(outcome.errors)),
                               errors=outcome.errors_as_api())
    body = ImportOut(created=outcome.created, questions=[ImportedQuestionOut(type=d.type, stem=d.stem) for d in outcome.kept],
                     warnings=[w.as_error() for w in outcome.warnings], skipped=len(outcome.skipped))
    if outcome.job is not None:
        response.status_code = 202
        body.queued, body.job_id = len(outcome.kept), str(outcome.job.id)
    return body


@router.get("/question-banks/{bank_id}/imports/{job_id}", name="api:bank_import_job", response_model=ImportJobOut,
            dependencies=[allow(*AUTHORS)])
def import_job(db: DbSession, user: CurrentUser, bank_id: Id, job_id: Id) -> ImportJobOut:
    view = bank_jobs.get_import_job(db, user, service.get_bank(db, user, bank_id), job_id)
    return ImportJobOut(job_id=str(view.job.id), status=view.job.status, progress=view.job.progress, finished=view.finished,
                        ok=view.ok, created=view.created, errors=view.errors)


@router.get("/question-banks/{bank_id}/export", name="api:bank_export", dependencies=[allow(*AUTHORS)], response_class=RawResponse,
            responses={200: {"content": {m: {} for m in MEDIA_TYPES.values()}}})
def export(db: DbSession, user: CurrentUser, bank_id: Id, format: Literal["moodle-xml", "qti", "xlsx"] = "xlsx") -> RawResponse:
    """The bank's questions (not the retired ones) as Moodle XML, a QTI 2.1 zip or the Excel layout.
    Questions whose content needs fixing (`problems` in the question list) are left out; their ids come
    comma separated in the `X-Skipped-Questions` header (absent when none was skipped)."""
    bank = service.get_bank(db, user, bank_id)
    exported = bank_transfer.export_bank(db, user, bank, format)
    filename = f"question-bank-{bank.id}{EXTENSIONS[format]}"
    headers = {"Content-Disposition": f'attachment; filename="{filename}"'}
    if exported.skipped:
        headers["X-Skipped-Questions"] = ",".join(map(str, exported.skipped))
    return RawResponse(exported.data, media_type=MEDIA_TYPES[format], headers=headers)

