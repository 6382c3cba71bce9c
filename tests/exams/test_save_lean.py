"""The autosave is served by a lean route (core/lean) in front of FastAPI: it must answer exactly as the
declared FastAPI route does. The same sequence of saves runs against an app with lean routes (the one
served) and one without, for two trainees of the same exam, and every answer is compared: status,
content type, WWW-Authenticate and body (with `saved_at` set aside)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.accounts.models import Role
from app.core.models import utcnow
from app.core.security import CSRF_HEADER
from tests.exams.attempt_helpers import MULTI, SINGLE, TF, fixed_paper, make_bank, make_question, published_exam
from tests.factories import make_user
from tests.helpers import api_token, csrf_from, login


@pytest.fixture
def exam(session: Session, org):  # type: ignore[no-untyped-def]
    author = make_user(session, Role.instructor, unit=org["dept"], username="lean_author")
    for name in ("lean_a", "lean_b", "lean_c"):
        make_user(session, Role.trainee, unit=org["unit_a1"], username=name)
    bank = make_bank(session, author)
    qs = [make_question(session, bank, SINGLE), make_question(session, bank, MULTI, stem="会前准备哪些？"),
          make_question(session, bank, TF, stem="茶水七分满。")]
    found = published_exam(session, author, fixed_paper(session, author, qs), now=utcnow())
    session.commit()
    return found


def _nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


def _answer(response: Any) -> tuple[Any, ...]:
    body: Any = response.json() if response.content else None
    if isinstance(body, dict) and "saved_at" in body:
        body = {**body, "saved_at": "<time>"}
    if isinstance(body, dict) and body.get("type") == "urn:shixun:problem:validation-failed" and "JSON" in str(body):
        body = "<json error>"  # FastAPI's and pydantic's words for unparsable JSON differ; the status and type do not
    return (response.status_code, response.headers.get("content-type"), response.headers.get("www-authenticate"), body)


def _script(client: TestClient, exam_id: int, username: str, other_attempt: str | None) -> tuple[list[tuple[Any, ...]], str]:
    headers = api_token(client, username)
    attempt = client.post(f"/api/v1/exams/{exam_id}/attempts", headers=headers).json()
    by_type = {q["type"]: q for q in attempt["questions"]}
    tf, single = by_type["true_false"], by_type["single_choice"]
    base = f"/api/v1/attempts/{attempt['id']}/answers"
    steps = [
        client.put(f"{base}/{tf['id']}", headers=headers, json={"response": True, "seq": 1}),
        client.put(f"{base}/{tf['id']}", headers=headers, json={"response": True, "seq": 1}),  # a retry
        client.put(f"{base}/{tf['id']}", headers=headers, json={"response": False, "seq": 1}),  # stale
        client.put(f"{base}/{tf['id']}", headers=headers, json={"response": False}),  # no seq: the next one
        client.put(f"{base}/{tf['id']}", headers=headers, json={"response": {"x": 1}, "seq": 9}),  # bad shape
        client.put(f"{base}/{tf['id']}", headers=headers, json={"response": True, "seq": 0}),  # seq below 1
        client.put(f"{base}/{tf['id']}", headers=headers, json={"seq": "two"}),
        client.put(f"{base}/{tf['id']}", headers={**headers, "Content-Type": "application/json"}, content=b"{not json"),
        client.put(f"{base}/{single['id']}", headers=headers, json={"response": single["options"][1]["id"], "seq": 3}),
        client.put(f"{base}/no-such-question", headers=headers, json={"response": True, "seq": 1}),
        client.put(f"{base}/{'q' * 41}", headers=headers, json={"response": True, "seq": 1}),
        client.put(f"{base}/{tf['id']}", json={"response": True, "seq": 5}),  # no credentials
        client.put(f"{base}/{tf['id']}", headers={"Authorization": "Bearer not-a-token"}, json={"response": True, "seq": 5}),
        client.put(f"/api/v1/attempts/999999/answers/{tf['id']}", headers=headers, json={"response": True, "seq": 1}),
        client.put(f"/api/v1/attempts/abc/answers/{tf['id']}", headers=headers, json={"response": True, "seq": 1}),
        client.put(f"/api/v1/attempts/{2**63}/answers/{tf['id']}", headers=headers, json={"response": True, "seq": 1}),
        client.put(f"{base}/a%00b", headers=headers, json={"response": True, "seq": 1}),
        client.put(f"{base}/{tf['id']}", headers=headers, json={"response": "\x00", "seq": 2}),
        client.put(f"{base}/{tf['id']}", headers=headers, json={"response": _nested(33), "seq": 2}),  # too deep
    ]
    if other_attempt is not None:  # somebody else's attempt: not found, not forbidden
        steps.append(client.put(f"/api/v1/attempts/{other_attempt}/answers/{tf['id']}", headers=headers,
                                json={"response": True, "seq": 7}))
    assert client.post(f"/api/v1/attempts/{attempt['id']}/submit", headers=headers).status_code == 200
    steps.append(client.put(f"{base}/{tf['id']}", headers=headers, json={"response": False, "seq": 8}))  # after submit
    return [_answer(r) for r in steps], attempt["id"]


def test_lean_save_answers_as_the_declared_route(client: TestClient, declared: TestClient, exam) -> None:  # type: ignore[no-untyped-def]
    lean_answers, lean_attempt = _script(client, exam.id, "lean_a", None)
    declared_answers, _ = _script(declared, exam.id, "lean_b", lean_attempt)
    lean_again, _ = _script(client, exam.id, "lean_c", lean_attempt)
    assert [a[0] for a in lean_answers] == [200, 200, 409, 200, 422, 422, 422, 422, 200, 404, 422, 401, 401, 404, 404, 404, 404, 422,
                                              422, 409]
    assert declared_answers == lean_again
    assert lean_answers == lean_again[:-2] + lean_again[-1:]  # the same, but for the "somebody else's" step


def test_lean_save_with_a_session_cookie_needs_the_csrf_header(client: TestClient, declared: TestClient, exam) -> None:  # type: ignore[no-untyped-def]
    answers = []
    for test_client, username in ((client, "lean_a"), (declared, "lean_b")):
        login(test_client, username)
        attempt = test_client.post(f"/api/v1/exams/{exam.id}/attempts",
                                   headers={CSRF_HEADER: csrf_from(test_client, "/")}).json()
        tf = next(q for q in attempt["questions"] if q["type"] == "true_false")
        url = f"/api/v1/attempts/{attempt['id']}/answers/{tf['id']}"
        answers.append([
            _answer(test_client.put(url, json={"response": True, "seq": 1})),
            _answer(test_client.put(url, json={"response": True, "seq": 1}, headers={CSRF_HEADER: "forged"})),
            _answer(test_client.put(url, json={"response": True, "seq": 1}, headers={CSRF_HEADER: csrf_from(test_client, "/")})),
        ])
    assert [a[0] for a in answers[0]] == [403, 403, 200]
    assert answers[0] == answers[1]


def test_lean_save_is_logged_with_the_user(client: TestClient, exam, caplog) -> None:  # type: ignore[no-untyped-def]
    headers = api_token(client, "lean_a")
    attempt = client.post(f"/api/v1/exams/{exam.id}/attempts", headers=headers).json()
    tf = next(q for q in attempt["questions"] if q["type"] == "true_false")
    with caplog.at_level("INFO", logger="shixun.access"):
        saved = client.put(f"/api/v1/attempts/{attempt['id']}/answers/{tf['id']}", headers={**headers, "X-Request-ID": "lean-save-1"},
                           json={"response": True, "seq": 1})
    assert saved.status_code == 200 and saved.headers["X-Request-ID"] == "lean-save-1"
    assert saved.headers["Cache-Control"] == "no-store" and saved.headers["X-Content-Type-Options"] == "nosniff"
    record = next(r for r in caplog.records if r.name == "shixun.access" and "/answers/" in r.getMessage())
    assert " 200 " in record.getMessage() and getattr(record, "user_id", None) is not None
