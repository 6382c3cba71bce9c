"""Demo exams on the demo question banks (app/exams/demo.py seeds those first): a daily practice
(每日一练) open now that starts with the trainee's wrong answers, a weekly exam open this week, and a
monthly exam that closed two weeks ago with results for some demo trainees (and their notebooks).
Idempotent: an exam whose title exists is left alone."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from decimal import Decimal

from sqlmodel import Session, select

from app.accounts import service as accounts
from app.accounts.models import User
from app.core.models import utcnow
from app.exams import attempts, exams, papers
from app.exams import demo as bank_demo
from app.exams.exam_schemas import ExamIn
from app.exams.models import Exam, ExamKind, PaperKind, QuestionBank, ResultsPolicy

PRACTICE = "每日一练：会议服务"
WEEKLY = "周考：安全保卫与设施节能"
MONTHLY = "月考：食堂与保洁服务"
RESULT_TRAINEES = [f"trainee{i}" for i in range(2, 10)]


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
    return {**stats, "exams_created": created, "exam_results_created": results}
