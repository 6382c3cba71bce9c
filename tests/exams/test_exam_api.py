"""Exams JSON API per ../shared/API.md: open exams, start (201/200), attempt shape, saves (200, 409 stale
or late, 422 bad shape), idempotent submit, access, problem+json."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlmodel import Session, col, select

from app.accounts.models import Role
from app.core.models import utcnow
from app.exams.models import Attempt, AttemptEvent
from tests.exams.attempt_helpers import MULTI, SINGLE, TF, fixed_paper, make_bank, make_question, published_exam
from tests.factories import make_user
from tests.helpers import api_token

PROBLEM = "application/problem+json"
OFFSET = re.compile(r"(Z|[+-]\d\d:\d\d)$")


@pytest.fixture
def setup(session: Session, org, trainee):  # type: ignore[no-untyped-def]
    author = make_user(session, Role.instructor, unit=org["dept"], username="api_author")
    bank = make_bank(session, author)
    qs = [make_question(session, bank, SINGLE, points="2"), make_question(session, bank, MULTI, stem="会前准备哪些？"),
          make_question(session, bank, TF, stem="茶水七分满。")]
    exam = published_exam(session, author, fixed_paper(session, author, qs), now=utcnow())
    session.commit()
    return exam, qs


def test_open_exams_and_start(client, session, setup) -> None:
    exam, qs = setup
    headers = api_token(client, "trainee1")
    listed = client.get("/api/v1/exams", params={"status": "open"}, headers=headers)
    assert listed.status_code == 200
    body = listed.json()
    assert body["total"] == 1
    item = body["items"][0]
    assert {"id", "title", "opens_at", "closes_at", "time_limit_s", "attempts_left"} <= set(item)
    assert item["id"] == str(exam.id) and item["attempts_left"] == 1 and item["time_limit_s"] == 1200
    assert OFFSET.search(item["closes_at"])

    created = client.post(f"/api/v1/exams/{exam.id}/attempts", headers=headers)
    assert created.status_code == 201, created.text
    attempt = created.json()
    assert isinstance(attempt["id"], str) and OFFSET.search(attempt["deadline"]) and attempt["answers"] == {}
    assert len(attempt["questions"]) == 3
    for q in attempt["questions"]:
        assert isinstance(q["id"], str) and {"id", "type", "stem", "options"} <= set(q)
        assert all(set(o) == {"id", "text"} for o in q["options"])
    assert {q["id"] for q in attempt["questions"]} == {str(q.id) for q in qs}
    single = next(q for q in attempt["questions"] if q["type"] == "single_choice")
    assert "correct" not in str(single) and len(single["options"]) == 3

    saved = client.put(f"/api/v1/attempts/{attempt['id']}/answers/{single['id']}", headers=headers,
                       json={"response": single["options"][0]["id"], "seq": 1})
    assert saved.status_code == 200 and OFFSET.search(saved.json()["saved_at"])
    again = client.post(f"/api/v1/exams/{exam.id}/attempts", headers=headers)
    assert again.status_code == 200 and again.json()["id"] == attempt["id"]
    assert again.json()["answers"] == {single["id"]: single["options"][0]["id"]}
    fetched = client.get(f"/api/v1/attempts/{attempt['id']}", headers=headers).json()
    assert fetched["answers"] == again.json()["answers"] and fetched["questions"] == attempt["questions"]


def test_saves_stale_bad_shape_and_submit(client, session, setup) -> None:
    exam, _qs = setup
    headers = api_token(client, "trainee1")
    attempt = client.post(f"/api/v1/exams/{exam.id}/attempts", headers=headers).json()
    tf = next(q for q in attempt["questions"] if q["type"] == "true_false")
    url = f"/api/v1/attempts/{attempt['id']}/answers/{tf['id']}"
    first = client.put(url, headers=headers, json={"response": False, "seq": 2})
    assert first.status_code == 200
    assert client.put(url, headers=headers, json={"response": False, "seq": 2}).json() == first.json()  # retried: same ack
    stale = client.put(url, headers=headers, json={"response": True, "seq": 1})
    assert stale.status_code == 409 and stale.headers["content-type"].startswith(PROBLEM)
    bad = client.put(url, headers=headers, json={"response": {"x": 1}, "seq": 3})
    assert bad.status_code == 422 and bad.headers["content-type"].startswith(PROBLEM)
    assert client.put(url, headers=headers, json={"response": True}).json()["seq"] == 3  # no seq: the next one
    assert client.put(f"/api/v1/attempts/{attempt['id']}/answers/999999", headers=headers, json={"response": True}).status_code == 404

    result = client.post(f"/api/v1/attempts/{attempt['id']}/submit", headers=headers)
    assert result.status_code == 200
    body = result.json()
    assert body["status"] == "finished" and body["max_score"] == 4.0 and body["score"] in (0.0, 1.0)
    assert body["passed"] is False
    assert client.post(f"/api/v1/attempts/{attempt['id']}/submit", headers=headers).json() == body
    status = client.get(f"/api/v1/attempts/{attempt['id']}/status", headers=headers).json()
    assert status["status"] == "finished" and OFFSET.search(status["server_now"]) and status["remaining_s"] >= 0
    late = client.put(url, headers=headers, json={"response": True, "seq": 9})
    assert late.status_code == 409 and late.headers["content-type"].startswith(PROBLEM)
    # The stale and late saves were logged although they answered 409 (their writes are kept).
    events = client.get(f"/api/v1/attempts/{attempt['id']}", headers=headers)
    assert events.status_code == 200 and events.json()["status"] == "finished"


def test_an_old_queued_save_replayed_after_a_newer_one_leaves_the_newer(client, session, setup) -> None:
    """What the exam page does: every save carries its seq (tenths of a second since the attempt started),
    so an answer queued on an offline kiosk and replayed after the trainee answered again on a phone is
    refused, and the phone's answer stands (on the API, on the page, in the log)."""
    from bs4 import BeautifulSoup

    from tests.helpers import csrf_from, login

    exam, _qs = setup
    login(client, "trainee1")
    headers = {"X-CSRF-Token": csrf_from(client, "/")}
    attempt = client.post(f"/api/v1/exams/{exam.id}/attempts", headers=headers).json()
    tf = next(q for q in attempt["questions"] if q["type"] == "true_false")
    url = f"/api/v1/attempts/{attempt['id']}/answers/{tf['id']}"
    assert client.put(url, headers=headers, json={"response": True, "seq": 12}).status_code == 200  # online, on the kiosk
    # The kiosk goes offline; the trainee changes the answer there twice (queued: seq 340), then on a phone
    # a minute later (seq 950, saved). The kiosk comes back and replays its queue.
    assert client.put(url, headers=headers, json={"response": False, "seq": 950}).status_code == 200
    replayed = client.put(url, headers=headers, json={"response": True, "seq": 340})
    assert replayed.status_code == 409 and replayed.headers["content-type"].startswith(PROBLEM)
    assert replayed.json()["type"].endswith("stale-save")
    standing = client.get(f"/api/v1/attempts/{attempt['id']}", headers=headers).json()
    assert standing["answers"][tf["id"]] is False and standing["seqs"][tf["id"]] == 950  # what the page then shows
    page = BeautifulSoup(client.get(f"/exams/attempts/{attempt['id']}").text, "html.parser")
    root = page.find(id="exam")
    assert root["data-attempt-url"] == f"/api/v1/attempts/{attempt['id']}" and OFFSET.search(root["data-started-at"])
    assert page.find(id=f"q-{tf['id']}")["data-seq"] == "950"  # a reloaded page counts on from the server's seq
    log = [(e.kind, e.seq) for e in session.exec(select(AttemptEvent).where(AttemptEvent.attempt_id == int(attempt["id"]))
                                                  .order_by(col(AttemptEvent.id))) if e.question_key == tf["id"]]
    assert log == [("save", 12), ("save", 950), ("stale_save", 340)]


def test_seq_is_optional_and_documented(client, session, setup) -> None:
    """Integrators may leave seq out: their saves are ordered by receipt, as the OpenAPI description says."""
    exam, _qs = setup
    headers = api_token(client, "trainee1")
    attempt = client.post(f"/api/v1/exams/{exam.id}/attempts", headers=headers).json()
    tf = next(q for q in attempt["questions"] if q["type"] == "true_false")
    url = f"/api/v1/attempts/{attempt['id']}/answers/{tf['id']}"
    assert [client.put(url, headers=headers, json={"response": r}).json()["seq"] for r in (True, False, True)] == [1, 2, 3]
    spec = client.get("/openapi.json").json()
    seq = spec["components"]["schemas"]["AnswerIn"]["properties"]["seq"]
    assert "ordered by receipt" in seq["description"] and "must send it" in seq["description"]
    operation = spec["paths"]["/api/v1/attempts/{attempt_id}/answers/{question_id}"]["put"]
    assert "by receipt" in operation["description"]


def test_save_after_the_deadline_is_409_and_closes(client, session, setup) -> None:
    exam, _qs = setup
    headers = api_token(client, "trainee1")
    attempt = client.post(f"/api/v1/exams/{exam.id}/attempts", headers=headers).json()
    row = session.get(Attempt, int(attempt["id"]))
    row.deadline = utcnow() - timedelta(seconds=1)
    session.add(row)
    session.commit()
    tf = next(q for q in attempt["questions"] if q["type"] == "true_false")
    late = client.put(f"/api/v1/attempts/{attempt['id']}/answers/{tf['id']}", headers=headers, json={"response": True, "seq": 1})
    assert late.status_code == 409
    session.refresh(row)
    assert row.status == "finished" and row.finish_reason == "deadline"  # the close was kept despite the 409


def test_access(client, session, setup, user_factory) -> None:
    exam, _qs = setup
    attempt = client.post(f"/api/v1/exams/{exam.id}/attempts", headers=api_token(client, "trainee1")).json()
    user_factory(Role.trainee, username="nosy")
    user_factory(Role.instructor, username="teacher")
    nosy = api_token(client, "nosy")
    assert client.get(f"/api/v1/attempts/{attempt['id']}", headers=nosy).status_code == 404
    tf = attempt["questions"][0]["id"]
    assert client.put(f"/api/v1/attempts/{attempt['id']}/answers/{tf}", headers=nosy, json={"response": True}).status_code == 404
    assert client.post(f"/api/v1/attempts/{attempt['id']}/submit", headers=nosy).status_code == 404
    teacher = api_token(client, "teacher")
    assert client.get(f"/api/v1/attempts/{attempt['id']}", headers=teacher).status_code == 200
    assert client.post(f"/api/v1/exams/{exam.id}/attempts", headers=teacher).status_code == 403
    assert client.get("/api/v1/exams", params={"status": "open"}).status_code == 401
    assert client.post("/api/v1/exams/999999/attempts", headers=api_token(client, "trainee1")).status_code == 404


def test_start_after_the_window_closes_the_forgotten_attempt(client, session, setup) -> None:
    exam, _qs = setup
    headers = api_token(client, "trainee1")
    attempt = client.post(f"/api/v1/exams/{exam.id}/attempts", headers=headers).json()
    row = session.get(Attempt, int(attempt["id"]))
    row.deadline = utcnow() - timedelta(minutes=5)
    exam.closes_at = utcnow() - timedelta(minutes=1)
    session.add_all([row, exam])
    session.commit()
    refused = client.post(f"/api/v1/exams/{exam.id}/attempts", headers=headers)
    assert refused.status_code == 409 and refused.headers["content-type"].startswith(PROBLEM)
    session.refresh(row)
    assert row.status == "finished" and row.finish_reason == "deadline"  # closed although the start was refused
    assert client.get("/api/v1/exams", params={"status": "open"}, headers=headers).json()["total"] == 0
