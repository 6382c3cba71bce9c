"""Exams pages: my exams, intro, start → attempt page (server deadline, saved answers, seqs), result with
explanations, notebook practice; authoring (create, blueprint check, publish), grading and regrade pages."""

from __future__ import annotations

import pytest
from bs4 import BeautifulSoup
from sqlmodel import Session, select

from app.accounts.models import Role
from app.core.models import utcnow
from app.exams import attempts, papers
from app.exams.models import Attempt, Exam, NotebookEntry, PaperKind
from tests.exams.attempt_helpers import SHORT, SINGLE, TF, fixed_paper, make_bank, make_question, published_exam
from tests.factories import make_user
from tests.helpers import csrf_from, login


@pytest.fixture
def author(session: Session, org):  # type: ignore[no-untyped-def]
    user = make_user(session, Role.instructor, unit=org["dept"], username="view_author")
    session.commit()
    return user


@pytest.fixture
def exam(session: Session, author, trainee):  # type: ignore[no-untyped-def]
    bank = make_bank(session, author)
    qs = [make_question(session, bank, SINGLE, points="2"), make_question(session, bank, TF, stem="茶水七分满。")]
    exam = published_exam(session, author, fixed_paper(session, author, qs), now=utcnow(), title="周考：会议服务")
    session.commit()
    return exam


def test_trainee_takes_an_exam_through_the_pages(client, session, exam, trainee) -> None:
    login(client, "trainee1")
    page = BeautifulSoup(client.get("/exams").text, "html.parser")
    assert page.select_one("#open-exams a").text.strip() == "周考：会议服务"
    intro = client.get(f"/exams/{exam.id}")
    assert intro.status_code == 200 and "开始考试" in intro.text
    token = csrf_from(client, f"/exams/{exam.id}")
    started = client.post(f"/exams/{exam.id}/start", data={"csrf_token": token})
    assert started.status_code == 303
    take = client.get(started.headers["location"])
    assert take.status_code == 200 and take.headers["cache-control"] == "no-store"
    soup = BeautifulSoup(take.text, "html.parser")
    root = soup.select_one("#exam")
    attempt = session.exec(select(Attempt).where(Attempt.exam_id == exam.id)).one()
    assert root["data-attempt"] == str(attempt.id) and root["data-deadline"] == attempt.deadline.isoformat()
    assert root["data-save-url"] == f"/api/v1/attempts/{attempt.id}/answers/KEY"
    sections = soup.select("section.xq")
    assert len(sections) == 2 and sections[1].has_attr("hidden") and len(soup.select(".xm-nav-btn")) == 2
    assert soup.select_one("script[src='/static/js/exam.js']") and not soup.select("script:not([src])")
    # An answer saved through the API (as exam.js does, with the CSRF header) is shown checked on reload.
    tf = next(s for s in sections if s["data-type"] == "true_false")
    saved = client.put(f"/api/v1/attempts/{attempt.id}/answers/{tf['data-key']}", json={"response": True, "seq": 1},
                       headers={"X-CSRF-Token": token})
    assert saved.status_code == 200
    assert client.put(f"/api/v1/attempts/{attempt.id}/answers/{tf['data-key']}", json={"response": True, "seq": 2}).status_code == 403
    from app.accounts.models import AuthSession
    from app.exams.models import AttemptEvent

    logged = session.exec(select(AttemptEvent).where(AttemptEvent.attempt_id == attempt.id, AttemptEvent.kind == "save")).one()
    device = session.exec(select(AuthSession).where(AuthSession.user_id == trainee.id)).one()
    assert logged.session_id == device.id and logged.ip
    again = BeautifulSoup(client.get(f"/exams/attempts/{attempt.id}").text, "html.parser")
    tf_again = again.select_one(f"#q-{tf['data-key']}")
    assert tf_again["data-seq"] == "1" and tf_again.select_one("input[value=true]").has_attr("checked")
    assert client.post(f"/api/v1/attempts/{attempt.id}/submit", headers={"X-CSRF-Token": token}).status_code == 200
    assert client.get(f"/exams/attempts/{attempt.id}").headers["location"] == f"/exams/attempts/{attempt.id}/result"
    result = BeautifulSoup(client.get(f"/exams/attempts/{attempt.id}/result").text, "html.parser")
    assert result.select_one("#score").text.strip() in ("1.0", "0.0") and len(result.select("article.xr")) == 2
    assert "解析" in result.text and "桌签居中" in result.text


def test_notebook_page_practice(client, session, author, trainee) -> None:
    bank = make_bank(session, author)
    q = make_question(session, bank, TF)
    session.add(NotebookEntry(user_id=trainee.id, question_id=q.id, wrong_count=1))
    session.commit()
    entry = session.exec(select(NotebookEntry)).one()
    login(client, "trainee1")
    page = client.get("/exams/my/notebook")
    assert page.status_code == 200 and "#notebook-items" and "练习" in page.text
    practice = client.get(f"/exams/my/notebook?practice={entry.id}")
    token = csrf_from(client, f"/exams/my/notebook?practice={entry.id}")
    assert "practice-form" in practice.text
    answered = client.post(f"/exams/my/notebook/{entry.id}/answer", data={"csrf_token": token, "response": "true"})
    assert answered.status_code == 200 and 'id="practice-outcome"' in answered.text
    session.refresh(entry)
    assert entry.right_streak == 1


def test_notebook_answer_refuses_deeply_nested_json(client, session, author, trainee) -> None:  # type: ignore[no-untyped-def]
    """The practice form sends its answer as JSON in a form field: nesting is bounded (422 in Chinese), not
    parsed until Python's stack runs out (a 500 RecursionError before)."""
    bank = make_bank(session, author)
    q = make_question(session, bank, TF)
    session.add(NotebookEntry(user_id=trainee.id, question_id=q.id, wrong_count=1))
    session.commit()
    entry = session.exec(select(NotebookEntry)).one()
    login(client, "trainee1")
    token = csrf_from(client, f"/exams/my/notebook?practice={entry.id}")
    url = f"/exams/my/notebook/{entry.id}/answer"
    for deep in ("[" * 20_000 + "]" * 20_000, '{"a":' * 40 + "1" + "}" * 40):
        answered = client.post(url, data={"csrf_token": token, "response": deep})
        assert answered.status_code == 422 and "嵌套层数过多" in answered.text
    bad = client.post(url, data={"csrf_token": token, "response": '"\u0000"'})
    assert bad.status_code == 422 and "控制字符" in bad.text
    assert client.post(url, data={"csrf_token": token, "response": "true"}).status_code == 200
    session.refresh(entry)
    assert entry.right_streak == 1


def test_authoring_pages(client, session, author, trainee) -> None:
    bank = make_bank(session, author)
    for i in range(3):
        make_question(session, bank, SINGLE, stem=f"单选{i}")
    blueprint = papers.create_paper(session, author, "抽题卷", kind=PaperKind.blueprint, bank_id=bank.id)
    papers.add_rule(session, author, blueprint, papers.RuleSpec(count=5, points=papers.Decimal(2), type="single_choice"))
    session.commit()
    login(client, "view_author")
    assert client.get("/exams/staff/author").status_code == 200
    paper_page = BeautifulSoup(client.get(f"/exams/staff/papers/{blueprint.id}").text, "html.parser")
    cells = [td.text.strip() for td in paper_page.select("#blueprint-check tbody td")]
    assert cells[1:4] == ["5", "3", "3"] and "无法满足" in paper_page.select_one("#check-summary").text
    token = csrf_from(client, "/exams/staff/author/new")
    created = client.post("/exams/staff/author/new", data={
        "csrf_token": token, "title": "月考", "kind": "monthly", "paper_id": str(blueprint.id), "time_limit_min": "30",
        "attempts_allowed": "1", "pass_percent": "60", "results_policy": "immediately", "closes_at": "2099-01-01T18:00"})
    assert created.status_code == 303, created.text[:500]
    exam = session.exec(select(Exam).where(Exam.title == "月考")).one()
    assert exam.time_limit_s == 1800 and exam.closes_at.isoformat() == "2099-01-01T10:00:00+00:00"
    edit = BeautifulSoup(client.get(created.headers["location"]).text, "html.parser")
    assert edit.select_one("#publish-exam").has_attr("disabled")
    refused = client.post(f"/exams/staff/author/{exam.id}/publish", data={"csrf_token": token})
    assert refused.status_code == 303
    session.refresh(exam)
    assert exam.status == "draft"
    bad = client.post("/exams/staff/author/new", data={"csrf_token": token, "title": "", "paper_id": str(blueprint.id)})
    assert bad.status_code == 422
    client.cookies.clear()
    login(client, "trainee1")
    assert client.get("/exams/staff/author").status_code == 403


def test_grading_and_regrade_pages(client, session, author, trainee, user_factory) -> None:
    bank = make_bank(session, author)
    q = make_question(session, bank, SHORT, stem="发现隐患怎么办？", points="2")
    exam = published_exam(session, author, fixed_paper(session, author, [q]), now=utcnow())
    attempt = attempts.start_attempt(session, trainee, exam.id).attempt
    attempts.save_answer(session, trainee, attempt.id, str(q.id), "停止作业并报告")
    attempts.submit(session, trainee, attempt.id)
    user_factory(Role.examiner, username="examiner1")
    session.commit()
    login(client, "examiner1")
    page = BeautifulSoup(client.get("/exams/staff/grading").text, "html.parser")
    card = page.select_one("article.xg")
    assert "停止作业并报告" in card.text and "停止作业" in card.text
    token = csrf_from(client, "/exams/staff/grading")
    answer_id = card["id"].split("-")[1]
    graded = client.post(f"/exams/staff/grading/{answer_id}", data={"csrf_token": token, "points": "2", "note": "完整"})
    assert graded.status_code == 303
    session.refresh(attempt)
    assert attempt.passed is True and attempt.score == 2
    assert "没有待评分" in client.get("/exams/staff/grading").text or not BeautifulSoup(
        client.get("/exams/staff/grading").text, "html.parser").select("article.xg")
    listed = BeautifulSoup(client.get(f"/exams/staff/exams/{exam.id}/attempts").text, "html.parser")
    assert len(listed.select("#attempt-list tbody tr")) == 1
    log = BeautifulSoup(client.get(f"/exams/staff/attempts/{attempt.id}/log").text, "html.parser")
    assert [row.select("td")[1].text for row in log.select("#attempt-log tbody tr")] == ["start", "save", "submit", "manual_grade"]
    regrade = client.get(f"/exams/staff/regrade?question_id={q.id}")
    assert regrade.status_code == 200 and 'id="regrade-count"' in regrade.text


def test_demo_exams_are_idempotent(session) -> None:  # type: ignore[no-untyped-def]
    from sqlmodel import func

    from app.accounts import demo as accounts_demo
    from app.accounts import service as accounts
    from app.exams import exam_demo, exams
    from app.standards import demo as standards_demo

    accounts_demo.seed(session)
    standards_demo.seed(session)
    first = exam_demo.seed(session)
    assert first["exams_created"] == 3 and first["exam_results_created"] == 8
    counted = (session.exec(select(func.count()).select_from(Exam)).one(), session.exec(select(func.count()).select_from(Attempt)).one())
    again = exam_demo.seed(session)
    assert again["exams_created"] == 0 and again["exam_results_created"] == 0
    assert (session.exec(select(func.count()).select_from(Exam)).one(),
            session.exec(select(func.count()).select_from(Attempt)).one()) == counted
    trainee = accounts.get_user_by_username(session, "trainee")
    titles = {o.exam.title for o in exams.exams_open_for(session, trainee)}
    assert {exam_demo.PRACTICE, exam_demo.WEEKLY} <= titles and exam_demo.MONTHLY not in titles
    results = exams.results_of(session, accounts.get_user_by_username(session, "trainee5"))
    assert len(results) == 1 and results[0][0].score is not None


def test_demo_recurring_exams_have_an_open_edition_for_each_tier(session) -> None:  # type: ignore[no-untyped-def]
    from datetime import timedelta

    from sqlmodel import func

    from app.accounts import demo as accounts_demo
    from app.accounts import service as accounts
    from app.core.models import utcnow
    from app.exams import exam_demo, exams, schedules
    from app.exams.models import ExamSchedule

    accounts_demo.seed(session)
    first = exam_demo.seed(session)
    assert first["exam_schedules_created"] == 5 and first["exam_editions_published"] == 5
    rows = session.exec(select(ExamSchedule)).all()
    assert {r.kind for r in rows} == {"daily", "weekly", "monthly"}
    assert {r.tier for r in rows if r.kind == "daily"} == {"decision", "management", "execution"}
    counted = session.exec(select(func.count()).select_from(Exam)).one()
    again = exam_demo.seed(session)  # `make run` twice changes nothing
    assert again["exam_schedules_created"] == 0 and again["exam_editions_published"] == 0
    assert session.exec(select(func.count()).select_from(Exam)).one() == counted

    now = utcnow()

    def recurring_titles(username: str, at: object = None) -> set[str]:
        user = accounts.get_user_by_username(session, username)
        return {o.exam.title for o in exams.exams_open_for(session, user, at) if o.exam.schedule_id is not None}  # type: ignore[arg-type]

    today = now.astimezone(schedules.DISPLAY_TZ).date().isoformat()
    execution = recurring_titles("trainee")  # the execution tier
    assert f"日考：会议服务（执行层）（{today}）" in execution
    assert {t.split("（")[0] for t in execution} == {"日考：会议服务", "周考：会议服务综合", "月考：安全保卫与设施节能"}
    assert f"日考：食堂与保洁（管理层）（{today}）" in recurring_titles("instructor")  # management tier: its own daily

    # The worker's periodic job a day later: tomorrow's daily editions (and the next week's or month's when
    # the day crosses into one), each exactly once.
    tomorrow = now + timedelta(days=1)
    changed = [r for r in rows if schedules._edition_of(r, tomorrow).key != schedules._edition_of(r, now).key]  # type: ignore[union-attr]
    published = schedules.publish_due_editions(session, now=tomorrow)
    assert len(published) == len(changed) >= 3
    assert schedules.publish_due_editions(session, now=tomorrow + timedelta(minutes=5)) == []
    key = tomorrow.astimezone(schedules.DISPLAY_TZ).date().isoformat()
    assert f"日考：会议服务（执行层）（{key}）" in recurring_titles("trainee", tomorrow)
