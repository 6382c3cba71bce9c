"""Question-bank pages: the list, a bank with live filters (whole page and fragment), the editor for
every type (a new version on edit), import preview with per-line errors → confirm, export, template."""

from __future__ import annotations

import pytest
from bs4 import BeautifulSoup
from sqlmodel import select

from app.exams import bank as service
from app.exams import bank_transfer
from app.exams.bank_schemas import QuestionIn
from app.exams.bank_views import QuestionForm, form_config, form_values
from app.exams.models import Question
from tests.exams import test_bank as bank_tests
from tests.exams.test_bank import ALL_TYPES, GIFT, GIFT_BAD
from tests.helpers import csrf_from, login

author, other_author, qbank = bank_tests.author, bank_tests.other_author, bank_tests.qbank  # fixtures
make_standard = bank_tests.make_standard
HX = {"HX-Request": "true"}


def soup(response) -> BeautifulSoup:  # type: ignore[no-untyped-def]
    return BeautifulSoup(response.text, "html.parser")


def post(client, path: str, data: dict, **kwargs):  # type: ignore[no-untyped-def]
    return client.post(path, data={"csrf_token": csrf_from(client, "/author/question-banks"), **data}, **kwargs)


def test_trainee_is_refused_and_nav_shows_the_entry(client, trainee, author) -> None:
    login(client, "trainee1")
    assert client.get("/author/question-banks").status_code == 403
    client.cookies.clear()
    login(client, "instructor1")
    page = client.get("/author/question-banks")
    assert page.status_code == 200
    link = soup(page).select_one("nav.mainnav a[href='/author/question-banks']")
    assert link is not None and link.get("aria-current") == "page" and link.get_text(strip=True) == "题库"


def test_create_bank_and_filter_questions_live(client, session, author) -> None:
    login(client, "instructor1")
    response = post(client, "/author/question-banks", {"name": "保洁题库"})
    assert response.status_code == 303
    bank_path = response.headers["location"]
    made = session.exec(select(service.QuestionBank)).one()
    for data in ALL_TYPES:
        service.create_question(session, author, made, data)
    session.commit()
    page = client.get(bank_path)
    assert page.status_code == 200 and len(soup(page).select("#question-table li")) == len(ALL_TYPES)
    fragment = client.get(bank_path + "?type=true_false", headers=HX)
    assert soup(fragment).find("html") is None and len(soup(fragment).select("#question-table li")) == 1
    assert "判断" in soup(fragment).select_one(".qb-type").get_text() or soup(fragment).select_one(".qb-type")
    assert len(soup(client.get(bank_path + "?q=监控", headers=HX)).select("#question-table li")) == 1


def test_someone_elses_bank_is_404(client, author, other_author, qbank) -> None:
    login(client, "instructor2")
    assert client.get(f"/author/question-banks/{qbank.id}").status_code == 404
    assert client.get(f"/author/question-banks/{qbank.id}/import").status_code == 404


@pytest.mark.parametrize("data", ALL_TYPES, ids=lambda d: d.type)
def test_form_round_trips_every_type(data: QuestionIn) -> None:
    config = {**data.config, "type": data.type}
    values = form_values(data.type, config)
    form = QuestionForm(type=data.type, opt_id=[o["id"] for o in values["options"]], opt_text=[o["text"] for o in values["options"]],
                        opt_correct=[str(i) for i, o in enumerate(values["options"]) if o["correct"]],
                        **{k: v for k, v in values.items() if k in QuestionForm.model_fields and isinstance(v, str)})
    rebuilt = form_config(data.type, form, config)
    from app.exams import question_types as qt

    assert qt.dump_config(qt.parse_config(rebuilt)) == qt.dump_config(qt.parse_config(config))


def test_new_question_editor_and_save(client, session, author, qbank) -> None:
    login(client, "instructor1")
    page = client.get(f"/author/question-banks/{qbank.id}/questions/new?type=single_choice")
    assert page.status_code == 200 and len(soup(page).select("input[name=opt_text]")) == 4
    assert soup(page).select_one("#f-clause-q")["hx-get"] == "/author/clauses"
    bad = post(client, f"/author/question-banks/{qbank.id}/questions",
               {"type": "single_choice", "stem": "开水温度宜为（ ）。", "opt_text": ["85℃至95℃", "60℃"], "opt_id": ["", ""]})
    assert bad.status_code == 422 and soup(bad).select_one("#question-error") is not None
    assert soup(bad).select("input[name=opt_text]")[0]["value"] == "85℃至95℃"  # what was typed stays
    good = post(client, f"/author/question-banks/{qbank.id}/questions",
                {"type": "single_choice", "stem": "开水温度宜为（ ）。", "opt_text": ["85℃至95℃", "60℃", ""], "opt_id": ["", "", ""],
                 "opt_correct": "0", "tags": "会议服务，茶水", "difficulty": "2", "points": "2"})
    assert good.status_code == 303
    question = session.exec(select(Question)).one()
    row = service.get_question(session, author, question.id)
    assert row.version.config["correct"] == "A" and question.tags == ["会议服务", "茶水"] and float(row.version.points) == 2


def test_editing_shows_a_new_version(client, session, author, qbank) -> None:
    row = service.create_question(session, author, qbank, ALL_TYPES[3])  # fill in the blank
    session.commit()
    login(client, "instructor1")
    path = f"/author/question-banks/{qbank.id}/questions/{row.question.id}"
    page = client.get(path)
    assert soup(page).select_one("#f-blanks").get_text() == "15|十五"
    same = post(client, path, {"type": "fill_blank", "stem": row.version.stem, "blanks": "15|十五", "difficulty": "3", "points": "1",
                               "status": "active", "expected_version": "1"})
    assert same.status_code == 303
    session.expire_all()
    assert session.get(Question, row.question.id).version_count == 1  # nothing changed: no version
    changed = post(client, path, {"type": "fill_blank", "stem": row.version.stem, "blanks": "15|十五|15分钟", "difficulty": "3",
                                  "points": "1", "status": "active", "expected_version": "1"})
    assert changed.status_code == 303
    session.expire_all()
    assert session.get(Question, row.question.id).version_count == 2
    stale = post(client, path, {"type": "fill_blank", "stem": "x____", "blanks": "1", "expected_version": "1"})
    assert stale.status_code == 409
    assert len(soup(client.get(path)).select("#versions li")) == 2


def test_import_preview_shows_line_errors_in_chinese_and_stores_nothing(client, session, author, qbank) -> None:
    login(client, "instructor1")
    response = post(client, f"/author/question-banks/{qbank.id}/import", {"format": "gift"},
                    files={"file": ("bad.gift", GIFT_BAD.encode())})
    assert response.status_code == 422
    errors = soup(response).select("#import-errors li")
    assert errors and "第 3 行" in errors[0].get_text()
    assert soup(response).select_one("#confirm-form") is None
    assert session.exec(select(Question)).all() == []


def test_import_preview_then_confirm(client, session, author, qbank) -> None:
    bank_transfer.import_file(session, author, qbank, GIFT.encode()[:GIFT.encode().index(b"::\xe6\xa1\x8c")], "gift")  # the first one
    session.commit()
    login(client, "instructor1")
    response = post(client, f"/author/question-banks/{qbank.id}/import", {}, files={"file": ("会议.gift", GIFT.encode())})
    assert response.status_code == 200
    rows = soup(response).select("#preview-table tbody tr")
    assert len(rows) == 3 and "qb-dup" in rows[0]["class"] and rows[0].select_one(".qb-warning")
    form = soup(response).select_one("#confirm-form")
    data = {i["name"]: i.get("value", "") for i in form.select("input") if i.get("name") and i["name"] != "csrf_token"}
    done = post(client, f"/author/question-banks/{qbank.id}/import/confirm", data)
    assert done.status_code == 303
    assert len(session.exec(select(Question)).all()) == 3  # the duplicate was left out
    again = post(client, f"/author/question-banks/{qbank.id}/import/confirm", data)
    assert again.status_code == 303 and again.headers["location"].endswith("/import")  # the stash is used up


def test_large_import_redirects_to_the_progress_page(client, session, author, qbank) -> None:
    login(client, "instructor1")
    data = "\n\n".join(f"::q{i}::第{i}题：桌签应按座次表摆放。{{T}}" for i in range(service.SYNC_IMPORT_MAX + 1)).encode()
    preview = post(client, f"/author/question-banks/{qbank.id}/import", {"format": "gift"}, files={"file": ("big.gift", data)})
    form = soup(preview).select_one("#confirm-form")
    fields = {i["name"]: i.get("value", "") for i in form.select("input") if i.get("name") and i["name"] != "csrf_token"}
    done = post(client, f"/author/question-banks/{qbank.id}/import/confirm", fields)
    assert done.status_code == 303 and "/import/jobs/" in done.headers["location"]
    progress = client.get(done.headers["location"])
    assert progress.status_code == 200 and soup(progress).select_one("#import-progress[hx-get]") is not None


def test_export_and_template_downloads(client, session, author, qbank) -> None:
    bank_transfer.import_file(session, author, qbank, GIFT.encode(), "gift")
    session.commit()
    login(client, "instructor1")
    for fmt in ("xlsx", "moodle-xml", "qti"):
        response = client.get(f"/author/question-banks/{qbank.id}/export?format={fmt}")
        assert response.status_code == 200 and response.content
    for layout in ("question", "option"):
        assert client.get(f"/author/question-banks/template.xlsx?layout={layout}").content[:2] == b"PK"


def test_revised_standard_puts_the_question_on_the_worklist_with_a_link_to_the_editor(client, session, author, admin, qbank,
                                                                                       make_standard) -> None:
    from app.standards import service as standards
    from tests.standards.conftest import first_version

    std = make_standard(author, "Q/CZJG 001—2024", publish_by=admin)
    cid = next(c.id for c in standards.clauses_of(session, first_version(std)) if c.number == "3.1.2")
    row = service.create_question(session, author, qbank, ALL_TYPES[0].model_copy(update={"clause_ids": [cid]}))
    standards.start_revision(session, author, first_version(std))
    session.commit()
    login(client, "instructor1")
    page = client.get("/standards/reviews")
    link = soup(page).select_one(f"a[href='/author/question-banks/{qbank.id}/questions/{row.question.id}']")
    assert link is not None and "会议服务题库" in link.get_text()
    edit = client.get(link["href"])
    assert edit.status_code == 200 and soup(edit).select_one("#chosen-clauses input[checked]")["value"] == str(cid)
