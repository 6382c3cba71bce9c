"""Exam statistics on the database: first attempts only, pending manual grading left out, district
scope, item analysis flags a question whose key is wrong, and the Excel export."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from openpyxl import load_workbook
from sqlmodel import Session

from app.accounts.models import Role
from app.core.errors import NotFound
from app.exams import attempts, reports
from tests.exams.attempt_helpers import SINGLE, T0, TF, fixed_paper, make_bank, make_question, published_exam
from tests.factories import make_user

# "wrong" has its key set to the answer the weak trainees give, so strong trainees "fail" it.
WRONG_KEY = {**SINGLE, "correct": "b"}


@pytest.fixture
def exam_with_results(session: Session, org):  # type: ignore[no-untyped-def]
    author = make_user(session, Role.instructor, unit=org["dept"], username="report_author")
    bank = make_bank(session, author)
    qs = [make_question(session, bank, SINGLE, stem=f"单选{i}") for i in range(3)]
    qs.append(make_question(session, bank, TF, stem="判断"))
    qs.append(make_question(session, bank, WRONG_KEY, stem="错键题"))
    exam = published_exam(session, author, fixed_paper(session, author, qs, shuffle=False), attempts_allowed=2)
    # ability k: answers the first k questions right (of single0..2, tf), and the "wrong key" one right only when weak
    trainees = []
    for n, ability in enumerate([4, 4, 3, 3, 2, 1, 1, 0]):
        unit = org["unit_a1"] if n % 2 else org["unit_b1"]
        user = make_user(session, Role.trainee, unit=unit, username=f"rep{n}")
        attempt = attempts.start_attempt(session, user, exam.id, now=T0).attempt
        for i, q in enumerate(qs[:4]):
            right = i < ability
            response = ("a" if right else "c") if q.type == "single_choice" else right
            attempts.save_answer(session, user, attempt.id, str(q.id), response, now=T0 + timedelta(minutes=1))
        attempts.save_answer(session, user, attempt.id, str(qs[4].id), "a" if ability >= 3 else "b", now=T0 + timedelta(minutes=1))
        attempts.submit(session, user, attempt.id, now=T0 + timedelta(minutes=2))
        trainees.append(user)
    # the weakest trainee's second attempt, all right after seeing the questions, does not count
    again = attempts.start_attempt(session, trainees[7], exam.id, now=T0 + timedelta(minutes=3)).attempt
    for q in qs[:4]:
        attempts.save_answer(session, trainees[7], again.id, str(q.id), "a" if q.type == "single_choice" else True,
                             now=T0 + timedelta(minutes=3))
    attempts.submit(session, trainees[7], again.id, now=T0 + timedelta(minutes=4))
    session.flush()
    return author, exam, qs


def test_report_counts_first_attempts_and_flags_the_wrong_key(session, exam_with_results, admin) -> None:  # type: ignore[no-untyped-def]
    author, exam, qs = exam_with_results
    report = reports.exam_report(session, author, exam)
    assert report.attempts == 8 and report.pending_grading == 0
    assert sum(report.distribution.bins) == 8
    items = {row.question_id: row for row in report.items}
    assert items[qs[0].id].stats.facility == pytest.approx(7 / 8)
    assert "negative_discrimination" in items[qs[4].id].stats.flags
    assert items[qs[4].id] in report.dubious and items[qs[1].id] not in report.dubious
    assert report.reliability_kind == "kr20" and report.reliability is not None
    assert {name for name, *_rest in report.by_unit} == {"天宁区", "钟楼区"}
    assert sum(total for _n, _p, total, _r in report.by_unit) == 8
    sheet = load_workbook(io.BytesIO(reports.export_xlsx(report)))
    assert sheet.worksheets[0].max_row == 9 and sheet.worksheets[1].max_row == 6


def test_report_scope(session, exam_with_results, district_admin, trainee, user_factory) -> None:  # type: ignore[no-untyped-def]
    _author, exam, _qs = exam_with_results
    assert reports.exam_report(session, district_admin, exam).attempts == 4  # 天宁区 only
    with pytest.raises(NotFound):
        reports.exam_report(session, trainee, exam)
    other = user_factory(Role.instructor)
    with pytest.raises(NotFound):
        reports.exam_report(session, other, exam)


def test_leaderboard_ranks_by_score_then_time(session, exam_with_results) -> None:  # type: ignore[no-untyped-def]
    _author, exam, _qs = exam_with_results
    people, units, running = reports.leaderboard(session, exam)
    assert running == 0 and len(people) == 8
    assert [p.score for p in people] == sorted((p.score for p in people), reverse=True)
    assert people[0].rank == 1 and people[1].rank == 1  # same score, same time: shared rank
    assert people[2].rank == 3
    assert [u.unit for u in units] == sorted((u.unit for u in units), key=lambda n: -next(x.average for x in units if x.unit == n))
    assert sum(u.people for u in units) == 8
