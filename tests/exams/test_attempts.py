"""The attempt engine: deadlines from an injected clock, start/resume, concurrent starts on two real
sessions, sequence numbers (stale, replayed, clearing), late saves, idempotent submit and the sweep."""

from __future__ import annotations

import contextlib
import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlmodel import Session, select

from app.accounts.models import Role
from app.core.errors import Conflict, NotFound, ValidationFailed
from app.exams import attempts
from app.exams.models import Attempt, AttemptAnswer, AttemptEvent, AttemptStatus
from tests.exams.attempt_helpers import MULTI, SHORT, SINGLE, T0, TF, fixed_paper, make_bank, make_question, published_exam
from tests.factories import make_user

CLIENT = attempts.Client(session_id=None, ip="10.0.0.8")


@pytest.fixture
def author(session: Session, org):  # type: ignore[no-untyped-def]
    user = make_user(session, Role.instructor, unit=org["dept"], username="author1")
    session.commit()
    return user


@pytest.fixture
def exam_setup(session: Session, author, trainee):  # type: ignore[no-untyped-def]
    bank = make_bank(session, author)
    qs = [make_question(session, bank, SINGLE, points="2"), make_question(session, bank, MULTI, stem="会前准备哪些？"),
          make_question(session, bank, TF, stem="茶水七分满。")]
    paper = fixed_paper(session, author, qs)
    exam = published_exam(session, author, paper)
    session.commit()
    return exam, qs


def _key(attempt: Attempt, question) -> str:  # type: ignore[no-untyped-def]
    return next(e["key"] for e in attempt.questions if e["question_id"] == question.id)


def _right(attempt: Attempt, question):  # type: ignore[no-untyped-def]
    entry = next(e for e in attempt.questions if e["question_id"] == question.id)
    return entry["config"]["correct"]


def test_deadline_is_the_earlier_of_limit_and_window(session, author, trainee, exam_setup) -> None:
    exam, _qs = exam_setup
    started = attempts.start_attempt(session, trainee, exam.id, now=T0)
    assert started.created and started.attempt.deadline == T0 + timedelta(seconds=1200)
    late = T0 + timedelta(hours=7, minutes=50)  # ten minutes before the window closes
    assert attempts.deadline_for(exam, late) == exam.closes_at
    exam.time_limit_s = None
    assert attempts.deadline_for(exam, late) == exam.closes_at
    exam.closes_at = None
    assert attempts.deadline_for(exam, late) is None
    assert attempts.remaining_seconds(started.attempt, T0 + timedelta(seconds=200)) == 1000


def test_start_is_idempotent_and_resumes_with_answers(session, trainee, exam_setup) -> None:
    exam, qs = exam_setup
    first = attempts.start_attempt(session, trainee, exam.id, client=CLIENT, now=T0).attempt
    attempts.save_answer(session, trainee, first.id, _key(first, qs[0]), _right(first, qs[0]), 1, now=T0 + timedelta(seconds=5))
    again = attempts.start_attempt(session, trainee, exam.id, client=attempts.Client(ip="10.0.0.9"), now=T0 + timedelta(minutes=1))
    assert not again.created and again.attempt.id == first.id
    assert attempts.answers_of(session, first.id)[_key(first, qs[0])].response == _right(first, qs[0])
    kinds = [e.kind for e in session.exec(select(AttemptEvent).where(AttemptEvent.attempt_id == first.id).order_by(AttemptEvent.id))]
    assert kinds == ["start", "save", "resume"]
    ips = {e.ip for e in session.exec(select(AttemptEvent).where(AttemptEvent.attempt_id == first.id))}
    assert ips == {"10.0.0.8", "10.0.0.9", None}


def test_start_refused_outside_the_window_or_audience(session, author, trainee, exam_setup, user_factory, org) -> None:
    exam, _qs = exam_setup
    with pytest.raises(Conflict):
        attempts.start_attempt(session, trainee, exam.id, now=T0 + timedelta(hours=9))
    with pytest.raises(Conflict):
        attempts.start_attempt(session, trainee, exam.id, now=T0 - timedelta(hours=2))
    exam.tier = "decision"
    session.add(exam)
    with pytest.raises(NotFound):
        attempts.start_attempt(session, trainee, exam.id, now=T0)


def test_attempts_allowed(session, trainee, exam_setup) -> None:
    exam, _qs = exam_setup
    first = attempts.start_attempt(session, trainee, exam.id, now=T0).attempt
    attempts.submit(session, trainee, first.id, now=T0 + timedelta(minutes=1))
    with pytest.raises(Conflict):
        attempts.start_attempt(session, trainee, exam.id, now=T0 + timedelta(minutes=2))
    exam.attempts_allowed = 2
    second = attempts.start_attempt(session, trainee, exam.id, now=T0 + timedelta(minutes=2))
    assert second.created and second.attempt.number == 2


def test_sequence_numbers(session, trainee, exam_setup) -> None:
    exam, qs = exam_setup
    attempt = attempts.start_attempt(session, trainee, exam.id, now=T0).attempt
    key = _key(attempt, qs[0])
    options = [o["id"] for o in next(e for e in attempt.questions if e["key"] == key)["config"]["options"]]
    t = T0 + timedelta(seconds=10)
    first = attempts.save_answer(session, trainee, attempt.id, key, options[0], 1, now=t)
    attempts.save_answer(session, trainee, attempt.id, key, options[1], 3, now=t + timedelta(seconds=1))
    # The same save again (a retry after a lost acknowledgement): 200, unchanged.
    replay = attempts.save_answer(session, trainee, attempt.id, key, options[1], 3, now=t + timedelta(seconds=2))
    assert replay.seq == 3 and replay.saved_at == t + timedelta(seconds=1)
    # An older save arriving late (the offline queue replayed after a newer one) never overwrites it.
    with pytest.raises(attempts.StaleSave):
        attempts.save_answer(session, trainee, attempt.id, key, options[0], 2, now=t + timedelta(seconds=3))
    with pytest.raises(attempts.StaleSave):  # same seq, different response
        attempts.save_answer(session, trainee, attempt.id, key, options[2], 3, now=t + timedelta(seconds=3))
    stored = attempts.answers_of(session, attempt.id)[key]
    assert (stored.response, stored.seq) == (options[1], 3) and first.id == stored.id
    # Without a seq the save is the next one; null clears the answer.
    assert attempts.save_answer(session, trainee, attempt.id, key, None, now=t + timedelta(seconds=4)).seq == 4
    assert attempts.answers_of(session, attempt.id)[key].response is None
    kinds = [e.kind for e in session.exec(select(AttemptEvent).where(AttemptEvent.attempt_id == attempt.id).order_by(AttemptEvent.id))]
    assert kinds == ["start", "save", "save", "replay", "stale_save", "stale_save", "save"]


def test_a_save_is_three_statements_and_always_logged(session, trainee, exam_setup) -> None:
    """The hot path: the attempt's state with the stored answer, the answer, the log row. The attempt's
    questions are read once per process (and again after the cache is emptied: another process)."""
    import sqlalchemy as sa

    from app.core.cache import clear_all

    exam, qs = exam_setup
    attempt = attempts.start_attempt(session, trainee, exam.id, now=T0).attempt
    key = _key(attempt, qs[2])
    statements: list[str] = []
    connection = session.connection()

    def seen(_conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        statements.append(statement.split()[0].upper())

    sa.event.listen(connection, "before_cursor_execute", seen)
    try:
        clear_all()
        attempts.save_answer(session, trainee, attempt.id, key, True, 1, now=T0 + timedelta(seconds=5))
        cold = list(statements)
        for seq in (2, 3):
            statements.clear()
            attempts.save_answer(session, trainee, attempt.id, key, seq == 2, seq, now=T0 + timedelta(seconds=5 + seq))
            assert statements == ["SELECT", "UPDATE", "INSERT"]  # last_seen_at: not on every save
        statements.clear()
        attempts.save_answer(session, trainee, attempt.id, key, True, 4, now=T0 + timedelta(minutes=5))
        assert statements == ["SELECT", "UPDATE", "UPDATE", "INSERT"]  # a minute later it is refreshed
    finally:
        sa.event.remove(connection, "before_cursor_execute", seen)
    assert cold.count("SELECT") == 3 and cold[-2:] == ["INSERT", "INSERT"]  # + questions and stems, once
    session.refresh(attempt)
    assert attempt.last_seen_at == T0 + timedelta(minutes=5)
    saves = session.exec(select(AttemptEvent).where(AttemptEvent.attempt_id == attempt.id, AttemptEvent.kind == "save")
                         .order_by(AttemptEvent.id)).all()
    assert [(e.question_key, e.seq) for e in saves] == [(key, 1), (key, 2), (key, 3), (key, 4)]
    assert attempts.answers_of(session, attempt.id)[key].response is True


def test_bad_shapes_and_unknown_questions(session, trainee, exam_setup, user_factory) -> None:
    exam, qs = exam_setup
    attempt = attempts.start_attempt(session, trainee, exam.id, now=T0).attempt
    with pytest.raises(ValidationFailed):
        attempts.save_answer(session, trainee, attempt.id, _key(attempt, qs[0]), ["A", "B"], 1, now=T0)
    with pytest.raises(ValidationFailed):
        attempts.save_answer(session, trainee, attempt.id, _key(attempt, qs[0]), "Z", 1, now=T0)
    with pytest.raises(NotFound):
        attempts.save_answer(session, trainee, attempt.id, "999999", "A", 1, now=T0)
    other = user_factory(Role.trainee, username="other")
    with pytest.raises(NotFound):
        attempts.save_answer(session, other, attempt.id, _key(attempt, qs[0]), "A", 1, now=T0)


def test_late_save_closes_and_grades_with_what_was_saved(session, trainee, exam_setup) -> None:
    exam, qs = exam_setup
    attempt = attempts.start_attempt(session, trainee, exam.id, now=T0).attempt
    attempts.save_answer(session, trainee, attempt.id, _key(attempt, qs[0]), _right(attempt, qs[0]), 1,
                         now=attempt.deadline - timedelta(seconds=1))
    with pytest.raises(attempts.AttemptClosed):
        attempts.save_answer(session, trainee, attempt.id, _key(attempt, qs[2]), True, 1, now=attempt.deadline)
    assert attempt.status == AttemptStatus.finished and attempt.finish_reason == "deadline"
    assert attempt.score == Decimal("2.00") and attempt.max_score == Decimal("4.00") and attempt.passed is False
    answers = attempts.answers_of(session, attempt.id)
    assert len(answers) == 3 and answers[_key(attempt, qs[2])].response is None  # one row per question
    with pytest.raises(attempts.AttemptClosed):  # and after the close, plainly refused
        attempts.save_answer(session, trainee, attempt.id, _key(attempt, qs[2]), True, 2, now=attempt.deadline)


def test_submit_is_idempotent(session, trainee, exam_setup) -> None:
    exam, qs = exam_setup
    attempt = attempts.start_attempt(session, trainee, exam.id, now=T0).attempt
    for q in qs:
        attempts.save_answer(session, trainee, attempt.id, _key(attempt, q), _right(attempt, q), 1, now=T0 + timedelta(minutes=1))
    done = attempts.submit(session, trainee, attempt.id, now=T0 + timedelta(minutes=2))
    result = (done.status, done.score, done.max_score, done.passed, done.submitted_at)
    assert result == ("finished", Decimal("4.00"), Decimal("4.00"), True, T0 + timedelta(minutes=2))
    again = attempts.submit(session, trainee, attempt.id, now=T0 + timedelta(minutes=3))
    assert (again.status, again.score, again.max_score, again.passed, again.submitted_at) == result
    with pytest.raises(attempts.AttemptClosed):
        attempts.save_answer(session, trainee, attempt.id, _key(attempt, qs[0]), _right(attempt, qs[0]), 9, now=T0 + timedelta(minutes=3))


def test_resume_after_the_deadline_closes_the_old_attempt(session, trainee, exam_setup) -> None:
    exam, _qs = exam_setup
    exam.attempts_allowed = 2
    first = attempts.start_attempt(session, trainee, exam.id, now=T0).attempt
    later = attempts.start_attempt(session, trainee, exam.id, now=first.deadline + timedelta(minutes=1))
    assert later.created and later.attempt.id != first.id
    assert first.status == AttemptStatus.finished and first.finish_reason == "deadline"


def test_sweep_closes_overdue_attempts(session, trainee, exam_setup, user_factory) -> None:
    exam, qs = exam_setup
    gone = attempts.start_attempt(session, trainee, exam.id, now=T0).attempt
    attempts.save_answer(session, trainee, gone.id, _key(gone, qs[2]), True, 1, now=T0 + timedelta(minutes=1))
    other = user_factory(Role.trainee, username="still_here")
    here = attempts.start_attempt(session, other, exam.id, now=T0 + timedelta(minutes=15)).attempt
    outcome = attempts.sweep(session, now=T0 + timedelta(minutes=21))
    assert outcome == {"marked_overdue": 1, "closed": 1, "abandoned": 0}
    session.refresh(gone)
    session.refresh(here)
    assert (gone.status, gone.finish_reason, gone.score) == ("finished", "swept", Decimal("1.00"))
    assert here.status == AttemptStatus.in_progress
    assert attempts.sweep(session, now=T0 + timedelta(minutes=21)) == {"marked_overdue": 0, "closed": 0, "abandoned": 0}
    assert session.exec(select(AttemptEvent).where(AttemptEvent.attempt_id == gone.id, AttemptEvent.kind == "sweep")).first()


def test_the_sweep_job_runs_the_sweep(session, trainee, exam_setup) -> None:
    from app.core.jobs import get_handler
    from app.exams.exam_jobs import SWEEP_JOB
    from app.worker.housekeeping import PERIODIC_JOBS

    assert SWEEP_JOB in dict(PERIODIC_JOBS)
    exam, _qs = exam_setup
    gone = attempts.start_attempt(session, trainee, exam.id, now=T0).attempt  # its deadline passed long ago
    spec = get_handler(SWEEP_JOB)
    assert spec is not None and spec.func(session, {}, None) == {"marked_overdue": 1, "closed": 1, "abandoned": 0}  # type: ignore[arg-type]
    session.refresh(gone)
    assert gone.status == AttemptStatus.finished


def test_short_answers_wait_for_a_grader(session, author, trainee) -> None:
    bank = make_bank(session, author)
    qs = [make_question(session, bank, SINGLE), make_question(session, bank, SHORT, stem="发现隐患怎么办？", points="2")]
    exam = published_exam(session, author, fixed_paper(session, author, qs))
    attempt = attempts.start_attempt(session, trainee, exam.id, now=T0).attempt
    attempts.save_answer(session, trainee, attempt.id, _key(attempt, qs[1]), "立即停止作业", 1, now=T0)
    attempts.submit(session, trainee, attempt.id, now=T0 + timedelta(minutes=1))
    assert attempt.needs_grading and attempt.passed is None and attempt.score == Decimal(0)


# ---------------------------------------------------------------------------------------------
# Two real sessions starting at once


def _concurrent_starts(database, exam_id: int, user_id: int):  # type: ignore[no-untyped-def]
    from app.accounts.models import User

    barrier = threading.Barrier(2, timeout=3)
    real_draw = attempts._draw
    results: list[object] = []

    def slow_draw(*args, **kwargs):  # type: ignore[no-untyped-def]
        # Both pass the "is one in progress?" check before either inserts (PostgreSQL). On SQLite the
        # second start waits for the first one's write lock instead, and the barrier times out.
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait()
        return real_draw(*args, **kwargs)

    def run() -> None:
        try:
            with database.transaction() as s:
                user = s.get(User, user_id)
                started = attempts.start_attempt(s, user, exam_id)
                results.append((started.attempt.id, started.created))
        except Exception as exc:  # noqa: BLE001
            results.append(exc)

    attempts._draw = slow_draw  # type: ignore[assignment]
    try:
        threads = [threading.Thread(target=run) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
    finally:
        attempts._draw = real_draw  # type: ignore[assignment]
    return results


def test_two_concurrent_starts_make_one_attempt(committed_database) -> None:
    from app.core.models import utcnow
    from tests.factories import make_unit

    with committed_database.transaction() as s:
        unit = make_unit(s, "并发测试单位")
        author = make_user(s, Role.instructor, unit=unit, username="race_author")
        learner = make_user(s, Role.trainee, unit=unit, username="race_trainee")
        bank = make_bank(s, author)
        qs = [make_question(s, bank, SINGLE), make_question(s, bank, TF, stem="对吗？")]
        exam = published_exam(s, author, fixed_paper(s, author, qs), now=utcnow())
        exam_id, user_id = exam.id, learner.id
    results = _concurrent_starts(committed_database, exam_id, user_id)
    assert not [r for r in results if isinstance(r, Exception)], results
    assert sorted(created for _id, created in results) == [False, True]  # type: ignore[misc]
    assert len({attempt_id for attempt_id, _c in results}) == 1  # type: ignore[misc]
    with committed_database.transaction() as s:
        assert len(s.exec(select(Attempt).where(Attempt.exam_id == exam_id)).all()) == 1
        logged = {e.kind: e.detail for e in s.exec(select(AttemptEvent))}
        assert sorted(logged) == ["resume", "start"]
        if s.get_bind().dialect.name == "postgresql":  # both passed the check: the loser's insert hit the index
            assert logged["resume"] == {"race": True}


def test_answers_survive_as_committed(committed_database) -> None:
    """An acknowledged save is in the database: a fresh session (another kiosk) reads it back."""
    from app.accounts.models import User
    from app.core.models import utcnow
    from tests.factories import make_unit

    with committed_database.transaction() as s:
        unit = make_unit(s, "持久化测试单位")
        author = make_user(s, Role.instructor, unit=unit, username="dur_author")
        learner = make_user(s, Role.trainee, unit=unit, username="dur_trainee")
        bank = make_bank(s, author)
        q = make_question(s, bank, TF, stem="对吗？")
        exam = published_exam(s, author, fixed_paper(s, author, [q]), now=utcnow())
        attempt = attempts.start_attempt(s, learner, exam.id).attempt
        attempt_id, user_id = attempt.id, learner.id
    with committed_database.transaction() as s:
        attempts.save_answer(s, s.get(User, user_id), attempt_id, str(q.id), False, 1)
    with committed_database.transaction(write=False) as s:
        assert s.exec(select(AttemptAnswer).where(AttemptAnswer.attempt_id == attempt_id)).one().response is False
