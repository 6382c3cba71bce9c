"""Question banks on the database: banks, questions and their versions, citations of standard clauses,
and search (bank_transfer.py has import and export).

Who sees what: exams.permissions.BANK (an instructor owns the banks they create; administrators see
and edit every bank; a district administrator the banks whose owner belongs to their org-unit subtree;
anybody else's bank reads as 404) and QUESTION (a question follows its bank).

Versions. A question's content (type, stem, config, points, difficulty, explanation, cited clauses)
lives in `QuestionVersion` rows that are never updated: a content edit inserts version n+1 and moves
`Question.current_version_id`, so an attempt that drew version n keeps grading against it. Tags,
category, tier and status are the question's own (they steer search and blueprint draws, not grading)
and change in place. Saving the same content again writes no version.

Citations. Every cited clause is a `standards` Citation (target type `exam_question`, owner = the bank's
owner, a link to the question's edit page), so revising or abolishing the standard puts the question on
its owner's review worklist. The citations follow the current version.

Import and export are in bank_transfer.py.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from pydantic import ValidationError
from sqlmodel import Session, col, func, select

from app.accounts.models import User
from app.accounts.scope import CHANGE, READ, related
from app.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from app.core.i18n import gettext as _
from app.core.models import utcnow
from app.exams import question_types as qt
from app.exams.bank_schemas import BankIn, BankPatch, QuestionIn, QuestionPatch
from app.exams.drafts import QuestionDraft, build_draft
from app.exams.models import Question, QuestionBank, QuestionStatus, QuestionVersion
from app.exams.permissions import BANK, QUESTION, can_author
from app.standards import citations
from app.standards import service as standards
from app.standards.models import Citation, Clause
from app.standards.permissions import CLAUSE

CITATION_TARGET = "exam_question"
SYNC_IMPORT_MAX = 200
IMPORT_JOB = "exams.import_questions"

# ---------------------------------------------------------------------------------------------
# Who may do what: exams.permissions.BANK and QUESTION


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


def list_banks(session: Session, actor: User, *, q: str = "", archived: bool = False, limit: int = 50,
               offset: int = 0) -> tuple[list[QuestionBank], int]:
    """The banks the actor may manage, newest change first (archived ones only when asked)."""
    _require_author(actor)
    stmt = BANK.select(actor, READ)
    stmt = stmt.where(col(QuestionBank.archived_at).is_not(None) if archived else col(QuestionBank.archived_at).is_(None))
    if q.strip():
        stmt = stmt.where(col(QuestionBank.name).contains(q.strip(), autoescape=True))
    total = session.exec(select(func.count()).select_from(stmt.subquery())).one()
    rows = session.exec(stmt.order_by(col(QuestionBank.updated_at).desc(), col(QuestionBank.id).desc()).limit(limit).offset(offset)).all()
    return list(rows), int(total)


def get_bank(session: Session, actor: User, bank_id: int, action: str = READ) -> QuestionBank:
    """A bank the actor may `action` (BANK policy); anything else (missing or someone else's) is NotFound."""
    _require_author(actor)
    return BANK.get(session, actor, bank_id, action)


def require_open(bank: QuestionBank) -> None:
    if bank.archived_at is not None:
        raise Conflict(_("The question bank has been archived."))


def update_bank(session: Session, actor: User, bank: QuestionBank, data: BankPatch, *, now: datetime | None = None) -> QuestionBank:
    BANK.require(session, actor, bank, CHANGE)
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
    BANK.require(session, actor, bank, CHANGE)
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


def get_question(session: Session, actor: User, question_id: int, action: str = READ, *, bank_id: int | None = None) -> QuestionRow:
    """A question the actor may `action` (QUESTION policy: it follows its bank), with its current version;
    with `bank_id`, only a question of that bank (a page's URL names both)."""
    _require_author(actor)
    question = QUESTION.get(session, actor, question_id, action)
    if bank_id is not None and question.bank_id != bank_id:
        raise NotFound(_("No such question."))
    return QuestionRow(question, current_version(session, question))


def _bank_of(session: Session, question: Question) -> QuestionBank:
    """The bank of a question the caller already holds through QUESTION's rule (which follows the bank)."""
    bank = related(session, QuestionBank, question.bank_id)
    assert bank is not None  # a foreign key
    return bank


def current_version(session: Session, question: Question) -> QuestionVersion:
    version = related(session, QuestionVersion, question.current_version_id)
    if version is None:
        raise NotFound(_("No such question."))
    return version


def versions_of(session: Session, question: Question) -> list[QuestionVersion]:
    return list(session.exec(select(QuestionVersion).where(QuestionVersion.question_id == question.id)
                             .order_by(col(QuestionVersion.number).desc())).all())


def _draft_of(data: QuestionIn, *, stored: bool = False) -> QuestionDraft:
    """Validate the content the way an import does (sanitised HTML, the type's config, blanks vs ____).
    `stored`: the content is the current version's, unchanged (drafts.build_draft reads it leniently)."""
    draft, problems = build_draft(type=data.type, stem=data.stem, config=data.config, points=data.points,
                                  difficulty=data.difficulty, explanation=data.explanation, tags=data.tags,
                                  category=data.category, external_id=data.external_id, stored=stored)
    if draft is None:
        raise ValidationFailed("；".join(problems), errors=[{"loc": ["body"], "msg": p} for p in problems])
    return draft


def _check_clauses(session: Session, actor: User, clause_ids: Sequence[int]) -> dict[int, Clause]:
    """The cited clauses, each one the author may read (CLAUSE's rule: a draft or an abolished standard's
    clause reads as unknown, as does an id of no row)."""
    visible = CLAUSE.allowed_ids(session, actor, clause_ids, READ)
    if missing := [i for i in clause_ids if i not in visible]:
        raise ValidationFailed(_("The cited clause does not exist."),
                               errors=[{"loc": ["body", "clause_ids"], "msg": f"unknown clause {i}"} for i in missing])
    return standards.clauses_by_id(session, set(clause_ids))


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
    BANK.require(session, actor, bank, CHANGE)
    require_open(bank)
    draft = _draft_of(data)
    clauses = _check_clauses(session, actor, data.clause_ids)
    return insert_question(session, actor, bank, draft, data.clause_ids, clauses, status=data.status.value, tier=data.tier,
                   owner=related(session, User, bank.owner_id), now=now or utcnow())


def insert_question(session: Session, actor: User | None, bank: QuestionBank, draft: QuestionDraft, clause_ids: list[int],
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
    question = QUESTION.require(session, actor, question, CHANGE)
    bank = _bank_of(session, question)
    require_open(bank)
    question = _lock(session, question)
    if expected_version is not None and expected_version != question.version_count:
        raise Conflict(_("Someone saved this question meanwhile (now version %(n)s). Reload it and make your change again.",
                         n=question.version_count))
    now = now or utcnow()
    current = current_version(session, question)
    # Built without validation: the stored content may predate today's checks; the merge is validated below.
    merged = QuestionIn.model_construct(type=current.type, stem=current.stem, config=current.config, points=float(current.points),
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
    # A change of tags, category, tier or status alone keeps content that may predate today's checks (a
    # question that needs fixing can still be retired); any content change is checked in full.
    same_content = (merged.type, merged.stem, merged.config, merged.points, merged.difficulty, merged.explanation,
                    list(merged.clause_ids)) == (current.type, current.stem, current.config, float(current.points),
                                                 current.difficulty, current.explanation, list(current.clause_ids))
    draft = _draft_of(merged, stored=same_content)
    clauses = _check_clauses(session, actor, merged.clause_ids)
    new_config = qt.dump_config(draft.config)
    content_changed = not same_content and (
        draft.type != current.type or draft.stem != current.stem or new_config != current.config
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
                    related(session, User, bank.owner_id))
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
    BANK.require(session, actor, bank, READ)
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
    try:
        view = qt.student_view(qt.parse_config(version.config))
    except (ValidationError, qt.ConfigError):  # a damaged row still lists (question_checks flags it)
        view = {}
    return {"type": version.type, "stem": version.stem, "options": view.get("options", []), **view}
