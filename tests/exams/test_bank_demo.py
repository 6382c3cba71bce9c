"""The question-bank demo: three banks of the demo instructor, every type, citations of the demo
standards; seeding twice creates nothing new."""

from __future__ import annotations

from sqlmodel import func, select

from app.accounts import demo as accounts_demo
from app.exams import demo
from app.exams.models import Question, QuestionBank, QuestionVersion
from app.exams.question_types import TYPE_NAMES
from app.standards import demo as standards_demo
from app.standards.models import Citation


def test_demo_banks_are_idempotent_and_cover_every_type(session) -> None:  # type: ignore[no-untyped-def]
    accounts_demo.seed(session)
    standards_demo.seed(session)
    first = demo.seed(session)
    assert first["question_banks_created"] == 3 and first["questions_created"] >= 60
    again = demo.seed(session)
    assert again == {"question_banks_created": 0, "questions_created": 0}
    assert session.exec(select(func.count()).select_from(QuestionBank)).one() == 3
    assert session.exec(select(func.count()).select_from(QuestionVersion)).one() == first["questions_created"]
    assert set(session.exec(select(Question.type)).all()) == set(TYPE_NAMES)
    cited = session.exec(select(func.count()).select_from(Citation).where(Citation.target_type == "exam_question")).one()
    assert cited >= 40  # nearly every question names the clause it tests
