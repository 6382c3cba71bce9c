"""Question banks on the database: banks, questions and their versions, citations of standard clauses,
search, import (all or nothing, big files through a job) and export.

Who sees what (as app/courses scopes authoring): an instructor owns the banks they create;
administrators see and edit every bank; a district administrator the banks whose owner belongs to
their org-unit subtree. Anybody else's bank reads as 404.

Versions. A question's content (type, stem, config, points, difficulty, explanation, cited clauses)
lives in `QuestionVersion` rows that are never updated: a content edit inserts version n+1 and moves
`Question.current_version_id`, so an attempt that drew version n keeps grading against it. Tags,
category, tier and status are the question's own (they steer search and blueprint draws, not grading)
and change in place. Saving the same content again writes no version.

Citations. Every cited clause is a `standards` Citation (target type `exam_question`, owner = the bank's
owner, a link to the question's edit page), so revising or abolishing the standard puts the question on
its owner's review worklist. The citations follow the current version.

Import. `import_file` parses (app/exams/importers), resolves "DB3204/T 1001—2021 5.2.1" references
against the standards library (an unknown one is that item's error), flags duplicates against the bank
(warnings; `skip_duplicates` leaves them out) and stores nothing unless the whole file is clean. Files
with more than SYNC_IMPORT_MAX questions go to the `exams.import_questions` job (bank_jobs.py), which runs
the same function again inside the worker's transaction. Images embedded in imported files are not
stored (the media layer processes uploads through its own job and guards who may view them; a question
image needs both wired for exam takers): they are dropped with a warning naming the file, and `<img>`
tags pointing at them are removed from the stem.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from pydantic import ValidationError
from sqlmodel import Session, col, func, select

from app.accounts import permissions as account_permissions
from app.accounts.models import OrgUnit, Role, User
from app.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from app.core.i18n import gettext as _
from app.core.jobs import Job, enqueue
from app.core.models import utcnow
from app.exams import question_types as qt
from app.exams.bank_schemas import BankIn, BankPatch, QuestionIn, QuestionPatch
from app.exams.drafts import QuestionDraft, SourceRef, build_draft, split_clause_ref
from app.exams.exporters import EXPORTERS
from app.exams.importers import ImportIssue, find_duplicates, parse_import
from app.exams.models import Question, QuestionBank, QuestionStatus, QuestionVersion
from app.standards import citations
from app.standards import service as standards
from app.standards.models import Citation, Clause, Standard, StandardVersion

CITATION_TARGET = "exam_question"
SYNC_IMPORT_MAX = 200
IMPORT_JOB = "exams.import_questions"
AUTHOR_ROLES = (Role.instructor, Role.admin, Role.district_admin)
Progress = Callable[[int, str], None]

# ---------------------------------------------------------------------------------------------
# Who may do what


def can_author(user: User) -> bool:
    return user.has_role(*AUTHOR_ROLES)


def can_manage(user: User, bank: QuestionBank, owner: User | None) -> bool:
    """Administrators every bank; the owner (an instructor) theirs; a district administrator those of
    owners in their subtree."""
    if user.has_role(Role.admin):
        return True
    if bank.owner_id == user.id and can_author(user):
        return True
    return (user.has_role(Role.district_admin) and owner is not None
            and account_permissions.unit_in_scope(user, owner.org_unit))


def _require_author(user: User) -> None:
    if not can_author(user):
        raise PermissionDenied(_("Only instructors and administrators manage question banks."))


# ---------------------------------------------------------------------------------------------
# Banks


def create_bank(session: Session, actor: User, data: BankIn, *, now: datetime | None = None) -> QuestionBank:
    _require_author(actor)
    now = now or utcnow()
    bank = QuestionBank(name=data.name, description=data.description, owner_id=actor.id or 0,
                        org_unit_id=actor.org_unit_id, created_at=now, updated_at=now)
    session.add(bank)
    session.flush()
    return bank


def _visible_banks(actor: User) -> Any:
    stmt = select(QuestionBank).join(User, col(User.id) == QuestionBank.owner_id).join(OrgUnit, col(OrgUnit.id) == User.org_unit_id)
    if actor.has_role(Role.admin):
        return stmt
    visible: list[Any] = [col(QuestionBank.owner_id) == actor.id]
    prefix = account_permissions.scope_path(actor)
    if actor.has_role(Role.district_admin) and prefix is not None:
        visible.append(col(OrgUnit.path).startswith(prefix, autoescape=True))
    return stmt.where(sa.or_(*visible))


def list_banks(session: Session, actor: User, *, q: str = "", archived: bool = False, limit: int = 50,
               offset: int = 0) -> tuple[list[QuestionBank], int]:
    """The banks the actor may manage, newest change first (archived ones only when asked)."""
    _require_author(actor)
    stmt = _visible_banks(actor)
    stmt = stmt.where(col(QuestionBank.archived_at).is_not(None) if archived else col(QuestionBank.archived_at).is_(None))
    if q.strip():
        stmt = stmt.where(col(QuestionBank.name).contains(q.strip(), autoescape=True))
    total = session.exec(select(func.count()).select_from(stmt.subquery())).one()
    rows = session.exec(stmt.order_by(col(QuestionBank.updated_at).desc(), col(QuestionBank.id).desc()).limit(limit).offset(offset)).all()
    return list(rows), int(total)


def get_bank(session: Session, actor: User, bank_id: int) -> QuestionBank:
    """A bank the actor may manage; anything else (missing or someone else's) is NotFound."""
    _require_author(actor)
    bank = session.get(QuestionBank, bank_id)
    if bank is None or not can_manage(actor, bank, session.get(User, bank.owner_id)):
        raise NotFound(_("No such question bank."))
    return bank


def _require_open(bank: QuestionBank) -> None:
    if bank.archived_at is not None:
        raise Conflict(_("The question bank has been archived."))


def update_bank(session: Session, actor: User, bank: QuestionBank, data: BankPatch, *, now: datetime | None = None) -> QuestionBank:
    get_bank(session, actor, bank.id or 0)
    renamed = data.name is not None and data.name != bank.name
    for key, value in data.model_dump(exclude_unset=True, exclude_none=True).items():
        setattr(bank, key, value)
    bank.updated_at = now or utcnow()
    session.add(bank)
    session.flush()
    if renamed:
        _relabel_citations(session, bank)
    return bank


def _relabel_citations(session: Session, bank: QuestionBank) -> None:
    """Keep the review worklist's names in step after a bank is renamed."""
    rows = session.exec(select(Question.id, QuestionVersion.stem)
                        .join(QuestionVersion, col(QuestionVersion.id) == Question.current_version_id)
                        .where(Question.bank_id == bank.id)).all()
    stems = {str(question_id): stem for question_id, stem in rows}
    if not stems:
        return
    for citation in session.exec(select(Citation).where(Citation.target_type == CITATION_TARGET,
                                                        col(Citation.target_id).in_(list(stems)))).all():
        citation.label = _label(bank, stems[citation.target_id])[:300]
        session.add(citation)
    session.flush()


def archive_bank(session: Session, actor: User, bank: QuestionBank, *, archived: bool = True,
                 now: datetime | None = None) -> QuestionBank:
    """Archive (or restore) a bank. Its questions stay: papers and attempts keep pointing at them."""
    get_bank(session, actor, bank.id or 0)
    bank.archived_at = (now or utcnow()) if archived else None
    bank.updated_at = now or utcnow()
    session.add(bank)
    session.flush()
    return bank


def question_counts(session: Session, bank_ids: set[int]) -> dict[int, int]:
    if not bank_ids:
        return {}
    rows = session.exec(select(Question.bank_id, func.count()).where(col(Question.bank_id).in_(bank_ids))
                        .group_by(col(Question.bank_id))).all()
    return {int(b): int(n) for b, n in rows}


def users_by_id(session: Session, ids: set[int]) -> dict[int, User]:
    return standards.users_by_id(session, ids)


# ---------------------------------------------------------------------------------------------
# Questions


@dataclass
class QuestionRow:
    """A question with its current version (what lists, the editor and the API show)."""

    question: Question
    version: QuestionVersion

    @property
    def config(self) -> qt.QuestionConfig:
        return qt.parse_config(self.version.config)


def question_url(question: Question) -> str:
    """Where the review worklist sends the owner: the question's edit page."""
    return f"/author/question-banks/{question.bank_id}/questions/{question.id}"


def _label(bank: QuestionBank, stem: str) -> str:
    text = qt.plain_text(stem)
    return f"{bank.name} · {text[:80]}{'…' if len(text) > 80 else ''}"


def get_question(session: Session, actor: User, question_id: int) -> QuestionRow:
    question = session.get(Question, question_id)
    if question is None:
        raise NotFound(_("No such question."))
    get_bank(session, actor, question.bank_id)
    return QuestionRow(question, current_version(session, question))


def current_version(session: Session, question: Question) -> QuestionVersion:
    version = session.get(QuestionVersion, question.current_version_id) if question.current_version_id else None
    if version is None:
        raise NotFound(_("No such question."))
    return version


def versions_of(session: Session, question: Question) -> list[QuestionVersion]:
    return list(session.exec(select(QuestionVersion).where(QuestionVersion.question_id == question.id)
                             .order_by(col(QuestionVersion.number).desc())).all())


def _draft_of(data: QuestionIn) -> QuestionDraft:
    """Validate the content the way an import does (sanitised HTML, the type's config, blanks vs ____)."""
    draft, problems = build_draft(type=data.type, stem=data.stem, config=data.config, points=data.points,
                                  difficulty=data.difficulty, explanation=data.explanation, tags=data.tags,
                                  category=data.category, external_id=data.external_id)
    if draft is None:
        raise ValidationFailed("；".join(problems), errors=[{"loc": ["body"], "msg": p} for p in problems])
    return draft


def _check_clauses(session: Session, actor: User, clause_ids: Sequence[int]) -> dict[int, Clause]:
    found = standards.clauses_by_id(session, set(clause_ids))
    missing = [i for i in clause_ids if i not in found]
    if missing:
        raise ValidationFailed(_("The cited clause does not exist."),
                               errors=[{"loc": ["body", "clause_ids"], "msg": f"unknown clause {i}"} for i in missing])
    for clause_id in clause_ids:
        standards.get_clause(session, actor, clause_id)  # visibility follows the version
    return found


def _new_version(session: Session, actor: User | None, question: Question, draft: QuestionDraft, clause_ids: list[int],
                 now: datetime) -> QuestionVersion:
    question.version_count += 1
    version = QuestionVersion(question_id=question.id or 0, number=question.version_count, type=draft.type, stem=draft.stem,
                              config=qt.dump_config(draft.config), points=Decimal(str(draft.points)), difficulty=draft.difficulty,
                              explanation=draft.explanation, clause_ids=list(clause_ids), created_at=now,
                              created_by_id=actor.id if actor else None)
    session.add(version)
    session.flush()
    question.current_version_id = version.id
    question.type, question.difficulty, question.fingerprint = draft.type, draft.difficulty, draft.fingerprint
    question.updated_at = now
    session.add(question)
    session.flush()
    return version


def _sync_citations(session: Session, bank: QuestionBank, question: Question, stem: str, clauses: dict[int, Clause],
                    old_ids: Sequence[int], new_ids: Sequence[int], owner: User | None) -> None:
    for clause_id in new_ids:
        citations.cite(session, clauses[clause_id], target_type=CITATION_TARGET, target_id=question.id or 0, owner=owner,
                       label=_label(bank, stem), url=question_url(question))
    gone = set(old_ids) - set(new_ids)
    for old in standards.clauses_by_id(session, gone).values():
        citations.uncite(session, old, target_type=CITATION_TARGET, target_id=question.id or 0)


def create_question(session: Session, actor: User, bank: QuestionBank, data: QuestionIn, *,
                    now: datetime | None = None) -> QuestionRow:
    get_bank(session, actor, bank.id or 0)
    _require_open(bank)
    draft = _draft_of(data)
    clauses = _check_clauses(session, actor, data.clause_ids)
    return _insert(session, actor, bank, draft, data.clause_ids, clauses, status=data.status.value, tier=data.tier,
                   owner=session.get(User, bank.owner_id), now=now or utcnow())


def _insert(session: Session, actor: User | None, bank: QuestionBank, draft: QuestionDraft, clause_ids: list[int],
            clauses: dict[int, Clause], *, status: str, tier: str | None, owner: User | None, now: datetime) -> QuestionRow:
    question = Question(bank_id=bank.id or 0, type=draft.type, difficulty=draft.difficulty, tier=tier, category=draft.category,
                        tags=list(draft.tags), status=status, fingerprint=draft.fingerprint, external_id=draft.external_id[:200],
                        created_by_id=actor.id if actor else None, created_at=now, updated_at=now)
    session.add(question)
    session.flush()
    version = _new_version(session, actor, question, draft, clause_ids, now)
    _sync_citations(session, bank, question, draft.stem, clauses, [], clause_ids, owner)
    return QuestionRow(question, version)


def _lock(session: Session, question: Question) -> Question:
    """Row lock (PostgreSQL) so two editors number their versions one after the other; SQLite's write
    transactions are serialised by BEGIN IMMEDIATE already."""
    locked = session.exec(select(Question).where(Question.id == question.id).with_for_update()
                          .execution_options(populate_existing=True)).one()
    return locked


def update_question(session: Session, actor: User, question: Question, data: QuestionIn | QuestionPatch, *,
                    expected_version: int | None = None, now: datetime | None = None) -> QuestionRow:
    """Change a question. Content changes write a new version (past versions stay as they were);
    tags, category, tier and status change in place. `expected_version` (the version the editor
    showed) turns a concurrent edit into a Conflict instead of silently overwriting it."""
    bank = get_bank(session, actor, question.bank_id)
    _require_open(bank)
    question = _lock(session, question)
    if expected_version is not None and expected_version != question.version_count:
        raise Conflict(_("Someone saved this question meanwhile (now version %(n)s). Reload it and make your change again.",
                         n=question.version_count))
    now = now or utcnow()
    current = current_version(session, question)
    merged = QuestionIn(type=current.type, stem=current.stem, config=current.config, points=float(current.points),
                        difficulty=current.difficulty, explanation=current.explanation, tags=list(question.tags),
                        category=question.category, tier=question.tier, clause_ids=list(current.clause_ids),  # type: ignore[arg-type]
                        status=QuestionStatus(question.status), external_id=question.external_id)
    changes = data.model_dump(exclude_unset=True)
    if isinstance(data, QuestionPatch):
        changes = {k: v for k, v in changes.items() if v is not None or k == "tier"}
    merged = merged.model_copy(update=changes)
    try:
        merged = QuestionIn.model_validate(merged.model_dump())
    except ValidationError as exc:
        raise ValidationFailed(errors=[{"loc": ["body", *e["loc"]], "msg": e["msg"]} for e in exc.errors()]) from exc
    draft = _draft_of(merged)
    clauses = _check_clauses(session, actor, merged.clause_ids)
    new_config = qt.dump_config(draft.config)
    content_changed = (draft.type != current.type or draft.stem != current.stem or new_config != current.config
                       or Decimal(str(draft.points)) != Decimal(current.points) or draft.difficulty != current.difficulty
                       or draft.explanation != current.explanation or list(merged.clause_ids) != list(current.clause_ids))
    question.tags, question.category, question.tier = list(draft.tags), draft.category, merged.tier
    question.status = merged.status.value
    question.updated_at = now
    session.add(question)
    version = current
    if content_changed:
        version = _new_version(session, actor, question, draft, merged.clause_ids, now)
    session.flush()
    _sync_citations(session, bank, question, draft.stem, clauses, current.clause_ids, merged.clause_ids,
                    session.get(User, bank.owner_id))
    return QuestionRow(question, version)


def set_status(session: Session, actor: User, question: Question, status: QuestionStatus | str, *,
               now: datetime | None = None) -> QuestionRow:
    return update_question(session, actor, question, QuestionPatch(status=QuestionStatus(status)), now=now)


def question_citations(session: Session, question_id: int) -> list[Citation]:
    return citations.citations_for(session, CITATION_TARGET, question_id)


# ---------------------------------------------------------------------------------------------
# Search


@dataclass
class QuestionFilter:
    type: str | None = None
    tag: str | None = None
    difficulty: int | None = None
    status: str | None = None
    q: str | None = None
    category: str | None = None
    clause_id: int | None = None


def _json_contains(column: Any, value: Any) -> Any:
    """A JSON list column holding `value`, on SQLite and PostgreSQL alike: match the serialised text
    (ASCII-escaped, as SQLAlchemy writes it, or not, as other writers may)."""
    text = sa.cast(column, sa.Text)
    forms = {json.dumps(value), json.dumps(value, ensure_ascii=False)}
    patterns: list[Any] = []
    for form in forms:
        patterns += [text.contains(f"[{form}]", autoescape=True), text.contains(f"[{form},", autoescape=True),
                     text.contains(f", {form},", autoescape=True), text.contains(f", {form}]", autoescape=True),
                     text.contains(f",{form},", autoescape=True), text.contains(f",{form}]", autoescape=True)]
    return sa.or_(*patterns)


def search_questions(session: Session, actor: User, bank: QuestionBank, flt: QuestionFilter | None = None, *,
                     limit: int = 50, offset: int = 0) -> tuple[list[QuestionRow], int]:
    """Questions of a bank with their current versions, newest first, filtered by type, tag,
    difficulty, status, category (prefix), cited clause and text of the stem."""
    get_bank(session, actor, bank.id or 0)
    flt = flt or QuestionFilter()
    stmt = (select(Question, QuestionVersion).join(QuestionVersion, col(QuestionVersion.id) == Question.current_version_id)
            .where(Question.bank_id == bank.id))
    if flt.type:
        stmt = stmt.where(Question.type == flt.type)
    if flt.status:
        stmt = stmt.where(Question.status == flt.status)
    if flt.difficulty:
        stmt = stmt.where(Question.difficulty == flt.difficulty)
    if flt.tag:
        stmt = stmt.where(_json_contains(Question.tags, flt.tag.strip()))
    if flt.category:
        stmt = stmt.where(col(Question.category).startswith(flt.category.strip(), autoescape=True))
    if flt.clause_id:
        stmt = stmt.where(_json_contains(QuestionVersion.clause_ids, flt.clause_id))
    if flt.q and flt.q.strip():
        stmt = stmt.where(col(QuestionVersion.stem).contains(flt.q.strip(), autoescape=True))
    total = session.exec(select(func.count()).select_from(stmt.subquery())).one()
    rows = session.exec(stmt.order_by(col(Question.id).desc()).limit(limit).offset(offset)).all()
    return [QuestionRow(q, v) for q, v in rows], int(total)


def bank_tags(session: Session, bank: QuestionBank) -> list[str]:
    """Every tag used in the bank (for the filter's suggestions)."""
    tags: set[str] = set()
    for row in session.exec(select(Question.tags).where(Question.bank_id == bank.id)).all():
        tags.update(row or [])
    return sorted(tags)


def question_for_display(version: QuestionVersion) -> dict[str, Any]:
    """What any page or API may show of a version without its key: type, stem and the choices
    (options for choice and ordering questions, prompts and options for matching)."""
    config = qt.parse_config(version.config)
    view = qt.student_view(config)
    return {"type": version.type, "stem": version.stem, "options": view.get("options", []), **view}


# ---------------------------------------------------------------------------------------------
# Clause references ("DB3204/T 1001—2021 5.2.1")

_DASHES = re.compile(r"[-‐‑‒–—―－~～]")


def _norm_code(code: str) -> str:
    return _DASHES.sub("—", "".join(code.replace("／", "/").split())).upper()


def resolve_clause_refs(session: Session, refs: Sequence[str]) -> dict[str, Clause]:
    """Clause reference → clause. The code names an edition (a version's code) or a standard (its
    current edition); the number a clause of that edition. Unknown references are left out."""
    wanted: dict[str, tuple[str, str]] = {}
    for ref in refs:
        try:
            code, number = split_clause_ref(ref)
        except qt.ConfigError:
            continue
        wanted[ref] = (_norm_code(code), number)
    if not wanted:
        return {}
    codes = {c for c, _n in wanted.values()}
    by_code: dict[str, int] = {}
    current_rank = {"in_force": 0, "under_revision": 1, "superseded": 2, "abolished": 3, "draft": 4}
    versions = session.exec(select(StandardVersion.id, StandardVersion.code, StandardVersion.status, Standard.code)
                            .join(Standard, col(Standard.id) == StandardVersion.standard_id)).all()
    ranked = sorted(versions, key=lambda v: current_rank.get(v[2], 9))
    for version_id, version_code, _status, _std in ranked:  # an edition's own code first …
        if (key := _norm_code(version_code)) in codes:
            by_code.setdefault(key, version_id or 0)
    for version_id, _code, status, std_code in ranked:  # … then a standard's code for its current edition
        if (key := _norm_code(std_code)) in codes and status in ("in_force", "under_revision"):
            by_code.setdefault(key, version_id or 0)
    version_ids = set(by_code.values())
    numbers = {n for _c, n in wanted.values()}
    clauses = {(c.version_id, c.number): c for c in session.exec(select(Clause).where(
        col(Clause.version_id).in_(version_ids), col(Clause.number).in_(numbers))).all()} if version_ids else {}
    found: dict[str, Clause] = {}
    for ref, (code, number) in wanted.items():
        clause = clauses.get((by_code.get(code, -1), number))
        if clause is not None:
            found[ref] = clause
    return found


def clause_refs(session: Session, clause_ids: Sequence[int]) -> dict[int, str]:
    """Clause id → "<edition code> <number>" (exports, the editor)."""
    clauses = standards.clauses_by_id(session, set(clause_ids))
    versions = {v.id: v for v in session.exec(select(StandardVersion).where(
        col(StandardVersion.id).in_({c.version_id for c in clauses.values()}))).all()} if clauses else {}
    return {cid: f"{versions[c.version_id].code} {c.number}" for cid, c in clauses.items() if c.version_id in versions}


# ---------------------------------------------------------------------------------------------
# Import

_IMG = re.compile(r"<img\b[^>]*>", re.IGNORECASE)
_SRC = re.compile(r"""\bsrc\s*=\s*["']([^"']*)["']""", re.IGNORECASE)


def _without_local_images(html: str) -> str:
    """Drop <img> tags that point into the imported file (relative names, @@PLUGINFILE@@)."""
    def keep(match: re.Match[str]) -> str:
        src = _SRC.search(match.group(0))
        url = src.group(1) if src else ""
        return match.group(0) if url.startswith(("http://", "https://", "/")) else ""
    return _IMG.sub(keep, html)


@dataclass
class ImportOutcome:
    """What an import found and did. `errors` non-empty ⇒ nothing was stored."""

    format: str
    drafts: list[QuestionDraft] = field(default_factory=list)
    errors: list[ImportIssue] = field(default_factory=list)
    warnings: list[ImportIssue] = field(default_factory=list)
    duplicates: dict[int, str] = field(default_factory=dict)  # draft index → "bank" | "file"
    skipped: set[int] = field(default_factory=set)
    created: int = 0  # stored (or, for a dry run, that would be)
    question_ids: list[int] = field(default_factory=list)
    job: Job | None = None
    dry_run: bool = False

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def kept(self) -> list[QuestionDraft]:
        return [d for i, d in enumerate(self.drafts) if i not in self.skipped]

    def warnings_for(self, draft: QuestionDraft) -> list[str]:
        loc = draft.source.loc
        return [w.msg for w in self.warnings if w.loc == loc and loc != ""]

    def errors_as_api(self) -> list[dict[str, Any]]:
        return [e.as_error() for e in self.errors]


def _report(progress: Progress | None, percent: int, message: str) -> None:
    if progress is not None:
        progress(percent, message)


def import_file(session: Session, actor: User, bank: QuestionBank, data: bytes, fmt: str, *, dry_run: bool = False,
                filename: str = "", skip_duplicates: bool = False, status: str = QuestionStatus.active.value,
                background: bool = True, progress: Progress | None = None, now: datetime | None = None) -> ImportOutcome:
    """Parse, check and (unless dry_run or any error) store a file's questions, all or nothing.

    With `background` and more than SYNC_IMPORT_MAX questions to store, a job is queued instead (in
    the caller's transaction) and `outcome.job` is set; the job calls this again without `background`."""
    get_bank(session, actor, bank.id or 0)
    _require_open(bank)
    now = now or utcnow()
    parsed = parse_import(data, fmt, filename=filename)
    outcome = ImportOutcome(parsed.format, drafts=list(parsed.drafts), errors=list(parsed.errors),
                            warnings=list(parsed.warnings), dry_run=dry_run)
    _report(progress, 10, _("Read %(n)s questions", n=len(outcome.drafts)))
    refs = [r for d in outcome.drafts for r in d.clauses]
    resolved = resolve_clause_refs(session, refs)
    for draft in outcome.drafts:
        for ref in draft.clauses:
            if ref not in resolved:
                outcome.errors.append(ImportIssue(draft.source.loc, _("The standard clause %(ref)s is not in the standards library.",
                                                                      ref=ref)))
        if draft.attachments:
            names = "、".join(a.name for a in draft.attachments)
            outcome.warnings.append(ImportIssue(draft.source.loc, _("Embedded images are not imported: %(names)s.", names=names)))
    existing = session.exec(select(Question.fingerprint).where(Question.bank_id == bank.id)).all()
    outcome.duplicates = find_duplicates(outcome.drafts, existing)
    for index, where in sorted(outcome.duplicates.items()):
        loc = outcome.drafts[index].source.loc
        outcome.warnings.append(ImportIssue(loc, _("The same question is already in this bank.") if where == "bank"
                                            else _("The same question appears earlier in this file.")))
        if skip_duplicates:
            outcome.skipped.add(index)
    if not outcome.drafts and not outcome.errors:
        outcome.errors.append(ImportIssue("", _("The file contains no questions.")))
    if outcome.errors:
        return outcome
    kept = outcome.kept
    outcome.created = len(kept)
    if dry_run:
        return outcome
    if background and len(kept) > SYNC_IMPORT_MAX:
        outcome.created = 0
        outcome.job = enqueue(session, IMPORT_JOB, {
            "bank_id": bank.id, "actor_id": actor.id, "format": fmt, "filename": filename[:200], "count": len(kept),
            "skip_duplicates": skip_duplicates, "status": status, "data": base64.b64encode(data).decode("ascii")},
            created_by_id=actor.id, now=now)
        return outcome
    owner = session.get(User, bank.owner_id)
    clause_by_id = {c.id or 0: c for c in resolved.values()}
    for number, draft in enumerate(kept, start=1):
        if draft.attachments:
            draft = draft.model_copy(update={"stem": _without_local_images(draft.stem) or draft.stem,
                                             "explanation": _without_local_images(draft.explanation), "attachments": []})
        clause_ids = list(dict.fromkeys(resolved[r].id or 0 for r in draft.clauses))
        row = _insert(session, actor, bank, draft, clause_ids, clause_by_id, status=status, tier=None, owner=owner, now=now)
        outcome.question_ids.append(row.question.id or 0)
        if number % 50 == 0:
            _report(progress, 10 + int(85 * number / len(kept)), _("Stored %(i)s of %(n)s questions", i=number, n=len(kept)))
    bank.updated_at = now
    session.add(bank)
    session.flush()
    return outcome


# ---------------------------------------------------------------------------------------------
# Export


def draft_of(row: QuestionRow, refs: dict[int, str]) -> QuestionDraft:
    """A stored question as the exporters (and the importers) see it."""
    version, question = row.version, row.question
    return QuestionDraft(type=version.type, stem=version.stem, config=qt.parse_config(version.config), points=float(version.points),
                         difficulty=version.difficulty, explanation=version.explanation, tags=list(question.tags),
                         category=question.category, clauses=[refs[c] for c in version.clause_ids if c in refs],
                         external_id=question.external_id[:100] or f"q{question.id}", source=SourceRef(item=str(question.id)))


def export_bank(session: Session, actor: User, bank: QuestionBank, fmt: str, *, flt: QuestionFilter | None = None) -> bytes:
    """The bank's questions (retired ones left out unless the filter asks for them) as an xlsx,
    moodle-xml or qti file."""
    if fmt not in EXPORTERS:
        raise ValidationFailed(_("Unknown export format %(format)s.", format=fmt), errors=[{"loc": ["query", "format"], "msg": fmt}])
    rows, _total = search_questions(session, actor, bank, flt, limit=100_000)
    if not (flt and flt.status):
        rows = [r for r in rows if r.question.status != QuestionStatus.retired.value]
    rows.reverse()  # oldest first, as they were written
    refs = clause_refs(session, [c for r in rows for c in r.version.clause_ids])
    return EXPORTERS[fmt]([draft_of(r, refs) for r in rows])
