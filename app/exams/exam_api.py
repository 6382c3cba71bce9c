"""JSON API of exams and attempts under /api/v1 (../shared/API.md "Exams and attempts": keep these
paths, fields and status codes). Ids are strings, times ISO 8601 with offset, errors problem+json."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query, Request, Response
from fastapi.responses import JSONResponse

from app.accounts.access import SIGNED_IN, CurrentPrincipal, CurrentUser, Principal, allow, signed_in
from app.accounts.models import Role
from app.accounts.views import client_ip
from app.core.csrf import verify_csrf
from app.core.db import get_database
from app.core.errors import ValidationFailed
from app.core.group_commit import committer_for
from app.core.i18n import gettext as _
from app.core.lean import LeanRoute, read_model
from app.core.models import utcnow
from app.core.routing import DbSession, make_router
from app.core.types import Id, Line, Offset, has_controls
from app.exams import attempts, exams, grading
from app.exams.exam_schemas import AnswerIn, AttemptOut, AttemptStatusOut, OpenExamOut, OptionOut, QuestionOut, ResultOut, SavedOut
from app.exams.models import Attempt

router = make_router(prefix="/api/v1", tags=["exams"])


def client_of(request: Request, principal: Principal) -> attempts.Client:
    return attempts.Client(session_id=principal.session_id, ip=client_ip(request))


def _options(items: list[dict[str, Any]] | None) -> list[OptionOut]:
    return [OptionOut(id=o["id"], text=o["text"]) for o in items or []]


def attempt_out(db: DbSession, attempt: Attempt) -> AttemptOut:
    questions = []
    for q in attempts.shown_questions(db, attempt):
        view = q.view
        questions.append(QuestionOut(id=q.key, type=q.type, stem=q.stem, options=_options(view.get("options")),
                                     points=float(q.points), prompts=_options(view["prompts"]) if "prompts" in view else None,
                                     blanks=view.get("blanks"), choices=view.get("choices"), unit=view.get("unit"),
                                     max_length=view.get("max_length")))
    answers = attempts.answers_of(db, attempt.id or 0)
    return AttemptOut(id=str(attempt.id), exam_id=str(attempt.exam_id), status=attempt.status, deadline=attempt.deadline,
                      started_at=attempt.started_at, questions=questions,
                      answers={k: a.response for k, a in answers.items() if a.seq > 0},
                      seqs={k: a.seq for k, a in answers.items() if a.seq > 0})


def result_out(db: DbSession, attempt: Attempt, user: CurrentUser) -> ResultOut:
    exam = attempts.exam_of(db, attempt)
    shown = grading.visibility(exam, attempt, user)
    return ResultOut(status=attempt.status, score=float(attempt.score) if shown.score and attempt.score is not None else None,
                     max_score=float(attempt.max_score) if attempt.max_score is not None else None,
                     passed=attempt.passed if shown.score else None, needs_grading=attempt.needs_grading)


@router.get("/exams", name="exams:api_list", response_model=dict[str, Any], dependencies=[signed_in()])
def list_exams(db: DbSession, user: CurrentUser, status: Annotated[Line, Query(pattern="^open$")] = "open",
               limit: Annotated[int, Query(ge=1, le=200)] = 50, offset: Annotated[Offset, Query(ge=0)] = 0) -> dict[str, Any]:
    """Exams the caller may take now, with the attempts they have left (null: unlimited)."""
    found = exams.exams_open_for(db, user)
    items = [OpenExamOut(id=str(o.exam.id), title=o.exam.title, kind=o.exam.kind, opens_at=o.exam.opens_at,
                         closes_at=o.exam.closes_at, time_limit_s=o.exam.time_limit_s, attempts_left=o.attempts_left,
                         attempt_in_progress=str(o.in_progress.id) if o.in_progress else None).model_dump(mode="json")
             for o in found[offset:offset + limit]]
    return {"items": items, "total": len(found)}


@router.post("/exams/{exam_id}/attempts", name="exams:api_start", response_model=AttemptOut, status_code=201,
             dependencies=[allow(Role.trainee)])
def start(request: Request, response: Response, db: DbSession, principal: CurrentPrincipal, exam_id: Id) -> AttemptOut:
    """201 with a new attempt, or 200 with the caller's attempt already in progress (with its answers)."""
    started = attempts.start_attempt(db, principal.user, exam_id, client=client_of(request, principal))
    if not started.created:
        response.status_code = 200
    return attempt_out(db, started.attempt)


@router.get("/attempts/{attempt_id}", name="exams:api_attempt", response_model=AttemptOut, dependencies=[signed_in()])
def get_attempt(db: DbSession, user: CurrentUser, attempt_id: Id) -> AttemptOut:
    return attempt_out(db, attempts.get_attempt(db, user, attempt_id))


@router.get("/attempts/{attempt_id}/status", name="exams:api_attempt_status", response_model=AttemptStatusOut,
            dependencies=[signed_in()])
def attempt_status(db: DbSession, user: CurrentUser, attempt_id: Id) -> AttemptStatusOut:
    """A light poll for the attempt page: whether the attempt is still open (it may have been submitted on
    another device) and the server's clock. While the trainee is active it also keeps a kiosk session alive."""
    attempt = attempts.get_attempt(db, user, attempt_id)
    now = utcnow()
    return AttemptStatusOut(status=attempt.status, deadline=attempt.deadline, server_now=now,
                            remaining_s=attempts.remaining_seconds(attempt, now))


@router.put("/attempts/{attempt_id}/answers/{question_id}", name="exams:api_save", response_model=SavedOut,
            dependencies=[signed_in()])
async def save(request: Request, principal: CurrentPrincipal, attempt_id: Id, question_id: Line, body: AnswerIn) -> SavedOut:
    """Acknowledged once committed. 409 after the deadline or the submit, and for a stale `seq`; 422 for a bad shape.

    Saves of one question are ordered by their `seq` when it is given (a save not above the stored seq is a
    409 and the newer answer stands), and by receipt when it is not (each save without `seq` is the
    newest). Send `seq` whenever a save may arrive late or twice, as the exam page and its offline queue do.

    The save runs in the process's group commit (core/group_commit): the saves that arrive together share
    one transaction and one flush to disk, and each is answered only after that commit. Async: the
    caller usually comes from the principal cache, so the request itself needs no thread.
    The app serves this path through `SAVE_LEAN` (below); this declaration documents it and is the
    reference the lean route is tested against."""
    return await _save(request, principal, attempt_id, question_id, body)


async def _save(request: Request, principal: Principal, attempt_id: int, question_id: str, body: AnswerIn) -> SavedOut:
    if len(question_id) > 40:
        raise ValidationFailed(_("No such question."))
    user, client, response, seq = principal.user, client_of(request, principal), body.response, body.seq
    database = getattr(request.app.state, "database", None) or get_database()
    saved = await committer_for(database).run(
        lambda session: attempts.save_answer(session, user, attempt_id, question_id, response, seq, client=client))
    return SavedOut(saved_at=saved.saved_at, seq=saved.seq)


async def _save_lean(request: Request, attempt_id: int, question_id: str) -> Response | None:
    """`save` without FastAPI's routing and dependency solving (core/lean): the same access rule, CSRF
    check, body model and service call. The rule comes first, as in the declared route (core/routing):
    the CSRF exemption depends on how the caller was authenticated, and no body is read for a refused one."""
    if has_controls(question_id):
        return None  # a path naming nothing: the declared route answers (404)
    principal = await SIGNED_IN.detached(request)
    assert principal is not None
    await verify_csrf(request)
    body = await read_model(request, AnswerIn)
    saved = await _save(request, principal, attempt_id, question_id, body)
    return JSONResponse(saved.model_dump(mode="json"))


SAVE_LEAN = LeanRoute("PUT", "/api/v1/attempts/{attempt_id:int}/answers/{question_id}", _save_lean)


@router.post("/attempts/{attempt_id}/submit", name="exams:api_submit", response_model=ResultOut, dependencies=[signed_in()])
def submit(request: Request, db: DbSession, principal: CurrentPrincipal, attempt_id: Id) -> ResultOut:
    """Repeating it returns the same result."""
    attempt = attempts.submit(db, principal.user, attempt_id, client=client_of(request, principal))
    return result_out(db, attempt, principal.user)
