"""Exam statistics on the database: score distribution, pass rates by unit and tier, item analysis with
dubious items flagged for the author, and the Excel export. The arithmetic is in stats.py (pure).

What counts: finished attempts of the exam, the first one of each trainee (later attempts of someone
who has seen the questions would flatter the items), and only answers already graded (an attempt
waiting for manual grading is left out until it is graded). A district administrator sees only the
attempts of people in their subtree; the exam's author and administrators see all.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font
from sqlmodel import Session, col, select

from app.accounts.models import OrgUnit, Tier, User
from app.accounts.scope import READ, TAKE
from app.core.errors import NotFound
from app.core.i18n import N_
from app.core.i18n import gettext as _
from app.core.xlsx import append_row
from app.exams import stats
from app.exams.models import Attempt, AttemptAnswer, AttemptStatus, Exam, ExamKind, Question, QuestionVersion
from app.exams.permissions import ATTEMPT, EXAM
from app.exams.question_types.normalize import plain_text


@dataclass
class ItemRow:
    question_id: int
    stem: str
    type: str
    stats: stats.ItemStats


@dataclass
class ExamReport:
    exam: Exam
    attempts: int
    passed: int
    distribution: stats.Distribution
    by_unit: list[tuple[str, int, int, float]]  # (unit name, passed, total, rate)
    by_tier: list[tuple[str, int, int, float]]
    items: list[ItemRow]
    reliability_kind: str
    reliability: float | None
    pending_grading: int
    rows: list[tuple[User, OrgUnit, Attempt]] = field(default_factory=list)

    @property
    def pass_rate(self) -> float | None:
        return self.passed / self.attempts if self.attempts else None

    @property
    def dubious(self) -> list[ItemRow]:
        return [i for i in self.items if i.stats.dubious]


def _district_name(unit: OrgUnit, names: dict[int, str]) -> str:
    """The unit's district (second level of the tree) for grouping, or the unit itself near the root."""
    parts = unit.chain_ids
    return names.get(parts[1], unit.name) if len(parts) > 1 else unit.name


def exam_report(session: Session, actor: User, exam: Exam) -> ExamReport:
    """The exam's statistics over the attempts the caller may read (EXAM's and ATTEMPT's READ rules: a
    district administrator sees their subtree's trainees only, whoever wrote the exam)."""
    EXAM.require(session, actor, exam, READ)
    stmt = (select(Attempt, User, OrgUnit).join(User, col(User.id) == Attempt.user_id).join(OrgUnit, col(OrgUnit.id) == User.org_unit_id)
            .where(Attempt.exam_id == exam.id, Attempt.status == AttemptStatus.finished.value, ATTEMPT.where(actor, READ))
            .order_by(col(Attempt.user_id), col(Attempt.number)))
    first: dict[int, tuple[Attempt, User, OrgUnit]] = {}
    for attempt, user, unit in session.exec(stmt).all():
        first.setdefault(user.id or 0, (attempt, user, unit))
    pending = sum(1 for a, _u, _o in first.values() if a.needs_grading)
    graded = [(a, u, o) for a, u, o in first.values() if not a.needs_grading and a.max_score]
    answers: dict[int, dict[str, Decimal | None]] = {}
    if graded:
        for ans in session.exec(select(AttemptAnswer).where(col(AttemptAnswer.attempt_id).in_([a.id for a, _u, _o in graded]))).all():
            answers.setdefault(ans.attempt_id, {})[ans.question_key] = ans.score
    points: dict[Any, float] = {}
    matrix: list[dict[Any, float | None]] = []
    for attempt, _u, _o in graded:
        row: dict[Any, float | None] = {}
        got = answers.get(attempt.id or 0, {})
        for entry in attempt.questions:
            qid, worth = int(entry["question_id"]), float(entry["points"])
            points[qid] = max(points.get(qid, 0.0), worth)
            score = got.get(str(entry["key"]))
            row[qid] = (float(score or 0) / worth) if worth else None
        matrix.append(row)
    items = stats.item_analysis(matrix, points)
    kind, coefficient = stats.reliability(matrix, points)
    stems = _stems(session, list(points))
    unit_ids = {i for _a, _u, o in graded for i in o.chain_ids[:2]}
    names = {int(i or 0): n for i, n in session.exec(select(OrgUnit.id, OrgUnit.name).where(col(OrgUnit.id).in_(unit_ids))).all()}
    percents = [float(a.score or 0) * 100 / float(a.max_score or 1) for a, _u, _o in graded]
    by_unit = stats.pass_rates([(_district_name(o, names), bool(a.passed)) for a, _u, o in graded])
    by_tier = stats.pass_rates([(Tier(u.tier).label if u.tier else "", bool(a.passed)) for a, u, _o in graded])
    return ExamReport(
        exam=exam, attempts=len(graded), passed=sum(1 for a, _u, _o in graded if a.passed),
        distribution=stats.distribution(percents),
        by_unit=sorted(((str(k), *v) for k, v in by_unit.items()), key=lambda r: r[0]),
        by_tier=sorted(((str(k), *v) for k, v in by_tier.items()), key=lambda r: r[0]),
        items=[ItemRow(int(str(i.key)), *stems.get(int(str(i.key)), ("", "")), i) for i in items],
        reliability_kind=kind, reliability=coefficient, pending_grading=pending,
        rows=[(u, o, a) for a, u, o in graded],
    )


def _stems(session: Session, question_ids: list[int]) -> dict[int, tuple[str, str]]:
    if not question_ids:
        return {}
    rows = session.exec(select(Question.id, QuestionVersion.stem, Question.type)
                        .join(QuestionVersion, col(QuestionVersion.id) == Question.current_version_id)
                        .where(col(Question.id).in_(question_ids))).all()
    return {int(qid or 0): (stem, qtype) for qid, stem, qtype in rows}


FLAG_LABELS = {"too_easy": N_("Too easy"), "too_hard": N_("Too hard"),
               "low_discrimination": N_("Separates strong and weak trainees poorly"),
               "negative_discrimination": N_("Weak trainees do better than strong ones: check the key")}


def flag_label(flag: str) -> str:
    return _(FLAG_LABELS.get(flag, flag))


def export_xlsx(report: ExamReport) -> bytes:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = _("Results")
    ws.append([_("Name"), _("Username"), _("Unit"), _("Score"), _("Max score"), _("Percent"), _("Passed"), _("Submitted")])
    for user, unit, attempt in report.rows:
        append_row(ws, [user.display_name, user.username, unit.name, float(attempt.score or 0), float(attempt.max_score or 0),
                   round(float(attempt.score or 0) * 100 / float(attempt.max_score or 1), 1), _("Yes") if attempt.passed else _("No"),
                   attempt.submitted_at.replace(tzinfo=None) if attempt.submitted_at else None])
    items = wb.create_sheet(_("Item analysis"))
    items.append([_("Question"), _("Type"), _("Responses"), _("Facility (percent)"), _("Discrimination"), _("Upper - lower"), _("Flags")])
    for row in report.items:
        s = row.stats
        append_row(items, [plain_text(row.stem)[:300], row.type, s.responses, None if s.facility is None else round(s.facility * 100, 1),
                      None if s.discrimination is None else round(s.discrimination, 3),
                      None if s.upper_lower is None else round(s.upper_lower, 3), "；".join(flag_label(f) for f in s.flags)])
    for sheet in (ws, items):
        for cell in sheet[1]:
            cell.font = Font(bold=True)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


# ---------------------------------------------------------------------------------------------
# Competitions (技能竞赛/业务比武): a live leaderboard by person and by unit


@dataclass
class Standing:
    rank: int
    name: str
    unit: str
    score: Decimal
    max_score: Decimal
    seconds: int  # time taken: the tie-breaker


@dataclass
class UnitStanding:
    rank: int
    unit: str
    people: int
    average: float  # mean percent


def competition(session: Session, actor: User, exam_id: int) -> Exam:
    """A competition whose board the caller may see: staff who may read it, or a trainee who may take it."""
    exam = EXAM.find(session, actor, exam_id, READ) or EXAM.find(session, actor, exam_id, TAKE)
    if exam is None or exam.kind != ExamKind.competition:
        raise NotFound()
    return exam


def leaderboard(session: Session, exam: Exam, *, limit: int = 50) -> tuple[list[Standing], list[UnitStanding], int]:
    """Finished first attempts ranked by score, then by time taken; units by mean percent. Also the
    number still in progress. Anyone who may see the exam may see it (names are shown as in a hall)."""
    rows = session.exec(select(Attempt, User, OrgUnit).join(User, col(User.id) == Attempt.user_id)
                        .join(OrgUnit, col(OrgUnit.id) == User.org_unit_id)
                        .where(Attempt.exam_id == exam.id, col(Attempt.status).in_([AttemptStatus.finished.value,
                                                                                   AttemptStatus.in_progress.value]))
                        .order_by(col(Attempt.user_id), col(Attempt.number))).all()
    first: dict[int, tuple[Attempt, User, OrgUnit]] = {}
    for attempt, user, unit in rows:
        first.setdefault(user.id or 0, (attempt, user, unit))
    running = sum(1 for a, _u, _o in first.values() if a.status == AttemptStatus.in_progress)
    done = [(a, u, o) for a, u, o in first.values() if a.status == AttemptStatus.finished and a.score is not None]

    def taken(a: Attempt) -> int:
        return int(((a.submitted_at or a.started_at) - a.started_at).total_seconds())

    done.sort(key=lambda r: (-(r[0].score or 0), taken(r[0]), r[1].username))
    people: list[Standing] = []
    for i, (a, u, o) in enumerate(done[:limit]):
        previous = people[-1] if people else None
        same = previous is not None and previous.score == a.score and previous.seconds == taken(a)
        people.append(Standing(previous.rank if same and previous else i + 1, u.display_name, o.name, a.score or Decimal(0),
                               a.max_score or Decimal(0), taken(a)))
    by_unit: dict[str, list[float]] = {}
    for a, _u, o in done:
        by_unit.setdefault(o.name, []).append(float(a.score or 0) * 100 / float(a.max_score or 1))
    units = sorted(((name, len(v), sum(v) / len(v)) for name, v in by_unit.items()), key=lambda r: (-r[2], r[0]))
    return people, [UnitStanding(i + 1, name, n, avg) for i, (name, n, avg) in enumerate(units)], running
