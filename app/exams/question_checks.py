"""Whether a stored question version still passes the checks a new question passes (drafts.build_draft).

A version written before a check existed can fail it: an option that sanitised down to nothing
(`=<script>x</script>` in GIFT) was stored as empty text before texts were checked after sanitising.
Such a row stays readable everywhere (question_types.parse_config reads stored configs leniently, so
lists, the editor, grading, attempt pages and statistics never fail on it), but it must not reach a
trainee again and must be easy to find and fix:

- blueprint draws, the blueprint check and practice from the wrong-answer notebook leave it out;
- publishing an exam refuses a fixed paper holding one, naming the questions (papers.freeze);
- starting an attempt on a fixed paper frozen before the fix leaves it out (papers.draw; logged);
- exports skip it and say which questions were skipped;
- the bank's question list, the API and the editor flag it with the problem, and the editor saves a fix.

A version never changes after insert, so its verdict is cached per process by version id (as papers
caches parsed configs); the messages are made on demand, in the reader's language.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlmodel import Session, col, select

from app.core.cache import ImmutableCache
from app.exams.drafts import build_draft
from app.exams.models import Question, QuestionVersion

_VALID: ImmutableCache[bool] = ImmutableCache("question version passes today's checks", maxsize=100_000)


def problems(version: QuestionVersion) -> list[str]:
    """What is wrong with a stored version, in the reader's language; [] when it validates."""
    _draft, found = build_draft(type=version.type, stem=version.stem, config=version.config,
                                points=float(version.points), difficulty=version.difficulty,
                                explanation=version.explanation)
    return found


def is_valid(session: Session, version: QuestionVersion) -> bool:
    if version.id is None:
        return not problems(version)
    return _VALID.get(session, version.id, lambda: not problems(version))


def invalid_ids(session: Session, version_ids: Iterable[int]) -> set[int]:
    """The ids among `version_ids` whose versions fail the checks (unknown ids are not reported)."""
    verdicts: dict[int, bool] = {}
    unknown: list[int] = []
    for version_id in set(version_ids):
        cached = _VALID.peek(session, version_id)
        if cached is None:
            unknown.append(version_id)
        else:
            verdicts[version_id] = cached
    if unknown:
        for version in session.exec(select(QuestionVersion).where(col(QuestionVersion.id).in_(unknown))).all():
            verdicts[version.id or 0] = is_valid(session, version)
    return {version_id for version_id, valid in verdicts.items() if not valid}


def invalid_questions(session: Session, bank_id: int) -> list[int]:
    """Ids of the bank's questions whose current version fails the checks, in id order."""
    rows = session.exec(select(Question.id, Question.current_version_id).where(
        Question.bank_id == bank_id, col(Question.current_version_id).is_not(None))).all()
    bad = invalid_ids(session, [v or 0 for _q, v in rows])
    return sorted(q or 0 for q, v in rows if v in bad)
