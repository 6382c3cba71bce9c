"""Data for bench/exams.py, built in-process through the app's services on a freshly migrated database.

    SHIXUN_DATA_DIR=... [SHIXUN_DATABASE_URL=...] .venv/bin/python -m bench.exams_setup --trainees 500 --questions 20

Creates an org unit, an instructor, N trainees, one question bank of single-choice, multiple-choice and
true/false questions, a fixed paper and a published exam (window and time limit of several hours), then
issues one API token per trainee. Prints one JSON object: {"exam_id", "users": [[username, token], ...]}.

Fast on purpose: the password is hashed once and the hash reused for every trainee (Argon2 costs about a
third of a second per hash on the bench machine), and the tokens come from `signin.issue_api_token`, the
service behind POST /api/v1/auth/token, without the route's Argon2 verification per trainee.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import timedelta
from typing import Any

from app.accounts import service as accounts
from app.accounts import signin
from app.accounts.models import Role
from app.accounts.schemas import OrgUnitCreate, UserCreate
from app.core.db import get_database
from app.core.models import utcnow
from app.core.security import hash_password
from app.exams import bank, exams, papers
from app.exams.bank_schemas import BankIn, QuestionIn
from app.exams.exam_schemas import ExamIn

PASSWORD = "bench-exam-2026"
OPTIONS = [{"id": k, "text": t} for k, t in (("a", "立即报告"), ("b", "继续作业"), ("c", "设置警示"), ("d", "通知值班"))]


def question(n: int) -> QuestionIn:
    """Questions cycle through single choice, multiple choice and true/false."""
    kind = ("single_choice", "multiple_choice", "true_false")[n % 3]
    config: dict[str, Any] = {"type": kind}
    if kind == "single_choice":
        config.update(options=OPTIONS, correct="a")
    elif kind == "multiple_choice":
        config.update(options=OPTIONS, correct=["a", "c"])
    else:
        config.update(correct=True)
    return QuestionIn(type=kind, stem=f"第{n + 1}题：会议室设备出现异常时应如何处置？", config=config, points=5)


def setup(trainees: int, questions: int, hours: int = 6) -> dict[str, Any]:
    now = utcnow()
    with get_database().transaction() as session:
        unit = accounts.create_org_unit(session, None, OrgUnitCreate(code="bench", name="压测单位", kind="bureau"))
        password_hash = hash_password(PASSWORD)
        author = accounts.create_user(session, None, UserCreate(username="bench_instructor", display_name="压测出题人",
                                                                org_unit_id=unit.id or 0, roles=[Role.instructor]),
                                      must_change_password=False, password_hash=password_hash)
        users = [accounts.create_user(session, None, UserCreate(username=f"bench{i:04d}", display_name=f"学员{i}",
                                                                org_unit_id=unit.id or 0),
                                      must_change_password=False, password_hash=password_hash) for i in range(trainees)]
        qbank = bank.create_bank(session, author, BankIn(name="压测题库"))
        rows = [bank.create_question(session, author, qbank, question(n)) for n in range(questions)]
        paper = papers.create_paper(session, author, "压测试卷")
        papers.set_items(session, author, paper, [(r.question.id or 0, None) for r in rows])
        exam = exams.create_exam(session, author, ExamIn(title="压测考试", paper_id=paper.id or 0, opens_at=now - timedelta(hours=1),
                                                         closes_at=now + timedelta(hours=hours), time_limit_s=hours * 3600))
        exams.publish_exam(session, author, exam, now=now)
        tokens = [signin.issue_api_token(session, u, ip="127.0.0.1", now=now)[0] for u in users]
        return {"exam_id": exam.id, "users": [[u.username, t] for u, t in zip(users, tokens, strict=True)]}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trainees", type=int, default=500)
    parser.add_argument("--questions", type=int, default=20)
    args = parser.parse_args()
    json.dump(setup(args.trainees, args.questions), sys.stdout)


if __name__ == "__main__":
    main()
