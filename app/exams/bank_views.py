"""Question-bank pages for authors: the banks, a bank's questions with live filters (htmx), the
question editor (one form per type), import (upload → preview with per-line errors and duplicates →
confirm; large files through a job with a self-polling progress fragment), export and the Excel
template. Views parse forms, call app.exams.bank and render; the service checks who may do what."""

from __future__ import annotations

import contextlib
import re
import secrets
import time
from pathlib import Path
from typing import Annotated, Any

from fastapi import File, Form, Query, Request, Response, UploadFile
from pydantic import BaseModel, Field, ValidationError

from app.accounts.access import CurrentUser, allow
from app.accounts.models import Tier, User
from app.core.config import get_settings
from app.core.errors import DomainError, NotFound, ValidationFailed, form_error_message
from app.core.i18n import gettext as _
from app.core.pagination import page_numbers
from app.core.routing import DbSession, body_limit, make_router
from app.core.templating import flash, path_for, redirect, render
from app.core.types import Id, Line, Offset, Text
from app.exams import bank as service
from app.exams import bank_jobs, bank_transfer, question_checks
from app.exams import question_types as qt
from app.exams.bank_schemas import BankIn, BankPatch, QuestionIn
from app.exams.exporters import EXTENSIONS, MEDIA_TYPES
from app.exams.importers import FORMATS, guess_format, xlsx_template
from app.exams.importers.base import IMPORT_BODY_LIMIT, MAX_FILE_BYTES
from app.exams.models import QUESTION_STATUS_LABELS, QuestionBank, QuestionStatus
from app.exams.permissions import AUTHOR_ROLES
from app.standards import service as standards

router = make_router(tags=["pages: question banks"])
AUTHORS = AUTHOR_ROLES
PAGE = 30
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMAT_LABELS = {"gift": "GIFT", "aiken": "Aiken", "moodle-xml": "Moodle XML", "qti": "QTI 2.1 / 3.0", "xlsx": "Excel"}
STASH_MAX_AGE_S = 24 * 3600
_LETTERS = [chr(65 + i) for i in range(26)]



def type_label(name: str) -> str:
    return _(qt.REGISTRY[name].label) if name in qt.REGISTRY else name


def status_label(status: str) -> str:
    return str(QUESTION_STATUS_LABELS.get(QuestionStatus(status), status)) if status in QuestionStatus.__members__ else status


def _common(**extra: Any) -> dict[str, Any]:
    return {"type_label": type_label, "status_label": status_label, "type_names": qt.TYPE_NAMES, "statuses": list(QuestionStatus),
            "tiers": list(Tier), "plain": qt.plain_text, "format_labels": FORMAT_LABELS, **extra}


# ---------------------------------------------------------------------------------------------
# Banks


@router.get("/author/question-banks", name="bank:list", dependencies=[allow(*AUTHORS)])
def bank_list(request: Request, db: DbSession, user: CurrentUser, q: Line = "", archived: bool = False,
              offset: Annotated[Offset, Query(ge=0)] = 0) -> Response:
    rows, total = service.list_banks(db, user, q=q[:100], archived=archived, limit=50, offset=offset)
    return render(request, "exams/bank/banks.html", _common(
        rows=rows, total=total, q=q, archived=archived, pager=page_numbers(total, 50, offset),
        counts=service.question_counts(db, {b.id or 0 for b in rows}),
        owners=service.users_by_id(db, {b.owner_id for b in rows})), block="banks")


@router.post("/author/question-banks", name="bank:create", dependencies=[allow(*AUTHORS)])
def bank_create(request: Request, db: DbSession, user: CurrentUser, name: Annotated[Line, Form()] = "",
                description: Annotated[Text, Form()] = "") -> Response:
    try:
        made = service.create_bank(db, user, BankIn(name=name, description=description))
    except (ValidationError, ValidationFailed) as exc:
        flash(request, form_error_message(exc), "error")
        return redirect(request, path_for(request, "bank:list"))
    flash(request, _("Question bank “%(name)s” created.", name=made.name))
    return redirect(request, path_for(request, "bank:detail", bank_id=made.id))


@router.get("/author/question-banks/template.xlsx", name="bank:template", dependencies=[allow(*AUTHORS)])
def template(layout: Line = "question") -> Response:
    layout = "option" if layout == "option" else "question"
    return Response(xlsx_template(layout), media_type=XLSX,  # type: ignore[arg-type]
                    headers={"Content-Disposition": f'attachment; filename="question-template-{layout}.xlsx"'})


def _filters(type: str, tag: str, difficulty: str, status: str, q: str) -> service.QuestionFilter:
    return service.QuestionFilter(type=type if type in qt.TYPE_NAMES else None, tag=tag.strip()[:50] or None,
                                  difficulty=int(difficulty) if difficulty in {"1", "2", "3", "4", "5"} else None,
                                  status=status if status in QuestionStatus.__members__ else None, q=q.strip()[:100] or None)


@router.get("/author/question-banks/{bank_id}", name="bank:detail", dependencies=[allow(*AUTHORS)])
def bank_detail(request: Request, db: DbSession, user: CurrentUser, bank_id: Id, type: Line = "", tag: Line = "", difficulty: Line = "",
                status: Line = "", q: Line = "", offset: Annotated[Offset, Query(ge=0)] = 0) -> Response:
    bank = service.get_bank(db, user, bank_id)
    rows, total = service.search_questions(db, user, bank, _filters(type, tag, difficulty, status, q), limit=PAGE, offset=offset)
    params = {"type": type, "tag": tag, "difficulty": difficulty, "status": status, "q": q}
    query = "&".join(f"{k}={v}" for k, v in params.items() if v)
    return render(request, "exams/bank/bank.html", _common(
        bank=bank, rows=rows, total=total, filters=params, query=query, pager=page_numbers(total, PAGE, offset),
        tags=service.bank_tags(db, bank), all_count=service.question_counts(db, {bank_id}).get(bank_id, 0),
        invalid=question_checks.invalid_questions(db, bank_id)), block="questions")


@router.post("/author/question-banks/{bank_id}", name="bank:update", dependencies=[allow(*AUTHORS)])
def bank_update(request: Request, db: DbSession, user: CurrentUser, bank_id: Id, name: Annotated[Line, Form()] = "",
                description: Annotated[Text, Form()] = "") -> Response:
    bank = service.get_bank(db, user, bank_id)
    try:
        service.update_bank(db, user, bank, BankPatch(name=name, description=description))
    except (ValidationError, ValidationFailed) as exc:
        flash(request, form_error_message(exc), "error")
    else:
        flash(request, _("Question bank saved."))
    return redirect(request, path_for(request, "bank:detail", bank_id=bank_id))


@router.post("/author/question-banks/{bank_id}/archive", name="bank:archive", dependencies=[allow(*AUTHORS)])
def bank_archive(request: Request, db: DbSession, user: CurrentUser, bank_id: Id, archived: Annotated[Line, Form()] = "1") -> Response:
    bank = service.get_bank(db, user, bank_id)
    service.archive_bank(db, user, bank, archived=archived == "1")
    flash(request, _("Question bank archived.") if archived == "1" else _("Question bank restored."))
    return redirect(request, path_for(request, "bank:list") if archived == "1" else path_for(request, "bank:detail", bank_id=bank_id))


@router.get("/author/question-banks/{bank_id}/export", name="bank:export", dependencies=[allow(*AUTHORS)])
def export(db: DbSession, user: CurrentUser, bank_id: Id, format: Line = "xlsx") -> Response:
    bank = service.get_bank(db, user, bank_id)
    if format not in MEDIA_TYPES:
        raise NotFound()
    data = bank_transfer.export_bank(db, user, bank, format).data  # questions needing a fix are left out (the page says which)
    return Response(data, media_type=MEDIA_TYPES[format],
                    headers={"Content-Disposition": f'attachment; filename="question-bank-{bank.id}{EXTENSIONS[format]}"'})


# ---------------------------------------------------------------------------------------------
# The question editor: form ↔ config


class QuestionForm(BaseModel):
    """Every field of the editor; each type reads its own subset (see form_config)."""

    type: Line = ""
    stem: Text = ""
    explanation: Text = ""
    points: Line = "1"
    difficulty: Line = "3"
    tags: Line = ""
    category: Line = ""
    tier: Line = ""
    status: Line = "active"
    clause_ids: list[Id] = Field(default_factory=list)
    expected_version: Line = ""
    opt_id: list[Line] = Field(default_factory=list)
    opt_text: list[Line] = Field(default_factory=list)
    opt_correct: list[Line] = Field(default_factory=list)
    partial_credit: Line = ""
    tf_correct: Line = ""
    blanks: Text = ""
    reference_answer: Text = ""
    rubric: Text = ""
    items: Text = ""
    pairs: Text = ""
    num_value: Line = ""
    num_tolerance: Line = ""
    num_min: Line = ""
    num_max: Line = ""
    unit: Line = ""


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.replace("\r", "").split("\n") if line.strip()]


def _number(text: str, field: str) -> float | None:
    text = text.strip().replace("，", ".").replace("。", ".")
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        raise ValidationFailed(_("%(field)s must be a number.", field=field)) from None


def _ids_by_text(options: list[dict[str, Any]]) -> dict[str, str]:
    return {qt.plain_text(o.get("text", "")): o["id"] for o in options}


def _fresh_id(used: set[str], prefix: str = "") -> str:
    for n in range(1, 200):
        candidate = f"{prefix}{n}" if prefix else (_LETTERS[n - 1] if n <= 26 else f"O{n}")
        if candidate not in used:
            used.add(candidate)
            return candidate
    raise ValidationFailed(_("Too many options."))


def form_config(kind: str, form: QuestionForm, original: dict[str, Any] | None = None) -> dict[str, Any]:
    """The type's config from the editor's fields. What the form does not show (option feedback,
    weights, several numerical answers …) is kept from the original config of the same type."""
    base = dict(original) if original and original.get("type") == kind else {}
    if kind in ("single_choice", "multiple_choice"):
        feedback = {o["id"]: o.get("feedback", "") for o in base.get("options", [])}
        used = {i for i in form.opt_id if i}
        options, correct = [], []
        for index, text in enumerate(form.opt_text):
            if not text.strip():
                continue
            oid = form.opt_id[index] if index < len(form.opt_id) and form.opt_id[index] else _fresh_id(used)
            options.append({"id": oid, "text": text.strip(), "feedback": feedback.get(oid, "")})
            if str(index) in form.opt_correct:
                correct.append(oid)
        config: dict[str, Any] = {**base, "options": options}
        if kind == "single_choice":
            if len(correct) != 1:
                raise ValidationFailed(_("Mark exactly one option as the right answer."))
            config["correct"] = correct[0]
        else:
            if not correct:
                raise ValidationFailed(_("Mark at least one option as right."))
            config["correct"] = correct
            if form.partial_credit in ("none", "proportional", "half"):
                config["partial_credit"] = form.partial_credit
            if config.get("partial_credit") != "weights":
                config.pop("weights", None)
        return config
    if kind == "true_false":
        if form.tf_correct not in ("true", "false"):
            raise ValidationFailed(_("Choose whether the statement is true or false."))
        return {**base, "correct": form.tf_correct == "true"}
    if kind == "fill_blank":
        old = base.get("blanks", [])
        blanks = []
        for index, line in enumerate(_lines(form.blanks)):
            accepted = [a.strip() for a in re.split(r"[|｜]", line) if a.strip()]
            blank: dict[str, Any] = {"accepted": accepted}
            if index < len(old) and old[index].get("accepted") == accepted:
                blank = {**old[index]}
            blanks.append(blank)
        return {**base, "blanks": blanks}
    if kind == "short_answer":
        rubric = []
        for line in _lines(form.rubric):
            criterion, _sep, points = line.rpartition("|")
            value = _number(points, _("Rubric points")) if criterion else None
            rubric.append({"criterion": (criterion if criterion else line).strip(), "points": value or 1})
        return {**base, "reference_answer": form.reference_answer, "rubric": rubric}
    if kind == "ordering":
        known = _ids_by_text(base.get("items", []))
        used = set(known.values())
        items = [{"id": known.get(qt.plain_text(t)) or _fresh_id(used), "text": t} for t in _lines(form.items)]
        config = {**base, "items": items, "correct": [i["id"] for i in items]}
        if form.partial_credit in ("none", "position", "adjacent"):
            config["partial_credit"] = form.partial_credit
        return config
    if kind == "matching":
        lefts, rights = _ids_by_text(base.get("left", [])), _ids_by_text(base.get("right", []))
        used = set(lefts.values()) | set(rights.values())
        left: list[dict[str, str]] = []
        right: list[dict[str, str]] = []
        pairs: dict[str, str] = {}
        for line in _lines(form.pairs):
            a, sep, b = line.partition("=")
            if not sep:
                a, sep, b = line.partition("＝")
            a, b = a.strip(), b.strip()
            if not b:
                raise ValidationFailed(_("Write each pair as “left = right” (“= right” adds a distractor)."))
            rid = next((r["id"] for r in right if r["text"] == b), None)
            if rid is None:
                rid = rights.get(qt.plain_text(b)) or _fresh_id(used, "R")
                right.append({"id": rid, "text": b})
            if a:
                lid = lefts.get(qt.plain_text(a)) or _fresh_id(used, "L")
                left.append({"id": lid, "text": a})
                pairs[lid] = rid
        return {**base, "left": left, "right": right, "pairs": pairs}
    if kind == "numerical":
        value, low, high = _number(form.num_value, _("Answer")), _number(form.num_min, _("Minimum")), _number(form.num_max, _("Maximum"))
        tolerance = _number(form.num_tolerance, _("Tolerance")) or 0.0
        first = {"value": value, "tolerance": tolerance} if value is not None else {"min": low, "max": high}
        others = [a for a in base.get("answers", [])[1:]]
        return {**base, "answers": [first, *others], "unit": form.unit.strip()}
    return {**base}


def form_values(kind: str, config: dict[str, Any]) -> dict[str, Any]:
    """The editor's fields for a stored config (the inverse of form_config)."""
    values: dict[str, Any] = {"options": [], "partial_credit": config.get("partial_credit", "none"), "tf_correct": "",
                              "blanks": "", "reference_answer": "", "rubric": "", "items": "", "pairs": "", "num_value": "",
                              "num_tolerance": "", "num_min": "", "num_max": "", "unit": config.get("unit", "")}
    if kind in ("single_choice", "multiple_choice"):
        right = config.get("correct", [])
        right = [right] if isinstance(right, str) else right
        values["options"] = [{"id": o["id"], "text": o["text"], "correct": o["id"] in right} for o in config.get("options", [])]
    elif kind == "true_false":
        values["tf_correct"] = "true" if config.get("correct") else ("false" if "correct" in config else "")
    elif kind == "fill_blank":
        values["blanks"] = "\n".join("|".join(b["accepted"]) for b in config.get("blanks", []))
    elif kind == "short_answer":
        values["reference_answer"] = config.get("reference_answer", "")
        values["rubric"] = "\n".join(f"{r['criterion']} | {r['points']:g}" for r in config.get("rubric", []))
    elif kind == "ordering":
        by_id = {i["id"]: i["text"] for i in config.get("items", [])}
        values["items"] = "\n".join(by_id[i] for i in config.get("correct", by_id) if i in by_id)
    elif kind == "matching":
        rights = {r["id"]: r["text"] for r in config.get("right", [])}
        paired = set(config.get("pairs", {}).values())
        lines = [f"{left['text']} = {rights.get(config['pairs'].get(left['id'], ''), '')}" for left in config.get("left", [])]
        lines += [f"= {text}" for rid, text in rights.items() if rid not in paired]
        values["pairs"] = "\n".join(lines)
    elif kind == "numerical" and config.get("answers"):
        first = config["answers"][0]
        for key in ("value", "tolerance", "min", "max"):
            if first.get(key) is not None:
                values["num_" + key] = f"{first[key]:g}"
    return values


def _question_in(form: QuestionForm, kind: str, original: dict[str, Any] | None) -> QuestionIn:
    points = _number(form.points, _("Points"))
    return QuestionIn.model_validate({
        "type": kind, "stem": form.stem, "config": form_config(kind, form, original), "points": points if points is not None else 1,
        "difficulty": int(form.difficulty) if form.difficulty.isdigit() else 3, "explanation": form.explanation,
        "tags": [t for t in re.split(r"[,，、;；\s]+", form.tags) if t], "category": form.category,
        "tier": form.tier or None, "clause_ids": form.clause_ids,
        "status": form.status if form.status in QuestionStatus.__members__ else "active"})


def _chosen_clauses(db: DbSession, clause_ids: list[int]) -> list[dict[str, Any]]:
    clauses = standards.clauses_by_id(db, set(clause_ids))
    versions = standards.versions_by_id(db, {c.version_id for c in clauses.values()})
    return [{"clause": clauses[i], "code": versions[clauses[i].version_id].code if clauses[i].version_id in versions else ""}
            for i in clause_ids if i in clauses]


def _editor(request: Request, db: DbSession, bank: QuestionBank, kind: str, values: dict[str, Any], *, row: Any = None,
            error: str = "", problems: list[str] | None = None, status_code: int = 200) -> Response:
    options = values.get("options") or []
    spare = [{"id": "", "text": "", "correct": False}] * max(0, (4 if not options else len(options) + 1) - len(options))
    return render(request, "exams/bank/question.html", _common(
        bank=bank, kind=kind, values=values, row=row, error=error, problems=problems or [], option_rows=options + spare,
        chosen=_chosen_clauses(db, values.get("clause_ids", [])),
        versions=service.versions_of(db, row.question) if row else [],
        citations=service.question_citations(db, row.question.id) if row else []), status_code=status_code)


def _values_from_form(form: QuestionForm) -> dict[str, Any]:
    values = form.model_dump()
    values["options"] = [{"id": form.opt_id[i] if i < len(form.opt_id) else "", "text": t, "correct": str(i) in form.opt_correct}
                         for i, t in enumerate(form.opt_text) if t.strip()]
    return values


@router.get("/author/question-banks/{bank_id}/questions/new", name="bank:question_new", dependencies=[allow(*AUTHORS)])
def question_new(request: Request, db: DbSession, user: CurrentUser, bank_id: Id, type: Line = "single_choice") -> Response:
    bank = service.get_bank(db, user, bank_id)
    if type not in qt.TYPE_NAMES:
        raise NotFound()
    values = {**QuestionForm().model_dump(), **form_values(type, {}), "status": "active"}
    if type == "fill_blank":
        values["stem"] = ""
    return _editor(request, db, bank, type, values)


@router.post("/author/question-banks/{bank_id}/questions", name="bank:question_create", dependencies=[allow(*AUTHORS)])
def question_create(request: Request, db: DbSession, user: CurrentUser, bank_id: Id, form: Annotated[QuestionForm, Form()]) -> Response:
    bank = service.get_bank(db, user, bank_id)
    if form.type not in qt.TYPE_NAMES:
        raise NotFound()
    try:
        with db.begin_nested():
            row = service.create_question(db, user, bank, _question_in(form, form.type, None))
    except (ValidationError, DomainError) as exc:
        return _editor(request, db, bank, form.type, _values_from_form(form), error=form_error_message(exc), status_code=422)
    flash(request, _("Question saved."))
    return redirect(request, path_for(request, "bank:detail", bank_id=bank_id) + f"#question-{row.question.id}")


def _row_in_bank(db: DbSession, user: User, bank_id: int, question_id: int) -> service.QuestionRow:
    return service.get_question(db, user, question_id, bank_id=bank_id)


@router.get("/author/question-banks/{bank_id}/questions/{question_id}", name="bank:question_edit", dependencies=[allow(*AUTHORS)])
def question_edit(request: Request, db: DbSession, user: CurrentUser, bank_id: Id, question_id: Id) -> Response:
    row = _row_in_bank(db, user, bank_id, question_id)
    question, version = row.question, row.version
    values = {**QuestionForm().model_dump(), **form_values(version.type, version.config), "stem": version.stem,
              "explanation": version.explanation, "points": f"{float(version.points):g}", "difficulty": str(version.difficulty),
              "tags": "，".join(question.tags), "category": question.category, "tier": question.tier or "", "status": question.status,
              "clause_ids": list(version.clause_ids), "expected_version": str(question.version_count)}
    return _editor(request, db, service.get_bank(db, user, bank_id), version.type, values, row=row,
                   problems=question_checks.problems(version))


@router.post("/author/question-banks/{bank_id}/questions/{question_id}", name="bank:question_update", dependencies=[allow(*AUTHORS)])
def question_update(request: Request, db: DbSession, user: CurrentUser, bank_id: Id, question_id: Id,
                    form: Annotated[QuestionForm, Form()]) -> Response:
    row = _row_in_bank(db, user, bank_id, question_id)
    bank = service.get_bank(db, user, bank_id)
    kind = row.version.type
    try:
        with db.begin_nested():
            expected = int(form.expected_version) if form.expected_version.isdigit() else None
            saved = service.update_question(db, user, row.question, _question_in(form, kind, row.version.config), expected_version=expected)
    except (ValidationError, DomainError) as exc:
        values = {**_values_from_form(form), "expected_version": form.expected_version}
        return _editor(request, db, bank, kind, values, row=service.get_question(db, user, question_id), error=form_error_message(exc),
                       status_code=409 if getattr(exc, "status_code", 422) == 409 else 422)
    if saved.version.number != row.version.number:
        flash(request, _("Saved as version %(n)s; earlier attempts keep the version they were given.", n=saved.version.number))
    else:
        flash(request, _("Question saved."))
    return redirect(request, path_for(request, "bank:detail", bank_id=bank_id) + f"#question-{question_id}")


@router.post("/author/question-banks/{bank_id}/questions/{question_id}/status", name="bank:question_status",
             dependencies=[allow(*AUTHORS)])
def question_status(request: Request, db: DbSession, user: CurrentUser, bank_id: Id, question_id: Id,
                    status: Annotated[Line, Form()] = "") -> Response:
    row = _row_in_bank(db, user, bank_id, question_id)
    if status not in QuestionStatus.__members__:
        raise NotFound()
    service.set_status(db, user, row.question, status)
    flash(request, _("Status set to %(status)s.", status=status_label(status)))
    return redirect(request, path_for(request, "bank:detail", bank_id=bank_id) + f"#question-{question_id}")


# ---------------------------------------------------------------------------------------------
# Import: upload → preview → confirm


def _stash_dir() -> Path:
    path = get_settings().data_dir / "tmp" / "question-imports"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _stash(user: User, data: bytes) -> str:
    """Keep an uploaded file between preview and confirm (a day at most), named for its uploader."""
    folder = _stash_dir()
    cutoff = time.time() - STASH_MAX_AGE_S
    for old in folder.iterdir():
        with contextlib.suppress(OSError):
            if old.stat().st_mtime < cutoff:
                old.unlink()
    token = secrets.token_urlsafe(16)
    (folder / f"{user.id}-{token}").write_bytes(data)
    return token


def _unstash(user: User, token: str, *, remove: bool = False) -> bytes:
    if not re.fullmatch(r"[A-Za-z0-9_-]{16,64}", token):
        raise NotFound()
    path = _stash_dir() / f"{user.id}-{token}"
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ValidationFailed(_("The uploaded file has expired. Upload it again.")) from None
    if remove:
        path.unlink(missing_ok=True)
    return data


@router.get("/author/question-banks/{bank_id}/import", name="bank:import", dependencies=[allow(*AUTHORS)])
def import_page(request: Request, db: DbSession, user: CurrentUser, bank_id: Id) -> Response:
    bank = service.get_bank(db, user, bank_id)
    return render(request, "exams/bank/import.html", _common(bank=bank, formats=FORMATS, outcome=None, fmt="", token="", filename=""))


@router.post("/author/question-banks/{bank_id}/import", name="bank:import_preview",
             dependencies=[allow(*AUTHORS), body_limit(IMPORT_BODY_LIMIT)])
def import_preview(request: Request, db: DbSession, user: CurrentUser, bank_id: Id, file: Annotated[UploadFile, File()],
                   format: Annotated[Line, Form()] = "") -> Response:
    bank = service.get_bank(db, user, bank_id)
    data = file.file.read(MAX_FILE_BYTES + 1)
    filename = (file.filename or "")[:200]
    fmt = format if format in FORMATS else (guess_format(filename, data) or "")
    context = _common(bank=bank, formats=FORMATS, fmt=fmt, filename=filename, token="", outcome=None)
    if not data:
        context["error"] = _("Choose a file to import.")
        return render(request, "exams/bank/import.html", context, status_code=422)
    if not fmt:
        context["error"] = _("The format of this file cannot be told from its name. Choose it in the list.")
        return render(request, "exams/bank/import.html", context, status_code=422)
    outcome = bank_transfer.import_file(db, user, bank, data, fmt, dry_run=True, filename=filename)
    context["outcome"] = outcome
    if outcome.ok:
        context["token"] = _stash(user, data)
    return render(request, "exams/bank/import.html", context, status_code=200 if outcome.ok else 422)


@router.post("/author/question-banks/{bank_id}/import/confirm", name="bank:import_confirm", dependencies=[allow(*AUTHORS)])
def import_confirm(request: Request, db: DbSession, user: CurrentUser, bank_id: Id, token: Annotated[Line, Form()] = "",
                   format: Annotated[Line, Form()] = "", filename: Annotated[Line, Form()] = "",
                   skip_duplicates: Annotated[Line, Form()] = "") -> Response:
    bank = service.get_bank(db, user, bank_id)
    if format not in FORMATS:
        raise NotFound()
    try:
        data = _unstash(user, token)
    except ValidationFailed as exc:
        flash(request, exc.translated_detail(), "error")
        return redirect(request, path_for(request, "bank:import", bank_id=bank_id))
    outcome = bank_transfer.import_file(db, user, bank, data, format, filename=filename[:200], skip_duplicates=skip_duplicates == "1")
    if not outcome.ok:  # the bank or the standards changed since the preview
        return render(request, "exams/bank/import.html", _common(bank=bank, formats=FORMATS, fmt=format, filename=filename, token="",
                                                                 outcome=outcome), status_code=422)
    _unstash(user, token, remove=True)
    if outcome.job is not None:
        return redirect(request, path_for(request, "bank:import_job", bank_id=bank_id, job_id=outcome.job.id))
    flash(request, _("Imported %(n)s questions.", n=outcome.created))
    return redirect(request, path_for(request, "bank:detail", bank_id=bank_id))


@router.get("/author/question-banks/{bank_id}/import/jobs/{job_id}", name="bank:import_job", dependencies=[allow(*AUTHORS)])
def import_job(request: Request, db: DbSession, user: CurrentUser, bank_id: Id, job_id: Id) -> Response:
    bank = service.get_bank(db, user, bank_id)
    view = bank_jobs.get_import_job(db, user, bank, job_id)
    return render(request, "exams/bank/import_job.html", _common(bank=bank, view=view), block="progress")
