"""The question-bank API (../shared/API.md "Question banks"): paths, fields, status codes and shapes."""

from __future__ import annotations

import io

from openpyxl import load_workbook
from sqlmodel import select

from app.exams import bank as service
from app.exams.models import Question, QuestionVersion
from tests.exams import test_bank as bank_tests
from tests.exams.test_bank import GIFT, GIFT_BAD
from tests.helpers import api_token

BASE = "/api/v1/question-banks"
author, other_author, qbank = bank_tests.author, bank_tests.other_author, bank_tests.qbank  # fixtures


def upload(client, headers, bank_id, data: bytes, fmt: str = "gift", *, name: str = "q.gift", **form: str):  # type: ignore[no-untyped-def]
    return client.post(f"{BASE}/{bank_id}/imports", headers=headers, files={"file": (name, data)},
                       data={"format": fmt, **form})


def test_create_bank_returns_201_with_string_id(client, author) -> None:
    headers = api_token(client, "instructor1")
    response = client.post(BASE, json={"name": "安全保卫题库"}, headers=headers)
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"id", "name"} and isinstance(body["id"], str) and body["name"] == "安全保卫题库"
    listed = client.get(BASE, headers=headers).json()
    assert listed["total"] == 1 and listed["items"][0]["id"] == body["id"] and listed["items"][0]["questions"] == 0
    assert client.post(BASE, json={"name": ""}, headers=headers).status_code == 422


def test_trainee_and_anonymous_are_refused(client, trainee, qbank) -> None:
    assert client.post(BASE, json={"name": "x"}).status_code == 401
    headers = api_token(client, "trainee1")
    assert client.post(BASE, json={"name": "x"}, headers=headers).status_code == 403
    assert client.get(f"{BASE}/{qbank.id}/questions", headers=headers).status_code == 403


def test_import_then_list_questions(client, author, qbank) -> None:
    headers = api_token(client, "instructor1")
    response = upload(client, headers, qbank.id, GIFT.encode())
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["created"] == 3 and body["errors"] == []
    assert [q["type"] for q in body["questions"]] == ["single_choice", "true_false", "fill_blank"]
    assert body["questions"][0]["stem"] == "开水温度宜为（ ）。"
    listed = client.get(f"{BASE}/{qbank.id}/questions", headers=headers).json()
    assert listed["total"] == 3
    choice = next(q for q in listed["items"] if q["type"] == "single_choice")
    assert set(choice) >= {"id", "type", "stem", "options", "tags", "difficulty"} and isinstance(choice["id"], str)
    assert [o["text"] for o in choice["options"]] == ["85℃至95℃", "60℃", "100℃"] and set(choice["options"][0]) == {"id", "text"}
    assert choice["tags"] == ["会议服务"] and choice["difficulty"] == 3
    paged = client.get(f"{BASE}/{qbank.id}/questions?limit=1&offset=2", headers=headers).json()
    assert paged["total"] == 3 and len(paged["items"]) == 1
    assert client.get(f"{BASE}/{qbank.id}/questions?type=true_false", headers=headers).json()["total"] == 1


def test_dry_run_stores_nothing_and_counts(client, session, author, qbank) -> None:
    headers = api_token(client, "instructor1")
    response = upload(client, headers, qbank.id, GIFT.encode(), dry_run="true")
    assert response.status_code == 200 and response.json()["created"] == 3
    assert session.exec(select(Question)).all() == []


def test_any_error_is_a_422_problem_with_lines_and_nothing_stored(client, session, author, qbank) -> None:
    headers = api_token(client, "instructor1")
    response = upload(client, headers, qbank.id, GIFT_BAD.encode())
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["status"] == 422 and problem["errors"][0]["loc"] == ["file", 3] and problem["errors"][0]["msg"]
    assert session.exec(select(Question)).all() == [] and session.exec(select(QuestionVersion)).all() == []
    unknown = upload(client, headers, qbank.id, GIFT.encode(), fmt="docx")
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["loc"] == ["body", "format"]


def test_format_is_guessed_from_the_name_when_missing(client, author, qbank) -> None:
    headers = api_token(client, "instructor1")
    response = client.post(f"{BASE}/{qbank.id}/imports", headers=headers, files={"file": ("会议.gift", GIFT.encode())})
    assert response.status_code == 200 and response.json()["created"] == 3


def test_large_import_in_the_request_by_default_and_as_a_job_on_request(client, author, qbank, session) -> None:
    headers = api_token(client, "instructor1")
    data = "\n\n".join(f"::q{i}::第{i}题：桌签应按座次表摆放。{{T}}" for i in range(service.SYNC_IMPORT_MAX + 1)).encode()
    dry = client.post(f"{BASE}/{qbank.id}/imports", headers=headers, files={"file": ("big.gift", data)},
                      data={"format": "gift", "dry_run": "true"})
    assert dry.status_code == 200 and dry.json()["created"] == service.SYNC_IMPORT_MAX + 1  # API.md: 200 with the count
    other = client.post(BASE, headers=headers, json={"name": "大题库"}).json()["id"]
    stored = upload(client, headers, other, data)
    assert stored.status_code == 200 and stored.json()["created"] == service.SYNC_IMPORT_MAX + 1
    assert client.get(f"{BASE}/{other}/questions?limit=1", headers=headers).json()["total"] == service.SYNC_IMPORT_MAX + 1
    response = client.post(f"{BASE}/{qbank.id}/imports", headers=headers, files={"file": ("big.gift", data)},
                           data={"format": "gift", "background": "true"})
    assert response.status_code == 202
    body = response.json()
    assert body["created"] == 0 and body["queued"] == service.SYNC_IMPORT_MAX + 1 and body["job_id"]
    job = client.get(f"{BASE}/{qbank.id}/imports/{body['job_id']}", headers=headers).json()
    assert job["status"] == "queued" and not job["finished"]


def test_someone_elses_bank_is_404(client, author, other_author, qbank) -> None:
    headers = api_token(client, "instructor2")
    assert client.get(f"{BASE}/{qbank.id}/questions", headers=headers).status_code == 404
    assert upload(client, headers, qbank.id, GIFT.encode()).status_code == 404
    assert client.get(f"{BASE}/{qbank.id}/export?format=xlsx", headers=headers).status_code == 404


def test_get_and_patch_a_question_makes_a_version(client, author, qbank) -> None:
    headers = api_token(client, "instructor1")
    upload(client, headers, qbank.id, GIFT.encode())
    qid = client.get(f"{BASE}/{qbank.id}/questions?type=true_false", headers=headers).json()["items"][0]["id"]
    question = client.get(f"/api/v1/questions/{qid}", headers=headers).json()
    assert question["version"] == 1 and question["config"]["correct"] is True and question["bank_id"] == str(qbank.id)
    patched = client.patch(f"/api/v1/questions/{qid}?expected_version=1", json={"stem": "桌签字面应朝向入口，横竖成线。"}, headers=headers)
    assert patched.status_code == 200 and patched.json()["version"] == 2 and patched.json()["versions"] == 2
    stale = client.patch(f"/api/v1/questions/{qid}?expected_version=1", json={"stem": "又改了。"}, headers=headers)
    assert stale.status_code == 409
    invalid = client.patch(f"/api/v1/questions/{qid}", json={"config": {"correct": "maybe"}}, headers=headers)
    assert invalid.status_code == 422
    created = client.post(f"{BASE}/{qbank.id}/questions", headers=headers,
                          json={"type": "numerical", "stem": "监控图像至少保存多少天？", "config": {"answers": [{"value": 30}]}})
    assert created.status_code == 201 and created.json()["type"] == "numerical"


def test_export_in_three_formats_reimports(client, author, qbank) -> None:
    headers = api_token(client, "instructor1")
    upload(client, headers, qbank.id, GIFT.encode())
    target = client.post(BASE, json={"name": "副本"}, headers=headers).json()["id"]
    for fmt, kind in (("moodle-xml", "xml"), ("qti", "zip"), ("xlsx", "sheet")):
        response = client.get(f"{BASE}/{qbank.id}/export?format={fmt}", headers=headers)
        assert response.status_code == 200 and kind in response.headers["content-type"]
        assert "attachment" in response.headers["content-disposition"]
        again = upload(client, headers, target, response.content, fmt, name=f"export.{fmt}", dry_run="true")
        assert again.status_code == 200 and again.json()["created"] == 3, again.text
    assert client.get(f"{BASE}/{qbank.id}/export?format=pdf", headers=headers).status_code == 422


def test_template_in_both_layouts(client, author) -> None:
    headers = api_token(client, "instructor1")
    for layout in ("question", "option"):
        response = client.get(f"{BASE}/template.xlsx?layout={layout}", headers=headers)
        assert response.status_code == 200
        sheet = load_workbook(io.BytesIO(response.content)).active
        assert sheet.cell(1, 1).value == "题型" or "题" in str(sheet.cell(1, 1).value)
