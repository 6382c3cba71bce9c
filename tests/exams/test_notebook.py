"""错题本: wrong answers go in when an attempt is graded, N right answers running take them out (a wrong
one resets the streak and puts a cleared one back), practice exams draw from it, the notebook page grades."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from sqlmodel import Session

from app.accounts.models import Role
from app.exams import attempts, notebook
from app.exams.models import ExamKind
from tests.exams.attempt_helpers import SINGLE, T0, TF, fixed_paper, make_bank, make_question, published_exam
from tests.factories import make_user


@pytest.fixture
def author(session: Session, org):  # type: ignore[no-untyped-def]
    user = make_user(session, Role.instructor, unit=org["dept"], username="nb_author")
    session.commit()
    return user


def test_n_right_in_a_row_clears(session, author, trainee) -> None:
    bank = make_bank(session, author)
    q = make_question(session, bank, TF)
    uid, qid = trainee.id, q.id
    assert notebook.record(session, uid, qid, True, True, T0) is None  # right before ever wrong: nothing to do
    entry = notebook.record(session, uid, qid, False, False, T0)
    assert (entry.wrong_count, entry.right_streak, entry.cleared_at) == (1, 0, None)
    notebook.record(session, uid, qid, True, True, T0 + timedelta(minutes=1))
    notebook.record(session, uid, qid, False, False, T0 + timedelta(minutes=2))  # the streak starts again
    assert (entry.wrong_count, entry.right_streak) == (2, 0)
    notebook.record(session, uid, qid, True, True, T0 + timedelta(minutes=3))
    assert entry.cleared_at is None and notebook.open_count(session, uid) == 1
    notebook.record(session, uid, qid, True, True, T0 + timedelta(minutes=4))
    assert entry.cleared_at == T0 + timedelta(minutes=4) and notebook.open_count(session, uid) == 0
    notebook.record(session, uid, qid, False, False, T0 + timedelta(minutes=5))  # wrong again: back in
    assert entry.cleared_at is None and entry.wrong_count == 3 and notebook.open_count(session, uid) == 1


def test_graded_attempts_fill_the_notebook_and_practice_draws_from_it(session, author, trainee) -> None:
    bank = make_bank(session, author)
    qs = [make_question(session, bank, TF, stem=f"判断{i}") for i in range(3)]
    exam = published_exam(session, author, fixed_paper(session, author, qs))
    attempt = attempts.start_attempt(session, trainee, exam.id, now=T0).attempt
    for entry in attempt.questions:  # the first two wrong, the third left blank
        if entry["question_id"] != qs[2].id:
            attempts.save_answer(session, trainee, attempt.id, entry["key"], not entry["config"]["correct"], now=T0)
    attempts.submit(session, trainee, attempt.id, now=T0 + timedelta(minutes=1))
    items = notebook.entries(session, trainee.id)
    assert {i.question.id for i in items} == {q.id for q in qs}  # unanswered counts as wrong
    drawn = notebook.draw_for_practice(session, trainee.id, 2, random.Random(1))
    assert len(drawn) == 2 and {d.question_id for d in drawn} <= {q.id for q in qs}
    # A practice exam (每日一练) starts with notebook questions, then its own paper's.
    extra = make_question(session, bank, SINGLE, stem="新题")
    practice = published_exam(session, author, fixed_paper(session, author, [extra]), kind=ExamKind.practice,
                              practice_from_notebook=2, time_limit_s=None)
    assert practice.attempts_allowed is None and practice.paper_snapshot["practice"] == {"from_notebook": 2}
    run = attempts.start_attempt(session, trainee, practice.id, now=T0 + timedelta(minutes=5), seed=3).attempt
    ids = [e["question_id"] for e in run.questions]
    assert len(ids) == 3 and extra.id in ids and len(set(ids)) == 3


def test_answering_from_the_notebook_page(session, author, trainee) -> None:
    bank = make_bank(session, author)
    q = make_question(session, bank, TF)
    entry = notebook.record(session, trainee.id, q.id, False, False, T0)
    first = notebook.answer_from_notebook(session, trainee.id, entry.id, True, now=T0)
    assert first.correct and not first.cleared and first.explanation
    second = notebook.answer_from_notebook(session, trainee.id, entry.id, True, now=T0)
    assert second.cleared and notebook.open_count(session, trainee.id) == 0


def test_a_batch_is_recorded_as_the_same_answers_one_by_one(session, author, trainee, user_factory) -> None:
    """Grading records an attempt's answers in one batch: same entries as recording them in order."""
    bank = make_bank(session, author)
    qs = [make_question(session, bank, TF, stem=f"批量{i}") for i in range(4)]
    other = user_factory(Role.trainee, username="nb_one_by_one")
    history = [(qs[0].id, False), (qs[1].id, False), (qs[1].id, True), (qs[2].id, True), (qs[3].id, False)]
    for qid, correct in history[:2]:  # already in the notebook for both before the batch
        notebook.record(session, trainee.id, qid, correct, correct, T0)
        notebook.record(session, other.id, qid, correct, correct, T0)
    batch = [(qs[0].id, True), (qs[0].id, True), (qs[1].id, True), (qs[2].id, True), (qs[3].id, False), (qs[3].id, True)]
    at = T0 + timedelta(minutes=1)
    changed = notebook.record_many(session, trainee.id, [notebook.Graded(qid, c, c) for qid, c in batch], at)
    for qid, correct in batch:
        notebook.record(session, other.id, qid, correct, correct, at)

    def state(user_id: int) -> list[tuple[object, ...]]:
        return sorted((i.entry.question_id, i.entry.wrong_count, i.entry.right_streak, i.entry.cleared_at, i.entry.last_response)
                      for i in notebook.entries(session, user_id, include_cleared=True))

    assert state(trainee.id) == state(other.id)
    assert set(changed) == {qs[0].id, qs[1].id, qs[3].id}  # qs[2]: right and never wrong, nothing to record
    assert changed[qs[0].id].cleared_at == at and changed[qs[3].id].right_streak == 1
