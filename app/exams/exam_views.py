"""Exams pages. Trainees: 我的考试 (open exams, results, regrade notices), an exam's intro, the attempt
page (kiosk and phone: one question per screen with a navigator, a countdown from the server's
deadline, every answer saved as given through the JSON API by static/js/exam.js with the CSRF header
and a sequence number, an offline queue in localStorage replayed in order), the result and the
wrong-answer notebook with practice. Staff: exam and paper authoring with the blueprint check, the
manual grading queue and regrading after a key correction.

Views parse and render; the rules live in exams/papers/attempts/grading/notebook.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from fastapi import Depends, Form, Query, Request, Response
from pydantic import ValidationError

from app.accounts.access import CurrentPrincipal, CurrentUser, allow, signed_in
from app.accounts.models import TIER_LABELS, Role, Tier
from app.accounts.permissions import may_target_everyone
from app.accounts.scope import CHANGE, TAKE
from app.core.errors import Conflict, ValidationFailed
from app.core.i18n import N_
from app.core.i18n import gettext as _
from app.core.models import utcnow
from app.core.routing import DbSession, make_router
from app.core.templating import flash, is_htmx, path_for, redirect, render
from app.core.timeutil import DISPLAY_TZ
from app.core.types import Id, Line, Text, parse_json
from app.exams import attempts, exams, grading, notebook, papers
from app.exams import question_types as qt
from app.exams.exam_api import client_of
from app.exams.exam_schemas import ExamIn
from app.exams.models import EXAM_KIND_LABELS, AttemptStatus, ExamKind, ExamStatus, PaperKind, ResultsPolicy
from app.exams.permissions import AUTHOR_ROLES, GRADER_ROLES

router = make_router(tags=["pages: exams"])
STAFF_ROLES = (*GRADER_ROLES, Role.district_admin)

RESULTS_POLICY_LABELS = {ResultsPolicy.immediately: N_("Score and explanations once submitted"),
                         ResultsPolicy.after_close: N_("Score and explanations once the window closes"),
                         ResultsPolicy.score_only: N_("Score only, never the key"), ResultsPolicy.never: N_("Nothing")}
TYPE_LABELS = {name: t.label for name, t in qt.REGISTRY.items()}



def ordered(options: list[dict[str, str]], answer: Any) -> list[dict[str, str]]:
    """An ordering question's items in the order the trainee last saved (else as presented)."""
    if not isinstance(answer, list):
        return options
    rank = {oid: i for i, oid in enumerate(answer)}
    return sorted(options, key=lambda o: rank.get(o["id"], len(rank)))


def _common() -> dict[str, Any]:
    return {"ordered": ordered, "kind_labels": {k.value: v for k, v in EXAM_KIND_LABELS.items()}, "type_labels": TYPE_LABELS,
            "policy_labels": {k.value: _(v) for k, v in RESULTS_POLICY_LABELS.items()},
            "tier_labels": {t.value: label for t, label in TIER_LABELS.items()}}


# ---------------------------------------------------------------------------------------------
# Trainees


@router.get("/exams", name="exams:my", dependencies=[signed_in()])
def my_exams(request: Request, db: DbSession, user: CurrentUser) -> Response:
    now = utcnow()
    return render(request, "exams/take/my_exams.html", {
        **_common(), "open": exams.exams_open_for(db, user, now), "results": exams.results_of(db, user, include_practice=False),
        "notices": grading.regrade_notices(db, user), "notebook_count": notebook.open_count(db, user.id or 0), "now": now})


@router.get("/exams/{exam_id:int}", name="exams:intro", dependencies=[signed_in()])
def intro(request: Request, db: DbSession, user: CurrentUser, exam_id: Id) -> Response:
    exam = exams.get_exam(db, user, exam_id, TAKE)  # published, and the caller is in its audience
    now = utcnow()
    count, points = papers.snapshot_points(exam.paper_snapshot)
    return render(request, "exams/take/intro.html", {
        **_common(), "exam": exam, "question_count": count, "total_points": points, "is_open": exams.is_open(exam, now),
        "attempts_left": exams.attempts_left(db, user, exam), "running": exams.running_attempt(db, user, exam),
        "past": exams.results_of(db, user, exam_id=exam.id)})


@router.post("/exams/{exam_id:int}/start", name="exams:start", dependencies=[allow(Role.trainee)])
def start(request: Request, db: DbSession, principal: CurrentPrincipal, exam_id: Id) -> Response:
    try:
        started = attempts.start_attempt(db, principal.user, exam_id, client=client_of(request, principal))
    except (Conflict, ValidationFailed) as exc:
        flash(request, exc.translated_detail(), "error")
        return redirect(request, path_for(request, "exams:intro", exam_id=exam_id))
    return redirect(request, path_for(request, "exams:take", attempt_id=started.attempt.id))


@router.get("/exams/attempts/{attempt_id}", name="exams:take", dependencies=[signed_in()])
def take(request: Request, db: DbSession, user: CurrentUser, attempt_id: Id) -> Response:
    attempt = attempts.get_own_attempt(db, user, attempt_id)
    now = utcnow()
    if attempt.status == AttemptStatus.in_progress and attempts.past_deadline(attempt, now):
        attempt = attempts.submit(db, user, attempt_id, now=now)  # closed at the deadline with what was saved
    if attempt.status != AttemptStatus.in_progress:
        return redirect(request, path_for(request, "exams:result", attempt_id=attempt_id))
    exam = attempts.exam_of(db, attempt)
    answers = attempts.answers_of(db, attempt.id or 0)
    return render(request, "exams/take/attempt.html", {
        **_common(), "exam": exam, "attempt": attempt, "questions": attempts.shown_questions(db, attempt),
        "answers": {k: a.response for k, a in answers.items() if a.seq > 0}, "seqs": {k: a.seq for k, a in answers.items()},
        "server_now": now.isoformat(), "deadline": attempt.deadline.isoformat() if attempt.deadline else "",
        "remaining": attempts.remaining_seconds(attempt, now)}, headers={"Cache-Control": "no-store"})


@router.get("/exams/attempts/{attempt_id}/result", name="exams:result", dependencies=[signed_in()])
def result(request: Request, db: DbSession, user: CurrentUser, attempt_id: Id) -> Response:
    attempt = attempts.get_attempt(db, user, attempt_id)
    if attempt.status == AttemptStatus.in_progress and attempt.user_id == user.id:
        return redirect(request, path_for(request, "exams:take", attempt_id=attempt_id))
    exam = attempts.exam_of(db, attempt)
    shown = grading.visibility(exam, attempt, user)
    return render(request, "exams/take/result.html", {
        **_common(), "exam": exam, "attempt": attempt, "shown": shown,
        "percent": grading.percent_of(attempt.score or Decimal(0), attempt.max_score or Decimal(0)),
        "items": grading.review(db, attempt) if shown.score else [],
        "notebook_count": notebook.open_count(db, attempt.user_id)})


@router.get("/exams/my/notebook", name="exams:notebook", dependencies=[signed_in()])
def notebook_page(request: Request, db: DbSession, user: CurrentUser,
                  practice: Annotated[Id | None, Query(ge=1)] = None, cleared: bool = False) -> Response:
    item = notebook.practice_item(db, user.id or 0, practice) if practice else None
    return render(request, "exams/take/notebook.html", {
        **_common(), "items": notebook.entries(db, user.id or 0, include_cleared=cleared), "show_cleared": cleared,
        "item": item, "view": qt.student_view(notebook.presented(item)) if item else None,
        "streak": notebook.streak_to_clear(), "outcome": None})


@router.post("/exams/my/notebook/{entry_id}/answer", name="exams:notebook_answer", dependencies=[signed_in()])
def notebook_answer(request: Request, db: DbSession, user: CurrentUser, entry_id: Id,
                    response: Annotated[Text, Form(max_length=50_000)] = "null") -> Response:
    try:
        raw = parse_json(response)  # 422 when nested too deeply (json.loads would recurse out of the stack)
        outcome = notebook.answer_from_notebook(db, user.id or 0, entry_id, raw)
    except (ValueError, qt.AnswerInvalid):
        flash(request, _("Answer the question first."), "warning")
        return redirect(request, path_for(request, "exams:notebook") + f"?practice={entry_id}")
    item = notebook.practice_item(db, user.id or 0, entry_id)
    ctx = {**_common(), "items": notebook.entries(db, user.id or 0), "show_cleared": False, "item": item,
           "view": qt.student_view(notebook.presented(item)), "streak": notebook.streak_to_clear(), "outcome": outcome,
           "given": raw}
    return render(request, "exams/take/notebook.html", ctx, block="practice" if is_htmx(request) else None)


# ---------------------------------------------------------------------------------------------
# Grading (instructors, examiners, administrators)


@router.get("/exams/staff/grading", name="exams:grading", dependencies=[allow(*GRADER_ROLES)])
def grading_page(request: Request, db: DbSession, user: CurrentUser, exam_id: Annotated[Id | None, Query()] = None) -> Response:
    return render(request, "exams/author/grading.html", {**_common(), "queue": grading.grading_queue(db, user, exam_id=exam_id)})


@router.post("/exams/staff/grading/{answer_id}", name="exams:grade", dependencies=[allow(*GRADER_ROLES)])
def grade(request: Request, db: DbSession, user: CurrentUser, answer_id: Id,
          points: Annotated[Line, Form(max_length=20)], note: Annotated[Text, Form(max_length=2000)] = "") -> Response:
    try:
        value = Decimal(points.strip())
    except InvalidOperation:
        flash(request, _("Give the points as a number."), "error")
        return redirect(request, path_for(request, "exams:grading"))
    attempt = grading.grade_answer(db, user, answer_id, value, note)
    if attempt.needs_grading:
        flash(request, _("Graded."))
    else:
        flash(request, _("Graded. The attempt is complete: %(score)s of %(max)s points.", score=attempt.score, max=attempt.max_score))
    return redirect(request, path_for(request, "exams:grading"))


@router.get("/exams/staff/exams/{exam_id}/attempts", name="exams:attempts", dependencies=[allow(*STAFF_ROLES)])
def exam_attempts(request: Request, db: DbSession, user: CurrentUser, exam_id: Id) -> Response:
    exam = exams.get_exam(db, user, exam_id)
    return render(request, "exams/author/attempts.html", {**_common(), "exam": exam, "rows": grading.exam_attempts(db, user, exam)})


@router.get("/exams/staff/attempts/{attempt_id}/log", name="exams:attempt_log", dependencies=[allow(*STAFF_ROLES)])
def attempt_log(request: Request, db: DbSession, user: CurrentUser, attempt_id: Id) -> Response:
    attempt = attempts.get_attempt(db, user, attempt_id)
    return render(request, "exams/author/attempt_log.html", {
        **_common(), "attempt": attempt, "exam": attempts.exam_of(db, attempt), "events": grading.attempt_log(db, user, attempt)})


@router.get("/exams/staff/regrade", name="exams:regrade", dependencies=[allow(*GRADER_ROLES)])
def regrade_page(request: Request, db: DbSession, user: CurrentUser, question_id: Annotated[Id | None, Query(ge=1)] = None) -> Response:
    count = grading.regrade_count(db, user, question_id) if question_id else None
    return render(request, "exams/author/regrade.html", {**_common(), "question_id": question_id, "count": count})


@router.post("/exams/staff/regrade", name="exams:regrade_run", dependencies=[allow(*GRADER_ROLES)])
def regrade_run(request: Request, db: DbSession, user: CurrentUser, question_id: Annotated[Id, Form(ge=1)]) -> Response:
    report = grading.regrade_question(db, user, question_id)
    flash(request, _("Regraded %(n)s attempts: %(changed)s scores changed, %(passed)s now pass, %(failed)s now fail.",
                     n=report.attempts, changed=report.changed, passed=report.now_passed, failed=report.now_failed))
    return redirect(request, path_for(request, "exams:regrade") + f"?question_id={question_id}")


# ---------------------------------------------------------------------------------------------
# Authoring (instructors, district administrators, administrators)


@router.get("/exams/staff/author", name="exams:author_list", dependencies=[allow(*AUTHOR_ROLES)])
def author_list(request: Request, db: DbSession, user: CurrentUser) -> Response:
    return render(request, "exams/author/list.html", {
        **_common(), "exams": exams.authored_exams(db, user), "papers": papers.authored_papers(db, user),
        "banks": papers.bank_choices(db, user), "statuses": {s.value for s in ExamStatus}})


def _local(value: str) -> datetime | None:
    """A datetime-local field (Asia/Shanghai wall time) as an aware datetime."""
    value = value.strip()
    if not value:
        return None
    try:
        return datetime.fromisoformat(value).replace(tzinfo=DISPLAY_TZ)
    except ValueError:
        raise ValidationFailed(_("Give the time as YYYY-MM-DD HH:MM.")) from None


def _exam_form(form: dict[str, str]) -> ExamIn:
    def number(name: str) -> int | None:
        value = form.get(name, "").strip()
        return int(value) if value.isdigit() else None

    limit_min = number("time_limit_min")
    try:
        return ExamIn(title=form.get("title", ""), description=form.get("description", ""), kind=form.get("kind") or "regular",
                      paper_id=number("paper_id") or 0, opens_at=_local(form.get("opens_at", "")),
                      closes_at=_local(form.get("closes_at", "")), time_limit_s=limit_min * 60 if limit_min else None,
                      attempts_allowed=number("attempts_allowed"), pass_percent=number("pass_percent") or 0,
                      results_policy=form.get("results_policy") or "immediately", tier=form.get("tier") or None,
                      org_unit_id=number("org_unit_id"), course_id=number("course_id"),
                      practice_from_notebook=number("practice_from_notebook") or 0)
    except ValidationError as exc:
        raise ValidationFailed(_("Please check the form: %(problems)s", problems="; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()))) from None


def _form_ctx(db: DbSession, user: CurrentUser, exam: Any = None, values: dict[str, str] | None = None) -> dict[str, Any]:
    return {**_common(), "exam": exam, "values": values or {}, "papers": papers.authored_papers(db, user),
            "units": exams.unit_choices(db, user), "city_wide": may_target_everyone(user), "courses": exams.course_choices(db),
            "tiers": list(Tier),
            "kinds": list(ExamKind), "policies": list(ResultsPolicy)}


@router.get("/exams/staff/author/new", name="exams:author_new", dependencies=[allow(*AUTHOR_ROLES)])
def author_new(request: Request, db: DbSession, user: CurrentUser, paper_id: Annotated[Id | None, Query()] = None) -> Response:
    return render(request, "exams/author/exam_form.html", _form_ctx(db, user, values={"paper_id": str(paper_id or "")}))


def exam_form(title: Annotated[Line, Form(max_length=200)] = "", description: Annotated[Text, Form(max_length=4000)] = "",
              kind: Annotated[Line, Form(max_length=20)] = "regular", paper_id: Annotated[Line, Form(max_length=12)] = "",
              opens_at: Annotated[Line, Form(max_length=30)] = "", closes_at: Annotated[Line, Form(max_length=30)] = "",
              time_limit_min: Annotated[Line, Form(max_length=6)] = "", attempts_allowed: Annotated[Line, Form(max_length=4)] = "",
              pass_percent: Annotated[Line, Form(max_length=3)] = "60",  # noqa: S107 (not a password)
              results_policy: Annotated[Line, Form(max_length=20)] = "immediately",
              tier: Annotated[Line, Form(max_length=20)] = "", org_unit_id: Annotated[Line, Form(max_length=12)] = "",
              course_id: Annotated[Line, Form(max_length=12)] = "",
              practice_from_notebook: Annotated[Line, Form(max_length=3)] = "") -> dict[str, str]:
    return dict(locals())


ExamForm = Annotated[dict[str, str], Depends(exam_form)]


@router.post("/exams/staff/author/new", name="exams:author_create", dependencies=[allow(*AUTHOR_ROLES)])
def author_create(request: Request, db: DbSession, user: CurrentUser, form: ExamForm) -> Response:
    try:
        exam = exams.create_exam(db, user, _exam_form(form))
    except ValidationFailed as exc:
        flash(request, exc.translated_detail(), "error")
        return render(request, "exams/author/exam_form.html", _form_ctx(db, user, values=form), status_code=422)
    flash(request, _("Exam created as a draft. Check it and publish it."))
    return redirect(request, path_for(request, "exams:author_edit", exam_id=exam.id))


def _values_of(exam: Any) -> dict[str, str]:
    def local(value: datetime | None) -> str:
        return value.astimezone(DISPLAY_TZ).strftime("%Y-%m-%dT%H:%M") if value else ""

    practice = (exam.paper_snapshot or {}).get("practice") or {}
    return {"title": exam.title, "description": exam.description, "kind": exam.kind, "paper_id": str(exam.paper_id),
            "opens_at": local(exam.opens_at), "closes_at": local(exam.closes_at),
            "time_limit_min": str(exam.time_limit_s // 60) if exam.time_limit_s else "",
            "attempts_allowed": str(exam.attempts_allowed or ""), "pass_percent": str(exam.pass_percent),
            "results_policy": exam.results_policy, "tier": exam.tier or "", "org_unit_id": str(exam.org_unit_id or ""),
            "course_id": str(exam.course_id or ""), "practice_from_notebook": str(practice.get("from_notebook") or "")}


def _edit_ctx(db: DbSession, user: CurrentUser, exam: Any, values: dict[str, str] | None = None) -> dict[str, Any]:
    paper = papers.paper_of(db, exam)
    check = papers.check_blueprint(db, paper) if paper.kind == PaperKind.blueprint else None
    return {**_form_ctx(db, user, exam, values or _values_of(exam)), "paper": paper, "check": check,
            "snapshot_points": papers.snapshot_points(exam.paper_snapshot) if exam.status != ExamStatus.draft else None}


@router.get("/exams/staff/author/{exam_id}", name="exams:author_edit", dependencies=[allow(*AUTHOR_ROLES)])
def author_edit(request: Request, db: DbSession, user: CurrentUser, exam_id: Id) -> Response:
    exam = exams.editable_exam(db, user, exam_id)
    return render(request, "exams/author/exam_form.html", _edit_ctx(db, user, exam))


@router.post("/exams/staff/author/{exam_id}", name="exams:author_update", dependencies=[allow(*AUTHOR_ROLES)])
def author_update(request: Request, db: DbSession, user: CurrentUser, exam_id: Id, form: ExamForm) -> Response:
    exam = exams.editable_exam(db, user, exam_id)
    try:
        exams.update_exam(db, user, exam, _exam_form(form))
    except (ValidationFailed, Conflict) as exc:
        flash(request, exc.translated_detail(), "error")
        return render(request, "exams/author/exam_form.html", _edit_ctx(db, user, exam, form), status_code=422)
    flash(request, _("Saved."))
    return redirect(request, path_for(request, "exams:author_edit", exam_id=exam_id))


@router.post("/exams/staff/author/{exam_id}/publish", name="exams:author_publish", dependencies=[allow(*AUTHOR_ROLES)])
def author_publish(request: Request, db: DbSession, user: CurrentUser, exam_id: Id) -> Response:
    exam = exams.editable_exam(db, user, exam_id)
    try:
        exams.publish_exam(db, user, exam)
    except (ValidationFailed, Conflict) as exc:
        flash(request, exc.translated_detail(), "error")
        return redirect(request, path_for(request, "exams:author_edit", exam_id=exam_id))
    flash(request, _("Published. Trainees in the audience see it in 我的考试 while its window is open."))
    return redirect(request, path_for(request, "exams:author_edit", exam_id=exam_id))


@router.post("/exams/staff/author/{exam_id}/archive", name="exams:author_archive", dependencies=[allow(*AUTHOR_ROLES)])
def author_archive(request: Request, db: DbSession, user: CurrentUser, exam_id: Id) -> Response:
    exams.archive_exam(db, user, exams.editable_exam(db, user, exam_id))
    flash(request, _("Archived."))
    return redirect(request, path_for(request, "exams:author_list"))


# Papers


@router.post("/exams/staff/papers", name="exams:paper_create", dependencies=[allow(*AUTHOR_ROLES)])
def paper_create(request: Request, db: DbSession, user: CurrentUser, title: Annotated[Line, Form(max_length=200)] = "",
                 kind: Annotated[PaperKind, Form()] = PaperKind.fixed, bank_id: Annotated[Id | None, Form()] = None,
                 shuffle_questions: Annotated[bool, Form()] = False, shuffle_options: Annotated[bool, Form()] = False) -> Response:
    try:
        paper = papers.create_paper(db, user, title, kind=kind, bank_id=bank_id,
                                    shuffle_questions=shuffle_questions, shuffle_options=shuffle_options)
    except ValidationFailed as exc:
        flash(request, exc.translated_detail(), "error")
        return redirect(request, path_for(request, "exams:author_list"))
    return redirect(request, path_for(request, "exams:paper", paper_id=paper.id))


@router.get("/exams/staff/papers/{paper_id}", name="exams:paper", dependencies=[allow(*AUTHOR_ROLES)])
def paper_page(request: Request, db: DbSession, user: CurrentUser, paper_id: Id) -> Response:
    paper = papers.get_paper(db, user, paper_id)
    is_blueprint = paper.kind == PaperKind.blueprint
    return render(request, "exams/author/paper.html", {
        **_common(), "paper": paper, "items": papers.item_rows(db, paper) if not is_blueprint else [],
        "check": papers.check_blueprint(db, paper) if is_blueprint else None,
        "rules": papers.rules_of(db, paper) if is_blueprint else [], "types": list(qt.REGISTRY)})


@router.post("/exams/staff/papers/{paper_id}/items", name="exams:paper_items", dependencies=[allow(*AUTHOR_ROLES)])
def paper_items(request: Request, db: DbSession, user: CurrentUser, paper_id: Id,
                question_ids: Annotated[Text, Form(max_length=5000)] = "") -> Response:
    paper = papers.get_paper(db, user, paper_id, CHANGE)
    ids = [int(part) for part in question_ids.replace("，", ",").replace(" ", ",").split(",") if part.strip().isdigit()]
    try:
        papers.set_items(db, user, paper, [(i, None) for i in ids])
    except ValidationFailed as exc:
        flash(request, exc.translated_detail(), "error")
        return redirect(request, path_for(request, "exams:paper", paper_id=paper_id))
    flash(request, _("The paper has %(n)s questions.", n=len(ids)))
    return redirect(request, path_for(request, "exams:paper", paper_id=paper_id))


@router.post("/exams/staff/papers/{paper_id}/rules", name="exams:paper_rule_add", dependencies=[allow(*AUTHOR_ROLES)])
def paper_rule_add(request: Request, db: DbSession, user: CurrentUser, paper_id: Id,
                   count: Annotated[int, Form(ge=1, le=1000)] = 1, points: Annotated[Line, Form(max_length=8)] = "1",
                   type: Annotated[Line, Form(max_length=30)] = "", difficulty_min: Annotated[int, Form(ge=1, le=5)] = 1,
                   difficulty_max: Annotated[int, Form(ge=1, le=5)] = 5, tag: Annotated[Line, Form(max_length=100)] = "",
                   category: Annotated[Line, Form(max_length=300)] = "", clause_id: Annotated[Line, Form(max_length=12)] = "") -> Response:
    paper = papers.get_paper(db, user, paper_id, CHANGE)
    try:
        spec = papers.RuleSpec(count=count, points=Decimal(points or "1"), type=type or None, difficulty_min=difficulty_min,
                               difficulty_max=difficulty_max, tag=tag.strip() or None, category=category.strip() or None,
                               clause_id=int(clause_id) if clause_id.isdigit() else None)
        papers.add_rule(db, user, paper, spec)
    except (InvalidOperation, ValidationFailed) as exc:
        flash(request, exc.translated_detail() if isinstance(exc, ValidationFailed) else _("Give the points as a number."), "error")
    return redirect(request, path_for(request, "exams:paper", paper_id=paper_id))


@router.post("/exams/staff/papers/{paper_id}/rules/{rule_id}/delete", name="exams:paper_rule_delete",
             dependencies=[allow(*AUTHOR_ROLES)])
def paper_rule_delete(request: Request, db: DbSession, user: CurrentUser, paper_id: Id, rule_id: Id) -> Response:
    papers.remove_rule(db, user, papers.get_paper(db, user, paper_id, CHANGE), rule_id)
    return redirect(request, path_for(request, "exams:paper", paper_id=paper_id))
