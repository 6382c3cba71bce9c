"""错题本, the wrong-answer notebook: every question a trainee answers wrongly (when an attempt is graded)
goes in; answering it right N times running (practice, a later exam or the notebook page) takes it out.

One row per (user, question), kept after it is cleared (wrong_count is history; a new wrong answer puts
it back). N is `SHIXUN_EXAM_NOTEBOOK_STREAK` when the settings have it, else DEFAULT_STREAK.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from app.accounts.scope import TAKE
from app.core.config import get_settings
from app.core.errors import NotFound
from app.core.models import utcnow
from app.exams import question_checks
from app.exams import question_types as qt
from app.exams.models import NotebookEntry, Question, QuestionStatus, QuestionVersion
from app.exams.papers import Drawn
from app.exams.permissions import NOTEBOOK

DEFAULT_STREAK = 2


def streak_to_clear() -> int:
    return max(1, int(getattr(get_settings(), "exam_notebook_streak", DEFAULT_STREAK)))


@dataclass(frozen=True)
class Graded:
    """One graded answer to record: the question, whether it was right, the response."""

    question_id: int
    correct: bool
    response: Any


_TABLE = NotebookEntry.__table__  # type: ignore[attr-defined]
# Built once per dialect: executed with one parameter set per question (a multi-row VALUES would be
# compiled again for every number of rows).
_INSERT_MISSING = {name: dialect.insert(_TABLE).on_conflict_do_nothing(index_elements=["user_id", "question_id"])
                   for name, dialect in (("postgresql", postgresql), ("sqlite", sqlite))}


def _insert_missing(session: Session, user_id: int, question_ids: list[int], now: datetime) -> None:
    """(user, question) rows for these questions where missing; safe when two attempts of one trainee
    finish at once."""
    session.execute(_INSERT_MISSING[session.get_bind().dialect.name],
                    [{"user_id": user_id, "question_id": qid, "wrong_count": 0, "right_streak": 0, "first_wrong_at": now,
                      "last_seen_at": now, "cleared_at": now} for qid in sorted(set(question_ids))])


def record_many(session: Session, user_id: int, graded: list[Graded], now: datetime) -> dict[int, NotebookEntry]:
    """Graded answers, in order, in a few statements whatever their number (an attempt's grading): a wrong
    one puts the question in (or back); a right one counts toward clearing it. Returns the entries changed."""
    if not graded:
        return {}
    wrong = [g.question_id for g in graded if not g.correct]
    if wrong:
        _insert_missing(session, user_id, wrong, now)
    rows = {e.question_id: e for e in session.exec(
        select(NotebookEntry).where(NotebookEntry.user_id == user_id,
                                    col(NotebookEntry.question_id).in_(sorted({g.question_id for g in graded})))
        .order_by(col(NotebookEntry.question_id)).with_for_update().execution_options(populate_existing=True)).all()}
    streak = streak_to_clear()
    changed: dict[int, NotebookEntry] = {}
    for g in graded:
        entry = rows.get(g.question_id)
        if entry is None:
            continue  # right, and never in the notebook
        if g.correct:
            if entry.cleared_at is not None:
                continue
            entry.right_streak += 1
            entry.last_seen_at = now
            if entry.right_streak >= streak:
                entry.cleared_at = now
        else:
            if entry.wrong_count == 0:
                entry.first_wrong_at = now
            entry.wrong_count += 1
            entry.right_streak = 0
            entry.cleared_at = None
            entry.last_response = g.response
            entry.last_seen_at = now
        session.add(entry)
        changed[g.question_id] = entry
    session.flush()
    return changed


def record(session: Session, user_id: int, question_id: int, correct: bool, response: Any, now: datetime) -> NotebookEntry | None:
    """A graded answer: a wrong one puts the question in (or back); a right one counts toward clearing it."""
    return record_many(session, user_id, [Graded(question_id, correct, response)], now).get(question_id)


@dataclass
class NotebookItem:
    entry: NotebookEntry
    question: Question
    version: QuestionVersion


def entries(session: Session, user_id: int, *, include_cleared: bool = False, limit: int = 500) -> list[NotebookItem]:
    query = (select(NotebookEntry, Question, QuestionVersion)
             .join(Question, col(Question.id) == col(NotebookEntry.question_id))
             .join(QuestionVersion, col(QuestionVersion.id) == col(Question.current_version_id))
             .where(NotebookEntry.user_id == user_id)
             .order_by(col(NotebookEntry.cleared_at).is_not(None), col(NotebookEntry.last_seen_at).desc()).limit(limit))
    if not include_cleared:
        query = query.where(col(NotebookEntry.cleared_at).is_(None))
    return [NotebookItem(e, q, v) for e, q, v in session.exec(query).all()]


def open_count(session: Session, user_id: int) -> int:
    return int(session.exec(select(sa.func.count()).select_from(NotebookEntry).where(
        NotebookEntry.user_id == user_id, col(NotebookEntry.cleared_at).is_(None))).one())


def draw_for_practice(session: Session, user_id: int, count: int, rng: random.Random) -> list[Drawn]:
    """Up to `count` open notebook questions (active ones, current versions), a random choice, 1 point each.
    A question whose current version needs fixing (question_checks) is not drawn."""
    rows = session.exec(select(Question.id, Question.current_version_id)
                        .join(NotebookEntry, col(NotebookEntry.question_id) == col(Question.id))
                        .where(NotebookEntry.user_id == user_id, col(NotebookEntry.cleared_at).is_(None),
                               Question.status == QuestionStatus.active.value, col(Question.current_version_id).is_not(None))
                        .order_by(col(Question.id))).all()
    invalid = question_checks.invalid_ids(session, [vid or 0 for _qid, vid in rows])
    drawable = [(int(qid or 0), int(vid or 0)) for qid, vid in rows if vid not in invalid]
    picked = rng.sample(drawable, min(count, len(drawable)))
    return [Drawn(qid, vid, Decimal(1)) for qid, vid in picked]


@dataclass
class PracticeOutcome:
    correct: bool
    fraction: float
    entry: NotebookEntry | None
    cleared: bool
    key_summary: str
    explanation: str


def practice_item(session: Session, user_id: int, entry_id: int) -> NotebookItem:
    row = session.exec(select(NotebookEntry, Question, QuestionVersion)
                       .join(Question, col(Question.id) == col(NotebookEntry.question_id))
                       .join(QuestionVersion, col(QuestionVersion.id) == col(Question.current_version_id))
                       # NOTEBOOK's TAKE rule: the trainee's own entry; anybody else's reads as missing
                       .where(NotebookEntry.id == entry_id, NOTEBOOK.owner_column(TAKE) == user_id)).first()
    if row is None:
        raise NotFound()
    return NotebookItem(*row)


def presented(item: NotebookItem) -> Any:
    """The question as the notebook page shows it: options shuffled the same way every time for the entry."""
    return qt.shuffle(qt.parse_config(item.version.config), random.Random(item.entry.id)).config


def answer_from_notebook(session: Session, user_id: int, entry_id: int, raw: Any, *, now: datetime | None = None) -> PracticeOutcome:
    """Practise one notebook question on its own (the notebook page): graded at once against its current
    version (as `presented` shows it); a right answer counts toward clearing it, a wrong one resets the streak."""
    now = now or utcnow()
    item = practice_item(session, user_id, entry_id)
    config = presented(item)
    response = qt.validate_answer(config, raw)  # AnswerInvalid for the caller
    graded = qt.grade(config, response, 1.0)
    entry = record(session, user_id, item.question.id or 0, graded.correct, response, now)
    return PracticeOutcome(correct=graded.correct, fraction=graded.fraction, entry=entry,
                           cleared=entry is not None and entry.cleared_at is not None,
                           key_summary=qt.get_type(config.type).key_summary(config), explanation=item.version.explanation)
