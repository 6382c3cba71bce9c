"""Builders for the papers/exams/attempts tests: questions straight from the models and question_types
(the bank service is another module's), fixed and blueprint papers, published exams."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlmodel import Session

from app.accounts.models import User
from app.core.models import utcnow
from app.exams import exams, papers
from app.exams import question_types as qt
from app.exams.exam_schemas import ExamIn
from app.exams.models import PaperKind, Question, QuestionBank, QuestionVersion

T0 = datetime(2026, 11, 26, 1, 0, tzinfo=utcnow().tzinfo)  # 09:00 in Shanghai

SINGLE = {"type": "single_choice", "options": [{"id": "a", "text": "居中"}, {"id": "b", "text": "靠左"},
                                               {"id": "c", "text": "靠右"}], "correct": "a"}
MULTI = {"type": "multiple_choice", "options": [{"id": "a", "text": "茶水"}, {"id": "b", "text": "桌签"},
                                                {"id": "c", "text": "烟灰缸"}], "correct": ["a", "b"]}
TF = {"type": "true_false", "correct": True}
SHORT = {"type": "short_answer", "reference_answer": "<p>立即停止作业并报告。</p>",
         "rubric": [{"criterion": "停止作业", "points": 1}, {"criterion": "报告", "points": 1}]}
ORDER = {"type": "ordering", "items": [{"id": "s1", "text": "除尘"}, {"id": "s2", "text": "湿拖"}, {"id": "s3", "text": "放提示牌"}],
         "correct": ["s1", "s2", "s3"]}


def make_bank(session: Session, owner: User, name: str = "会议服务题库") -> QuestionBank:
    bank = QuestionBank(name=name, owner_id=owner.id or 0)
    session.add(bank)
    session.flush()
    return bank


def make_question(session: Session, bank: QuestionBank, config: dict[str, Any] | None = None, *, stem: str = "桌签应如何摆放？",
                  points: str = "1", difficulty: int = 3, tags: list[str] | None = None, category: str = "",
                  clause_ids: list[int] | None = None, explanation: str = "<p>桌签居中。</p>", status: str = "active") -> Question:
    config = dict(config or SINGLE)
    parsed = qt.parse_config(config)
    question = Question(bank_id=bank.id or 0, type=parsed.type, difficulty=difficulty, tags=tags or [], category=category,
                        status=status, fingerprint=qt.fingerprint(parsed.type, stem))
    session.add(question)
    session.flush()
    add_version(session, question, config, stem=stem, points=points, explanation=explanation, clause_ids=clause_ids)
    return question


def add_version(session: Session, question: Question, config: dict[str, Any], *, stem: str = "桌签应如何摆放？", points: str = "1",
                explanation: str = "", clause_ids: list[int] | None = None) -> QuestionVersion:
    parsed = qt.parse_config(config)
    version = QuestionVersion(question_id=question.id or 0, number=question.version_count + 1, type=parsed.type, stem=stem,
                              config=qt.dump_config(parsed), points=Decimal(points), difficulty=question.difficulty,
                              explanation=explanation, clause_ids=clause_ids or [])
    session.add(version)
    session.flush()
    question.current_version_id = version.id
    question.version_count += 1
    session.add(question)
    session.flush()
    return version


def fixed_paper(session: Session, author: User, questions: list[Question], *, shuffle: bool = True) -> Any:
    paper = papers.create_paper(session, author, "会议服务日考卷", shuffle_questions=shuffle, shuffle_options=shuffle)
    papers.set_items(session, author, paper, [(q.id or 0, None) for q in questions])
    return paper


def blueprint_paper(session: Session, author: User, bank: QuestionBank, rules: list[papers.RuleSpec]) -> Any:
    paper = papers.create_paper(session, author, "抽题卷", kind=PaperKind.blueprint, bank_id=bank.id)
    for rule in rules:
        papers.add_rule(session, author, paper, rule)
    return paper


def published_exam(session: Session, author: User, paper: Any, *, now: datetime = T0, publish: bool = True, **fields: Any) -> Any:
    data = {"title": "会议服务日考", "paper_id": paper.id, "opens_at": now - timedelta(hours=1),
            "closes_at": now + timedelta(hours=8), "time_limit_s": 1200, **fields}
    exam = exams.create_exam(session, author, ExamIn(**data))
    if publish:
        exams.publish_exam(session, author, exam, now=now)
    session.flush()
    return exam
