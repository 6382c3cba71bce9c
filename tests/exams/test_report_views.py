"""Statistics page and export, the competition leaderboard fragment, and the recurring-exam page."""

from __future__ import annotations

import io

from bs4 import BeautifulSoup
from openpyxl import load_workbook

from app.exams.models import ExamKind, ExamSchedule
from tests.exams.test_reports import exam_with_results as exam_with_results  # noqa: PLC0414 (a fixture)
from tests.helpers import csrf_from, login


def test_statistics_page_and_export(client, session, exam_with_results) -> None:  # type: ignore[no-untyped-def]
    _author, exam, qs = exam_with_results
    session.commit()
    login(client, "report_author")
    page = client.get(f"/exams/staff/author/{exam.id}/statistics")
    assert page.status_code == 200
    soup = BeautifulSoup(page.text, "html.parser")
    assert soup.find(id=f"item-{qs[4].id}")["class"] == ["row-warning"]
    assert soup.find(id="stats-dubious") is not None and len(soup.find(id="stats-histogram").find_all("li")) == 10
    export = client.get(f"/exams/staff/author/{exam.id}/statistics.xlsx")
    assert export.status_code == 200 and load_workbook(io.BytesIO(export.content)).worksheets[0].max_row == 9
    client.cookies.clear()
    login(client, "rep0")  # a trainee
    assert client.get(f"/exams/staff/author/{exam.id}/statistics").status_code == 403


def test_leaderboard_only_for_competitions(client, session, exam_with_results) -> None:  # type: ignore[no-untyped-def]
    _author, exam, _qs = exam_with_results
    session.commit()
    login(client, "rep3")
    assert client.get(f"/exams/{exam.id}/leaderboard").status_code == 404
    exam.kind = ExamKind.competition.value
    session.add(exam)
    session.commit()
    fragment = client.get(f"/exams/{exam.id}/leaderboard", headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and "<html" not in fragment.text
    rows = BeautifulSoup(fragment.text, "html.parser").find(id="leaderboard-people").tbody.find_all("tr")
    assert len(rows) == 8 and 'hx-trigger="every 10s"' in fragment.text


def test_schedule_page_creates_and_pauses(client, session, org) -> None:  # type: ignore[no-untyped-def]
    from decimal import Decimal

    from app.accounts.models import Role
    from app.exams import papers
    from app.exams.models import PaperKind
    from tests.exams.attempt_helpers import SINGLE, make_bank, make_question
    from tests.factories import make_user

    author = make_user(session, Role.instructor, unit=org["dept"], username="sched1")
    bank = make_bank(session, author)
    for i in range(3):
        make_question(session, bank, SINGLE, stem=f"题{i}")
    paper = papers.create_paper(session, author, "日考抽题", kind=PaperKind.blueprint, bank_id=bank.id)
    papers.add_rule(session, author, paper, papers.RuleSpec(count=2, points=Decimal("5")))
    session.commit()
    login(client, "sched1")
    token = csrf_from(client, "/exams/staff/schedules")
    bad = client.post("/exams/staff/schedules", data={"csrf_token": token, "title": "", "kind": "daily", "paper_id": str(paper.id)})
    assert bad.status_code == 422 and "flash-error" in bad.text
    ok = client.post("/exams/staff/schedules", data={"csrf_token": token, "title": "保洁日考", "kind": "daily",
                                                      "paper_id": str(paper.id), "opens_at_local": "07:30"})
    assert ok.status_code == 303
    schedule = session.exec(__import__("sqlmodel").select(ExamSchedule)).one()
    assert schedule.title == "保洁日考" and schedule.opens_at_local == "07:30" and schedule.is_active
    client.post(f"/exams/staff/schedules/{schedule.id}/active", data={"csrf_token": token, "active": "0"})
    session.refresh(schedule)
    assert not schedule.is_active


def test_export_survives_control_characters_already_stored(client, session, exam_with_results) -> None:  # type: ignore[no-untyped-def]
    """Text stored before input was checked (or brought in by an import) may hold control characters that a
    sheet cannot store: the export drops them instead of failing (a 500 before), and keeps "=…" as text."""
    from sqlmodel import select, update

    from app.accounts.models import User
    from app.exams.models import QuestionVersion

    _author, exam, qs = exam_with_results
    for user in session.exec(select(User).where(User.username.in_(["rep0", "rep1"]))):  # type: ignore[attr-defined]
        user.display_name = "张\x01三\x07\x1b" if user.username == "rep0" else "=HYPERLINK(\"http://x\")"
        session.add(user)
    session.exec(update(QuestionVersion).where(QuestionVersion.question_id == qs[0].id).values(stem="单选\x08题"))  # type: ignore[call-overload]
    session.commit()
    login(client, "report_author")
    export = client.get(f"/exams/staff/author/{exam.id}/statistics.xlsx")
    assert export.status_code == 200
    book = load_workbook(io.BytesIO(export.content))
    names = {row[0].value: row[0].data_type for row in book.worksheets[0].iter_rows(min_row=2)}
    assert "张三" in names and names["=HYPERLINK(\"http://x\")"] == "s"
    assert "单选题" in [row[0].value for row in book.worksheets[1].iter_rows(min_row=2)]
