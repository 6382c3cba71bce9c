"""Grading: manual grading of short answers with the attempt decided by the last one, regrading after a
key correction (scores and pass/fail recomputed, notices), results visibility, ExamPassed/ExamFailed."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlmodel import Session

from app.accounts.models import Role
from app.core import events
from app.core.errors import PermissionDenied, ValidationFailed
from app.exams import attempts, grading
from app.exams.events import AttemptRegraded, ExamFailed, ExamPassed
from app.exams.models import ResultsPolicy
from tests.exams.attempt_helpers import SHORT, SINGLE, T0, TF, add_version, fixed_paper, make_bank, make_question, published_exam
from tests.factories import make_user


@pytest.fixture
def people(session: Session, org, trainee):  # type: ignore[no-untyped-def]
    author = make_user(session, Role.instructor, unit=org["dept"], username="grading_author")
    examiner = make_user(session, Role.examiner, unit=org["dept"], username="grading_examiner")
    session.commit()
    return author, examiner, trainee


@pytest.fixture
def published(session: Session):  # type: ignore[no-untyped-def]
    seen: list[object] = []
    with events.isolated():
        for kind in (ExamPassed, ExamFailed, AttemptRegraded):
            events.subscribe(kind, lambda _s, e: seen.append(e))
        yield seen


def _answer_all(session, user, attempt, responses) -> None:  # type: ignore[no-untyped-def]
    for entry in attempt.questions:
        if entry["question_id"] in responses:
            attempts.save_answer(session, user, attempt.id, entry["key"], responses[entry["question_id"]](entry), now=T0)


def test_manual_grading_decides_the_attempt(session, people, published) -> None:
    author, examiner, trainee = people
    bank = make_bank(session, author)
    single, short = make_question(session, bank, SINGLE), make_question(session, bank, SHORT, stem="发现隐患怎么办？", points="2")
    exam = published_exam(session, author, fixed_paper(session, author, [single, short]), pass_percent=60)
    attempt = attempts.start_attempt(session, trainee, exam.id, now=T0).attempt
    _answer_all(session, trainee, attempt, {single.id: lambda e: e["config"]["correct"], short.id: lambda e: "立即停止作业，报告班长"})
    attempts.submit(session, trainee, attempt.id, now=T0 + timedelta(minutes=1))
    assert attempt.needs_grading and attempt.passed is None and published == []
    queue = grading.grading_queue(session, examiner)
    assert len(queue) == 1 and queue[0].points == Decimal("2.00") and [r["criterion"] for r in queue[0].rubric] == ["停止作业", "报告"]
    with pytest.raises(ValidationFailed):
        grading.grade_answer(session, examiner, queue[0].answer.id, Decimal("3"), now=T0)
    with pytest.raises(PermissionDenied):
        grading.grade_answer(session, trainee, queue[0].answer.id, Decimal("2"), now=T0)
    grading.grade_answer(session, examiner, queue[0].answer.id, Decimal("1"), "只答到停止作业", now=T0 + timedelta(hours=1))
    assert (attempt.score, attempt.passed, attempt.needs_grading) == (Decimal("2.00"), True, False)
    assert [type(e) for e in published] == [ExamPassed] and published[0].percent == Decimal("66.67")
    assert grading.grading_queue(session, examiner) == []


def test_regrade_after_a_key_correction(session, people, published) -> None:
    author, examiner, trainee = people
    bank = make_bank(session, author)
    wrong_key = make_question(session, bank, TF, stem="茶水七分满。")
    other = make_question(session, bank, SINGLE)
    exam = published_exam(session, author, fixed_paper(session, author, [wrong_key, other]), pass_percent=100)
    attempt = attempts.start_attempt(session, trainee, exam.id, now=T0).attempt
    _answer_all(session, trainee, attempt, {wrong_key.id: lambda e: False, other.id: lambda e: e["config"]["correct"]})
    attempts.submit(session, trainee, attempt.id, now=T0 + timedelta(minutes=1))
    assert (attempt.score, attempt.passed) == (Decimal("1.00"), False)
    assert [type(e) for e in published] == [ExamFailed]
    # The author corrects the key: a new version says "false" is right.
    add_version(session, wrong_key, {"type": "true_false", "correct": False}, stem="茶水七分满。")
    assert grading.regrade_count(session, examiner, wrong_key.id) == 1
    report = grading.regrade_question(session, examiner, wrong_key.id, now=T0 + timedelta(days=1))
    assert (report.attempts, report.changed, report.now_passed, report.now_failed) == (1, 1, 1, 0)
    assert (attempt.score, attempt.passed) == (Decimal("2.00"), True)
    assert [type(e) for e in published] == [ExamFailed, ExamPassed, AttemptRegraded] and published[1].regraded
    assert grading.regrade_count(session, examiner, wrong_key.id) == 0  # done once
    assert grading.regrade_question(session, examiner, wrong_key.id).attempts == 0
    notices = grading.regrade_notices(session, trainee)
    assert len(notices) == 1 and notices[0][0].detail["new_score"] == "2.00"


def test_regrade_follows_the_shuffle(session, people, published) -> None:
    author, examiner, trainee = people
    bank = make_bank(session, author)
    config = {"type": "single_choice", "options": [{"id": f"o{i}", "text": f"选项{i}"} for i in range(5)], "correct": "o0"}
    q = make_question(session, bank, config, stem="五选一")
    exam = published_exam(session, author, fixed_paper(session, author, [q]))
    attempt = attempts.start_attempt(session, trainee, exam.id, now=T0, seed=11).attempt
    entry = attempt.questions[0]
    chosen = next(k for k, v in entry["mapping"].items() if v == "o3")  # the trainee picks the authored o3
    attempts.save_answer(session, trainee, attempt.id, entry["key"], chosen, now=T0)
    attempts.submit(session, trainee, attempt.id, now=T0)
    assert attempt.score == 0
    add_version(session, q, {**config, "correct": "o3"}, stem="五选一")
    grading.regrade_question(session, examiner, q.id, now=T0)
    assert attempt.score == Decimal("1.00")


def test_results_visibility(session, people) -> None:
    author, examiner, trainee = people
    bank = make_bank(session, author)
    exam = published_exam(session, author, fixed_paper(session, author, [make_question(session, bank, TF)]))
    attempt = attempts.start_attempt(session, trainee, exam.id, now=T0).attempt
    assert grading.visibility(exam, attempt, trainee, T0) == grading.Visibility(False, False)  # not finished
    attempts.submit(session, trainee, attempt.id, now=T0)
    cases = {ResultsPolicy.immediately: (True, True), ResultsPolicy.score_only: (True, False), ResultsPolicy.never: (False, False)}
    for policy, expected in cases.items():
        exam.results_policy = policy.value
        assert grading.visibility(exam, attempt, trainee, T0) == grading.Visibility(*expected)
    exam.results_policy = ResultsPolicy.after_close.value
    assert grading.visibility(exam, attempt, trainee, T0) == grading.Visibility(False, False)
    assert grading.visibility(exam, attempt, trainee, exam.closes_at) == grading.Visibility(True, True)
    assert grading.visibility(exam, attempt, examiner, T0) == grading.Visibility(True, True)
    items = grading.review(session, attempt)
    assert len(items) == 1 and items[0].key_text == "正确" or items[0].key_text == "True"
