"""Demo exams on the demo question banks (app/exams/demo.py seeds those first): a daily practice
(每日一练) open now that starts with the trainee's wrong answers, a weekly exam open this week, and a
monthly exam that closed two weeks ago with results for some demo trainees (and their notebooks).

And recurring exams (app/exams/schedules.py), one schedule of each kind and per tier: a 日考 for each
tier on its own bank, a 周考 and a 月考 for every trainee. Their windows cover the whole period (a
daily edition opens at 00:00 for 24 h, a weekly one on Monday for the week, a monthly one on the 1st
for 31 days), so whenever a visitor looks there is an open edition, and the worker's periodic job
publishes the next one within minutes of its opening. The current editions are published here too,
so the demo shows them without a worker.

Idempotent: an exam or schedule whose title exists is left alone (and an edition is published once)."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from decimal import Decimal

from sqlmodel import Session, select

from app.accounts import service as accounts
from app.accounts.models import Tier, User
from app.core.models import utcnow
from app.exams import attempts, exams, papers, schedules
from app.exams import demo as bank_demo
from app.exams.exam_schemas import ExamIn
from app.exams.models import Exam, ExamKind, ExamSchedule, PaperKind, QuestionBank, ResultsPolicy

PRACTICE = "每日一练：会议服务"
WEEKLY = "周考：安全保卫与设施节能"
MONTHLY = "月考：食堂与保洁服务"
RESULT_TRAINEES = [f"trainee{i}" for i in range(2, 10)]

# Recurring exams: (title, kind, tier or None for every trainee, bank index in bank_demo.BANKS, question
# rules, time limit). Banks: 0 meeting service, 1 security and energy, 2 canteen and cleaning.
SCHEDULES: list[tuple[str, str, Tier | None, int, list[tuple[str, int, str]], int]] = [
    ("日考：会议服务（执行层）", "daily", Tier.execution, 0, [("single_choice", 3, "2"), ("true_false", 2, "2")], 600),
    ("日考：食堂与保洁（管理层）", "daily", Tier.management, 2, [("single_choice", 3, "2"), ("true_false", 2, "2")], 600),
    ("日考：安全保卫（决策层）", "daily", Tier.decision, 1, [("single_choice", 3, "2"), ("true_false", 2, "2")], 600),
    ("周考：会议服务综合", "weekly", None, 0, [("single_choice", 5, "2"), ("multiple_choice", 2, "3"), ("true_false", 3, "2")], 1200),
    ("月考：安全保卫与设施节能", "monthly", None, 1,
     [("single_choice", 6, "2"), ("multiple_choice", 2, "3"), ("true_false", 4, "2")], 1800),
]
# Each edition open for its whole period (a monthly window of 31 days overlaps the next edition by up to three
# days in short months: a trainee may then take both).
WINDOW_HOURS = {"daily": 24, "weekly": 7 * 24, "monthly": 31 * 24}


def _bank(session: Session, name: str) -> QuestionBank:
    bank = session.exec(select(QuestionBank).where(QuestionBank.name == name)).first()
    if bank is None:
        raise RuntimeError(f"demo bank {name} missing")
    return bank


def _blueprint(session: Session, owner: User, title: str, bank: QuestionBank, rules: list[papers.RuleSpec]) -> int:
    paper = papers.create_paper(session, owner, title, kind=PaperKind.blueprint, bank_id=bank.id)
    for rule in rules:
        papers.add_rule(session, owner, paper, rule)
    return paper.id or 0


def _rules(session: Session, bank: QuestionBank, wanted: list[tuple[str, int, str]]) -> list[papers.RuleSpec]:
    """Rules by type, trimmed to what the bank has (the demo banks may change)."""
    counts: dict[str, int] = {}
    for c in papers.candidates(session, bank.id or 0):
        counts[c.type] = counts.get(c.type, 0) + 1
    return [papers.RuleSpec(count=min(n, counts[t]), points=Decimal(p), type=t) for t, n, p in wanted if counts.get(t)]


def _answer_like_a_person(session: Session, user: User, attempt_id: int, rng: random.Random, skill: float, now: datetime) -> None:
    from app.exams import question_types as qt

    attempt = attempts.get_attempt(session, user, attempt_id)
    for entry in attempt.questions:
        config = qt.parse_config(entry["config"])
        right = rng.random() < skill
        response: object
        if config.type in ("single_choice",):
            ids = [o.id for o in config.options]  # type: ignore[union-attr]
            response = config.correct if right else rng.choice([i for i in ids if i != config.correct])  # type: ignore[union-attr]
        elif config.type == "true_false":
            response = config.correct if right else not config.correct  # type: ignore[union-attr]
        elif config.type == "multiple_choice":
            response = list(config.correct) if right else [config.options[0].id]  # type: ignore[union-attr]
        elif config.type == "short_answer":
            response = "按规定立即处置并及时报告。"
        else:
            continue
        attempts.save_answer(session, user, attempt_id, entry["key"], response, now=now)


def seed(session: Session) -> dict[str, int]:
    stats = bank_demo.seed(session)
    owner = accounts.get_user_by_username(session, "instructor")
    if owner is None:
        raise RuntimeError("seed the accounts demo first")
    existing = set(session.exec(select(Exam.title)).all())
    now = utcnow()
    created = results = 0
    meeting, security, canteen = (_bank(session, name) for name, _d, _q in bank_demo.BANKS)

    if PRACTICE not in existing:
        paper_id = _blueprint(session, owner, "每日一练抽题卷（会议服务）", meeting,
                              _rules(session, meeting, [("single_choice", 3, "1"), ("true_false", 2, "1")]))
        exam = exams.create_exam(session, owner, ExamIn(
            title=PRACTICE, description="每天 5 道题，先练错题本里的题。不限次数，不计入成绩。", kind=ExamKind.practice,
            paper_id=paper_id, opens_at=now - timedelta(days=1), closes_at=None, time_limit_s=None, attempts_allowed=None,
            pass_percent=60, practice_from_notebook=2))
        exams.publish_exam(session, owner, exam, now=now)
        created += 1

    if WEEKLY not in existing:
        paper_id = _blueprint(session, owner, "周考抽题卷（安全保卫）", security,
                              _rules(session, security, [("single_choice", 5, "2"), ("multiple_choice", 2, "3"), ("true_false", 3, "2")]))
        exam = exams.create_exam(session, owner, ExamIn(
            title=WEEKLY, description="本周安全保卫与设施节能知识测验，限时 20 分钟。", kind=ExamKind.weekly, paper_id=paper_id,
            opens_at=now - timedelta(hours=2), closes_at=now + timedelta(days=6), time_limit_s=1200, attempts_allowed=1,
            pass_percent=60, results_policy=ResultsPolicy.immediately))
        exams.publish_exam(session, owner, exam, now=now)
        created += 1

    if MONTHLY not in existing:
        paper_id = _blueprint(session, owner, "月考抽题卷（食堂与保洁）", canteen,
                              _rules(session, canteen, [("single_choice", 6, "2"), ("true_false", 4, "2")]))
        opens, closes = now - timedelta(days=30), now - timedelta(days=14)
        exam = exams.create_exam(session, owner, ExamIn(
            title=MONTHLY, description="上月食堂与保洁服务月考（已结束）。", kind=ExamKind.monthly, paper_id=paper_id,
            opens_at=opens, closes_at=closes, time_limit_s=1800, attempts_allowed=1, pass_percent=60,
            results_policy=ResultsPolicy.after_close))
        exams.publish_exam(session, owner, exam, now=opens - timedelta(days=1))
        created += 1
        rng = random.Random(2026)
        for i, username in enumerate(RESULT_TRAINEES):
            user = accounts.get_user_by_username(session, username)
            if user is None:
                continue
            started = opens + timedelta(days=2, hours=i)
            attempt = attempts.start_attempt(session, user, exam.id or 0, now=started, seed=1000 + i).attempt
            _answer_like_a_person(session, user, attempt.id or 0, rng, 0.45 + 0.07 * i, started + timedelta(minutes=5))
            attempts.submit(session, user, attempt.id or 0, now=started + timedelta(minutes=12))
            results += 1
    session.flush()
    created_schedules = _seed_schedules(session, owner)
    editions = schedules.publish_due_editions(session, now=now)
    return {**stats, "exams_created": created, "exam_results_created": results, "exam_schedules_created": created_schedules,
            "exam_editions_published": len(editions)}


def _seed_schedules(session: Session, owner: User) -> int:
    existing = set(session.exec(select(ExamSchedule.title)).all())
    banks = [_bank(session, name) for name, _d, _q in bank_demo.BANKS]
    created = 0
    for title, kind, tier, bank_index, wanted, limit in SCHEDULES:
        if title in existing:
            continue
        bank = banks[bank_index]
        paper_id = _blueprint(session, owner, f"{title}抽题卷", bank, _rules(session, bank, wanted))
        schedules.create_schedule(session, owner, schedules.ScheduleIn(
            title=title, kind=kind, paper_id=paper_id, tier=tier, opens_at_local="00:00", window_hours=WINDOW_HOURS[kind],
            weekday=1, month_day=1, time_limit_s=limit, pass_percent=60))
        created += 1
    session.flush()
    return created
