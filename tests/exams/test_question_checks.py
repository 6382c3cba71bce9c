"""Texts that sanitise down to nothing (issue 13, item 3): `=<script>x</script>` as a GIFT option was stored as
empty text and then broke the bank's list, the question, the export, every exam using it and starting one.

Refused at every entry point (the importers, the editor, the JSON API, edits) with a Chinese message naming
the line and the option; rows stored before the fix (written here straight into the tables) never break a
read, are flagged for their author, and never reach a trainee again (question_checks)."""

from __future__ import annotations

import io
import random
import zipfile
from decimal import Decimal
from typing import Any

import pytest
from bs4 import BeautifulSoup
from openpyxl import Workbook
from sqlmodel import Session, select

from app.accounts.models import User
from app.core.errors import ValidationFailed
from app.core.models import utcnow
from app.exams import attempts, exams, papers, question_checks, schedules
from app.exams import bank as bank_service
from app.exams import question_types as qt
from app.exams.bank_schemas import QuestionIn
from app.exams.drafts import build_draft
from app.exams.importers import parse_import
from app.exams.models import Attempt, Exam, ExamSchedule, PaperKind, Question, QuestionBank, QuestionVersion
from tests.exams import test_bank as bank_tests
from tests.exams.attempt_helpers import SINGLE, T0, TF, fixed_paper, make_question, published_exam
from tests.helpers import api_token, csrf_from, login

author, qbank = bank_tests.author, bank_tests.qbank  # fixtures
BASE = "/api/v1/question-banks"

EMPTY_OPTION = "第 2 个选项在去掉不安全的标记和空白后为空。"
POISONED_SINGLE = {"type": "single_choice", "options": [{"id": "a", "text": "居中"}, {"id": "b", "text": ""},
                                                        {"id": "c", "text": "靠右"}], "correct": "a"}
POISONED_MATCHING = {"type": "matching", "left": [{"id": "L1", "text": "茶"}], "pairs": {"L1": "R1"},
                     "right": [{"id": "R1", "text": ""}, {"id": "R2", "text": "杯"}]}


def soup(response: Any) -> BeautifulSoup:
    return BeautifulSoup(response.text, "html.parser")


def stored_before_the_fix(session: Session, bank: QuestionBank, config: dict[str, Any], *, stem: str = "桌签应如何摆放？",
                          question: Question | None = None) -> Question:
    """A question (or a new version of `question`) as the bank stored it before texts were checked after
    sanitising: the config goes into the table as given, never validated."""
    if question is None:
        question = Question(bank_id=bank.id or 0, type=config["type"], fingerprint=qt.fingerprint(config["type"], stem))
        session.add(question)
        session.flush()
    question.version_count += 1
    version = QuestionVersion(question_id=question.id or 0, number=question.version_count, type=config["type"], stem=stem,
                              config={"v": 1, **config}, points=Decimal(1), difficulty=3, explanation="", clause_ids=[])
    session.add(version)
    session.flush()
    question.current_version_id = version.id
    session.add(question)
    session.flush()
    return question


# ---------------------------------------------------------------------------------------------
# The rule: required texts are checked after sanitising, in the one place content is validated


@pytest.mark.parametrize(("config", "message"), [
    ({"options": [{"id": "A", "text": "居中"}, {"id": "B", "text": "<script>x</script>"}], "correct": "A"}, EMPTY_OPTION),
    ({"options": [{"id": "A", "text": "居中"}, {"id": "B", "text": "<b> </b>"}], "correct": "A"}, EMPTY_OPTION),
    ({"options": [{"id": "A", "text": "居中"}, {"id": "B", "text": "&nbsp;"}], "correct": "A"}, EMPTY_OPTION),
    ({"options": [{"id": "A", "text": "居中"}, {"id": "B", "text": "<p>\u200b</p>"}], "correct": "A"}, EMPTY_OPTION),
    ({"options": [{"id": "A", "text": "居中"}, {"id": "B", "text": '<img src="javascript:alert(1)">'}], "correct": "A"},
     EMPTY_OPTION),
], ids=["script", "blank-bold", "nbsp", "zero-width", "image-without-source"])
def test_an_option_empty_once_sanitised_is_refused(config: dict[str, Any], message: str) -> None:
    draft, problems = build_draft(type="single_choice", stem="桌签应如何摆放？", config=config)
    assert draft is None and problems == [message]


def test_each_required_text_is_named() -> None:
    def problems(kind: str, config: dict[str, Any], stem: str = "题干") -> list[str]:
        return build_draft(type=kind, stem=stem, config=config)[1]

    assert problems("matching", POISONED_MATCHING) == ["右侧第 1 项在去掉不安全的标记和空白后为空。"]
    assert problems("matching", {**POISONED_MATCHING, "left": [{"id": "L1", "text": "<style>a</style>"}],
                                 "right": [{"id": "R1", "text": "水"}, {"id": "R2", "text": "杯"}]}) == [
        "左侧第 1 项在去掉不安全的标记和空白后为空。"]
    assert problems("ordering", {"items": [{"id": "s1", "text": "除尘"}, {"id": "s2", "text": "<!-- -->"}]}) == [
        "第 2 个排序项在去掉不安全的标记和空白后为空。"]
    assert problems("multiple_choice", {"options": [{"id": "A", "text": "<script></script>"}, {"id": "B", "text": "桌签"}],
                                        "correct": ["B"]}) == ["第 1 个选项在去掉不安全的标记和空白后为空。"]
    assert problems("fill_blank", {"blanks": [{"accepted": ["15"]}, {"accepted": ["。"]}]}, "每隔____分钟续水____") == [
        "第 2 个空有答案在忽略空格和标点后为空。"]
    assert problems("true_false", {"correct": True}, stem="<script>alert(1)</script>") == [
        "题干在去掉不安全的标记和空白后为空。"]


def test_what_shows_something_is_kept() -> None:
    image = build_draft(type="single_choice", stem='<img src="https://example.org/sign.png">', config={
        "options": [{"id": "A", "text": '<img src="https://example.org/a.png">'}, {"id": "B", "text": "<b>0</b>"}],
        "correct": "A"})[0]
    assert image is not None and image.config.options[1].text == "<b>0</b>"  # type: ignore[union-attr]


def test_a_stored_config_still_reads() -> None:
    """Rows written before the check must keep grading and showing (the key is intact)."""
    config = qt.parse_config(POISONED_SINGLE)
    assert [o.text for o in config.options] == ["居中", "", "靠右"]  # type: ignore[union-attr]
    assert qt.grade(config, "a").correct and not qt.grade(config, "b").correct
    assert qt.parse_config(POISONED_MATCHING).right[0].text == ""  # type: ignore[union-attr]


# ---------------------------------------------------------------------------------------------
# Every entry point refuses, all or nothing, with the line and a Chinese message

GIFT_POISON = """::好::桌签字面应朝向入口。{T}

::坏::桌签应如何摆放？{=居中 ~<script>x</script> ~靠右}

::配对::把物品与用途配对。{=茶 -> <script>x</script> =水 -> 杯}
"""


def _xlsx_with_poison() -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["题型", "题干", "选项A", "选项B", "选项C", "答案"])
    sheet.append(["单选", "桌签应如何摆放？", "居中", "[html]<script>x</script>", "靠右", "A"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _qti_with_poison() -> bytes:
    item = """<assessmentItem xmlns="http://www.imsglobal.org/xsd/imsqti_v2p1" identifier="q1" title="桌签">
<responseDeclaration identifier="RESPONSE" cardinality="single" baseType="identifier">
<correctResponse><value>A</value></correctResponse></responseDeclaration>
<itemBody><choiceInteraction responseIdentifier="RESPONSE" maxChoices="1"><prompt>桌签应如何摆放？</prompt>
<simpleChoice identifier="A">居中</simpleChoice><simpleChoice identifier="B"><b> </b></simpleChoice>
</choiceInteraction></itemBody></assessmentItem>"""
    return item.encode()


@pytest.mark.parametrize(("fmt", "data", "loc"), [
    ("gift", GIFT_POISON.encode(), 3),
    ("aiken", "桌签应如何摆放？\nA. 居中\nB. \u200b\nANSWER: A\n".encode(), 1),
    ("moodle-xml", ("<quiz><question type=\"multichoice\"><name><text>桌签</text></name>"
                    "<questiontext format=\"html\"><text>桌签应如何摆放？</text></questiontext><single>true</single>"
                    "<answer fraction=\"100\"><text>居中</text></answer>"
                    "<answer fraction=\"0\"><text><![CDATA[<script>x</script>]]></text></answer></question></quiz>").encode(), "1"),
    ("qti", _qti_with_poison(), "q.xml"),
    ("xlsx", _xlsx_with_poison(), 2),
], ids=["gift", "aiken", "moodle-xml", "qti", "xlsx"])
def test_every_importer_refuses_an_option_empty_once_sanitised(fmt: str, data: bytes, loc: int | str) -> None:
    result = parse_import(data, fmt, filename="q.xml" if fmt == "qti" else "")
    assert not result.ok and [(e.loc, e.msg) for e in result.errors][0] == (loc, EMPTY_OPTION)


def test_gift_import_over_the_api_is_refused_with_line_numbers_and_stores_nothing(client, session, author, qbank) -> None:
    headers = api_token(client, "instructor1")
    response = client.post(f"{BASE}/{qbank.id}/imports", headers=headers, files={"file": ("q.gift", GIFT_POISON.encode())},
                           data={"format": "gift"})
    assert response.status_code == 422 and response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["errors"] == [{"loc": ["file", 3], "msg": EMPTY_OPTION},
                                         {"loc": ["file", 5], "msg": "右侧第 1 项在去掉不安全的标记和空白后为空。"}]
    assert session.exec(select(Question)).all() == [] and session.exec(select(QuestionVersion)).all() == []


def test_gift_import_page_shows_the_lines_in_chinese(client, session, author, qbank) -> None:
    login(client, "instructor1")
    response = client.post(f"/author/question-banks/{qbank.id}/import", files={"file": ("q.gift", GIFT_POISON.encode())},
                           data={"format": "gift", "csrf_token": csrf_from(client, "/author/question-banks")})
    assert response.status_code == 422
    errors = [li.get_text(" ", strip=True) for li in soup(response).select("#import-errors li")]
    assert any("第 3 行" in e and EMPTY_OPTION in e for e in errors), errors
    assert soup(response).select_one("#confirm-form") is None
    assert session.exec(select(Question)).all() == []


def test_the_question_form_shows_the_chinese_error(client, session, author, qbank) -> None:
    login(client, "instructor1")
    response = client.post(f"/author/question-banks/{qbank.id}/questions", data={
        "csrf_token": csrf_from(client, "/author/question-banks"), "type": "single_choice", "stem": "桌签应如何摆放？",
        "opt_text": ["居中", "<script>x</script>", "靠右"], "opt_id": ["", "", ""], "opt_correct": "0"})
    assert response.status_code == 422
    assert soup(response).select_one("#question-error").get_text(strip=True) == EMPTY_OPTION
    assert session.exec(select(Question)).all() == []


def test_the_json_api_refuses_on_create_and_on_edit(client, session, author, qbank) -> None:
    headers = api_token(client, "instructor1")
    bad = {"type": "single_choice", "stem": "桌签应如何摆放？", "config": {
        "options": [{"id": "A", "text": "居中"}, {"id": "B", "text": "&nbsp;"}], "correct": "A"}}
    created = client.post(f"{BASE}/{qbank.id}/questions", headers=headers, json=bad)
    assert created.status_code == 422 and created.json()["errors"] == [{"loc": ["body"], "msg": EMPTY_OPTION}]
    good = client.post(f"{BASE}/{qbank.id}/questions", headers=headers, json={**bad, "config": {
        "options": [{"id": "A", "text": "居中"}, {"id": "B", "text": "靠右"}], "correct": "A"}})
    assert good.status_code == 201
    qid = good.json()["id"]
    edited = client.patch(f"/api/v1/questions/{qid}", headers=headers, json={"config": bad["config"]})
    assert edited.status_code == 422 and edited.json()["errors"][0]["msg"] == EMPTY_OPTION
    stem = client.patch(f"/api/v1/questions/{qid}", headers=headers, json={"stem": "<script>x</script>"})
    assert stem.status_code == 422 and stem.json()["errors"][0]["msg"] == "题干在去掉不安全的标记和空白后为空。"
    assert client.get(f"/api/v1/questions/{qid}", headers=headers).json()["version"] == 1


# ---------------------------------------------------------------------------------------------
# Rows stored before the fix: every read answers, and the author sees what to fix


@pytest.fixture
def poisoned(session: Session, author: User, qbank: QuestionBank) -> tuple[Question, Question]:
    good = bank_service.create_question(session, author, qbank, QuestionIn(
        type="true_false", stem="桌签字面应朝向入口。", config={"correct": True})).question
    bad = stored_before_the_fix(session, qbank, POISONED_SINGLE)
    session.commit()
    return good, bad


def test_the_bank_api_lists_and_shows_a_bad_row_with_its_problem(client, author, qbank, poisoned) -> None:
    good, bad = poisoned
    headers = api_token(client, "instructor1")
    listed = client.get(f"{BASE}/{qbank.id}/questions", headers=headers)
    assert listed.status_code == 200
    rows = {row["id"]: row for row in listed.json()["items"]}
    assert rows[str(bad.id)]["problems"] == [EMPTY_OPTION] and rows[str(good.id)]["problems"] == []
    assert [o["text"] for o in rows[str(bad.id)]["options"]] == ["居中", "", "靠右"]
    shown = client.get(f"/api/v1/questions/{bad.id}", headers=headers)
    assert shown.status_code == 200 and shown.json()["problems"] == [EMPTY_OPTION]


def test_the_bank_page_flags_it_and_the_editor_shows_the_problem_and_saves_a_fix(client, session, author, qbank,
                                                                                  poisoned) -> None:
    good, bad = poisoned
    login(client, "instructor1")
    page = client.get(f"/author/question-banks/{qbank.id}")
    assert page.status_code == 200
    assert [a.get_text() for a in soup(page).select("#invalid-questions a")] == [f"#{bad.id}"]
    assert soup(page).select_one(f"#question-{bad.id} .qb-invalid") is not None
    assert soup(page).select_one(f"#question-{good.id} .qb-invalid") is None
    path = f"/author/question-banks/{qbank.id}/questions/{bad.id}"
    editor = client.get(path)
    assert editor.status_code == 200
    assert [li.get_text() for li in soup(editor).select("#question-problems li")] == [EMPTY_OPTION]
    still_bad = client.post(path, data={"csrf_token": csrf_from(client, path), "type": "single_choice", "stem": "桌签应如何摆放？",
                                        "opt_text": ["居中", "<b> </b>", "靠右"], "opt_id": ["a", "b", "c"], "opt_correct": "0",
                                        "expected_version": "1"})
    assert still_bad.status_code == 422 and soup(still_bad).select_one("#question-error").get_text(strip=True) == EMPTY_OPTION
    fixed = client.post(path, data={"csrf_token": csrf_from(client, path), "type": "single_choice", "stem": "桌签应如何摆放？",
                                    "opt_text": ["居中", "靠左", "靠右"], "opt_id": ["a", "b", "c"], "opt_correct": "0",
                                    "expected_version": "1"})
    assert fixed.status_code == 303
    session.expire_all()
    assert question_checks.invalid_questions(session, qbank.id or 0) == []
    assert soup(client.get(path)).select_one("#question-problems") is None


def test_a_bad_question_can_still_be_retired(client, session, author, qbank, poisoned) -> None:
    _good, bad = poisoned
    headers = api_token(client, "instructor1")
    retired = client.patch(f"/api/v1/questions/{bad.id}", headers=headers, json={"status": "retired", "tags": ["待修改"]})
    assert retired.status_code == 200, retired.text
    assert retired.json()["status"] == "retired" and retired.json()["version"] == 1  # no new version of the bad content


@pytest.mark.parametrize("fmt", ["xlsx", "moodle-xml", "qti"])
def test_export_skips_a_bad_row_and_names_it(client, session, author, qbank, poisoned, fmt: str) -> None:
    good, bad = poisoned
    headers = api_token(client, "instructor1")
    response = client.get(f"{BASE}/{qbank.id}/export?format={fmt}", headers=headers)
    assert response.status_code == 200 and response.headers["x-skipped-questions"] == str(bad.id)
    again = parse_import(response.content, fmt, filename=f"export.{'zip' if fmt == 'qti' else fmt}")
    assert again.ok, again.errors
    assert [qt.plain_text(d.stem) for d in again.drafts] == ["桌签字面应朝向入口。"]
    login(client, "instructor1")
    assert client.get(f"/author/question-banks/{qbank.id}/export?format={fmt}").status_code == 200
    if fmt == "qti":
        assert zipfile.is_zipfile(io.BytesIO(response.content))


# ---------------------------------------------------------------------------------------------
# Exams: publishing checks, draws leave bad questions out, starting never fails on one


def test_publishing_a_fixed_paper_with_a_bad_question_is_refused_naming_it(client, session, author, qbank, poisoned) -> None:
    good, bad = poisoned
    paper = fixed_paper(session, author, [good, bad])
    exam = published_exam(session, author, paper, publish=False, now=utcnow())
    with pytest.raises(ValidationFailed) as refused:
        exams.publish_exam(session, author, exam)
    assert f"#{bad.id}（{EMPTY_OPTION}）" in refused.value.translated_detail()
    assert f"#{good.id}" not in refused.value.translated_detail()
    assert exam.status == "draft"
    session.commit()
    login(client, "instructor1")
    path = f"/exams/staff/author/{exam.id}/publish"
    response = client.post(path, data={"csrf_token": csrf_from(client, f"/exams/staff/author/{exam.id}")})
    assert response.status_code == 303
    page = client.get(response.headers["location"])
    assert "以下题目须先在题库中修改，考试才能发布" in page.text and f"#{bad.id}" in page.text
    session.expire_all()
    assert session.get(Exam, exam.id).status == "draft"
    items = soup(client.get(f"/exams/staff/papers/{paper.id}")).select("#paper-items li")
    assert [li.select_one(".qb-invalid") is not None for li in items] == [False, True]


def _blueprint(session: Session, author: User, bank: QuestionBank, count: int) -> Any:
    paper = papers.create_paper(session, author, "抽题卷", kind=PaperKind.blueprint, bank_id=bank.id)
    papers.add_rule(session, author, paper, papers.RuleSpec(count=count, points=Decimal(1), type="true_false"))
    return paper


def test_blueprints_leave_bad_questions_out_of_the_check_and_every_draw(session, author, qbank, trainee) -> None:
    good = [make_question(session, qbank, TF, stem=f"判断{i}") for i in range(2)]
    bad = stored_before_the_fix(session, qbank, {"type": "true_false", "correct": True}, stem="<p> </p>")
    too_many = papers.check_blueprint(session, _blueprint(session, author, qbank, 3))
    assert not too_many.feasible and too_many.invalid == [bad.id] and too_many.rules[0].available == 2
    with pytest.raises(ValidationFailed) as refused:
        published_exam(session, author, _blueprint(session, author, qbank, 3))
    assert "1 道题内容有误" in refused.value.translated_detail()
    exam = published_exam(session, author, _blueprint(session, author, qbank, 2))
    snapshot = exam.paper_snapshot
    for seed in range(30):
        drawn = papers.draw(session, snapshot, random.Random(seed))
        assert {d.question_id for d in drawn} == {q.id for q in good}
    started = attempts.start_attempt(session, trainee, exam.id, now=T0).attempt
    assert {e["question_id"] for e in started.questions} == {q.id for q in good}


def test_a_schedule_never_publishes_an_edition_that_needs_a_bad_question(session, author, qbank) -> None:
    make_question(session, qbank, TF, stem="判断0")
    stored_before_the_fix(session, qbank, {"type": "true_false", "correct": True}, stem="<script>x</script>")
    paper = _blueprint(session, author, qbank, 2)
    with pytest.raises(ValidationFailed):
        schedules.create_schedule(session, author, schedules.ScheduleIn(title="日考", kind="daily", paper_id=paper.id))
    session.add(ExamSchedule(title="日考", kind="daily", paper_id=paper.id or 0, owner_id=author.id or 0))  # made while it could
    session.flush()
    assert schedules.publish_due_editions(session, now=T0) == []
    make_question(session, qbank, TF, stem="判断1")
    published = schedules.publish_due_editions(session, now=T0)
    assert len(published) == 1 and published[0].paper_snapshot["kind"] == "blueprint"


def _frozen_with(session: Session, exam: Exam, question: Question, config: dict[str, Any]) -> None:
    """As if `exam` had been published before the fix with a bad version of `question` on its paper."""
    stored_before_the_fix(session, session.get(QuestionBank, question.bank_id), config, question=question)  # type: ignore[arg-type]
    exam.paper_snapshot = {**exam.paper_snapshot, "items": [
        {**item, "version_id": question.current_version_id} if item["question_id"] == question.id else item
        for item in exam.paper_snapshot["items"]]}
    session.add(exam)
    session.commit()


def test_starting_an_exam_frozen_with_a_bad_question_gives_the_rest(client, session, author, qbank, trainee) -> None:
    single, tf = make_question(session, qbank, SINGLE, points="2"), make_question(session, qbank, TF, stem="茶水七分满。")
    exam = published_exam(session, author, fixed_paper(session, author, [single, tf]), now=T0, closes_at=None)
    _frozen_with(session, exam, single, POISONED_SINGLE)
    headers = api_token(client, "trainee1")
    started = client.post(f"/api/v1/exams/{exam.id}/attempts", headers=headers)
    assert started.status_code == 201, started.text
    assert [q["id"] for q in started.json()["questions"]] == [str(tf.id)]
    assert session.get(Attempt, int(started.json()["id"])).max_score == Decimal(1)


def test_starting_an_exam_whose_every_question_is_bad_is_a_clear_error(client, session, author, qbank, trainee) -> None:
    single = make_question(session, qbank, SINGLE)
    exam = published_exam(session, author, fixed_paper(session, author, [single]), now=T0, closes_at=None)
    _frozen_with(session, exam, single, POISONED_SINGLE)
    started = client.post(f"/api/v1/exams/{exam.id}/attempts", headers=api_token(client, "trainee1"))
    assert started.status_code == 422
    assert started.json()["detail"] == "本场考试的题目需要修改，请告知出题人。"
    login(client, "trainee1")
    page = client.post(f"/exams/{exam.id}/start", data={"csrf_token": csrf_from(client, f"/exams/{exam.id}")})
    assert page.status_code == 303 and "本场考试的题目需要修改" in client.get(page.headers["location"]).text


def test_an_attempt_holding_a_bad_question_reads_saves_grades_and_reports(client, session, author, qbank, trainee) -> None:
    """An attempt started before the fix froze the empty option into its questions: the page, the API, saves,
    grading, the result and the statistics all still answer, and the intact key grades it."""
    single, tf = make_question(session, qbank, SINGLE, points="2"), make_question(session, qbank, TF, stem="茶水七分满。")
    exam = published_exam(session, author, fixed_paper(session, author, [single, tf], shuffle=False), now=utcnow(),
                          results_policy="immediately")
    attempt = attempts.start_attempt(session, trainee, exam.id).attempt
    attempt.questions = [{**e, "config": {**e["config"], "options": [{**o, "text": "" if o["id"] == "b" else o["text"]}
                                                                      for o in e["config"]["options"]]}}
                         if e["type"] == "single_choice" else e for e in attempt.questions]
    session.add(attempt)
    session.commit()
    headers = api_token(client, "trainee1")
    shown = client.get(f"/api/v1/attempts/{attempt.id}", headers=headers)
    assert shown.status_code == 200
    single_shown = next(q for q in shown.json()["questions"] if q["id"] == str(single.id))
    assert [o["text"] for o in single_shown["options"]] == ["居中", "", "靠右"]
    assert client.put(f"/api/v1/attempts/{attempt.id}/answers/{single.id}", headers=headers,
                      json={"response": "a", "seq": 1}).status_code == 200
    login(client, "trainee1")
    assert client.get(f"/exams/attempts/{attempt.id}").status_code == 200
    submitted = client.post(f"/api/v1/attempts/{attempt.id}/submit", headers=headers)
    assert submitted.status_code == 200
    session.expire_all()
    assert session.get(Attempt, attempt.id).score == Decimal(2)
    assert client.get(f"/exams/attempts/{attempt.id}/result").status_code == 200
    client.cookies.clear()
    login(client, "instructor1")
    assert client.get(f"/exams/staff/author/{exam.id}/statistics").status_code == 200
    assert client.get(f"/exams/staff/exams/{exam.id}/attempts").status_code == 200


def test_practice_from_the_notebook_leaves_a_bad_question_out(session, author, qbank, trainee) -> None:
    from app.exams import notebook

    good = make_question(session, qbank, TF, stem="茶水七分满。")
    bad = stored_before_the_fix(session, qbank, POISONED_SINGLE)
    notebook.record(session, trainee.id or 0, good.id or 0, False, False, T0)
    notebook.record(session, trainee.id or 0, bad.id or 0, False, "b", T0)
    for seed in range(10):
        assert [d.question_id for d in notebook.draw_for_practice(session, trainee.id or 0, 2, random.Random(seed))] == [good.id]
