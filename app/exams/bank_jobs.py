"""The background import of a large question file (more than bank.SYNC_IMPORT_MAX questions).

The request checked the file and queued this job in its own transaction; the job reads the file
again, checks it again against the bank and the standards library as they are now, and stores every
question or none, in the worker's transaction. In that same transaction the payload loses the file
and records the outcome, so a retry after a crash between commit and bookkeeping reports what was
done instead of importing twice.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col

from app.accounts.models import User
from app.accounts.permissions import JOB
from app.accounts.scope import READ, related
from app.core.errors import DomainError, NotFound
from app.core.i18n import gettext as _
from app.core.jobs import Job, JobContext, JobStatus, PermanentJobError, job_handler
from app.exams import bank, bank_transfer
from app.exams.models import QuestionBank


def _set_payload(session: Session, job_id: int, payload: dict[str, Any]) -> None:
    session.execute(sa.update(Job).where(col(Job.id) == job_id).values(payload=payload).execution_options(synchronize_session=False))


@job_handler(bank.IMPORT_JOB, max_attempts=3)
def import_questions_job(session: Session, payload: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
    if payload.get("done"):
        return {"ok": True, "created": payload.get("created", 0), "bank_id": payload.get("bank_id")}
    try:
        data = base64.b64decode(payload["data"], validate=True)
    except (KeyError, binascii.Error, ValueError) as exc:
        raise PermanentJobError("the import file is missing from the job payload") from exc
    keep = {k: payload.get(k) for k in ("bank_id", "actor_id", "format", "filename", "count")}
    # The job re-reads who asked and where; import_file applies the bank's rule to them again.
    actor = related(session, User, int(payload.get("actor_id") or 0))
    target = related(session, QuestionBank, int(payload.get("bank_id") or 0))
    if actor is None or not actor.is_active or target is None:
        _set_payload(session, ctx.job_id, {**keep, "refused": True})
        return {"ok": False, "created": 0, "errors": [{"loc": ["file"], "msg": _("The bank or the account is gone.")}]}
    try:
        outcome = bank_transfer.import_file(session, actor, target, data, str(payload.get("format")),
                                            filename=str(payload.get("filename") or ""),
                                            skip_duplicates=bool(payload.get("skip_duplicates")),
                                            status=str(payload.get("status") or "active"), background=False, progress=ctx.progress)
    except (NotFound, DomainError) as exc:
        _set_payload(session, ctx.job_id, {**keep, "refused": True})
        return {"ok": False, "created": 0, "errors": [{"loc": ["file"], "msg": exc.translated_detail()}]}
    if not outcome.ok:
        _set_payload(session, ctx.job_id, {**keep, "refused": True})
        return {"ok": False, "created": 0, "errors": outcome.errors_as_api()[:500], "error_count": len(outcome.errors)}
    _set_payload(session, ctx.job_id, {**keep, "done": True, "created": outcome.created})
    return {"ok": True, "created": outcome.created, "bank_id": target.id, "skipped": len(outcome.skipped)}


@dataclass
class ImportJobView:
    job: Job
    finished: bool
    ok: bool
    created: int
    errors: list[dict[str, Any]] = field(default_factory=list)


def get_import_job(session: Session, actor: User, target: QuestionBank, job_id: int) -> ImportJobView:
    """An import job of this bank started by this actor (anybody else's is NotFound)."""
    job = JOB.find(session, actor, job_id, READ)
    if job is None or job.kind != bank.IMPORT_JOB or int((job.payload or {}).get("bank_id") or 0) != target.id:
        raise NotFound(_("No such import."))
    result = job.result or {}
    finished = job.status in (JobStatus.succeeded, JobStatus.failed, JobStatus.cancelled)
    errors = list(result.get("errors", []))
    if job.status == JobStatus.failed and not errors:
        errors = [{"loc": ["file"], "msg": _("The import failed; nothing was stored.")}]
    return ImportJobView(job, finished, job.status == JobStatus.succeeded and bool(result.get("ok")),
                         int(result.get("created", 0)), errors)
