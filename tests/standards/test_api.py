"""JSON API under /api/v1/standards: shapes, search, authoring, transitions, problem+json errors."""

from __future__ import annotations

from app.standards import citations, service
from tests.helpers import api_token
from tests.standards.conftest import first_version


def test_list_detail_and_clauses(client, session, admin, instructor, trainee, make_standard) -> None:
    published = make_standard(instructor, publish_by=admin)
    make_standard(instructor, "Q/CZJG 077—2025", "草案")
    headers = api_token(client, "trainee1")
    body = client.get("/api/v1/standards", headers=headers).json()
    assert body["total"] == 1 and body["items"][0]["id"] == str(published.id)
    assert set(body["items"][0]) == {"id", "code", "title", "category", "level", "status", "summary", "owner"}
    assert body["items"][0]["owner"] == {"id": str(instructor.id), "display_name": instructor.display_name}

    detail = client.get(f"/api/v1/standards/{published.id}", headers=headers).json()
    (version,) = detail["versions"]
    assert version["status"] == "in_force" and version["transitions"][0]["actor"]["id"] == str(admin.id)
    clauses = client.get(f"/api/v1/standards/versions/{version['id']}/clauses", headers=headers).json()
    assert clauses["total"] == 8 and clauses["items"][4]["number"] == "3.1.1"
    assert clauses["items"][4]["parent_id"] == clauses["items"][3]["id"]

    assert client.get("/api/v1/standards", headers=api_token(client, "instructor1")).json()["total"] == 2


def test_search_with_q(client, admin, instructor, trainee, make_standard) -> None:
    published = make_standard(instructor, publish_by=admin)
    headers = api_token(client, "trainee1")
    listed = client.get("/api/v1/standards", params={"q": "茶水"}, headers=headers).json()
    assert [s["id"] for s in listed["items"]] == [str(published.id)] and listed["total"] == 1
    hits = client.get("/api/v1/standards/search", params={"q": "茶水"}, headers=headers).json()
    assert hits["total"] == 1
    (hit,) = hits["items"]
    assert hit["clause"]["number"] == "3.1.2" and "<mark>茶水</mark>" in hit["snippet"]
    assert client.get("/api/v1/standards", params={"q": "不存在的词"}, headers=headers).json() == {"items": [], "total": 0}


def test_authoring_and_transitions(client, session, admin, instructor) -> None:
    author = api_token(client, "instructor1")
    created = client.post("/api/v1/standards", headers=author, json={
        "code": "Q/CZJG 020—2026", "title": "公务用车运行管理规范", "category": "official_vehicles", "level": "internal"})
    assert created.status_code == 201, created.text
    standard_id = created.json()["id"]
    version_id = client.get(f"/api/v1/standards/{standard_id}", headers=author).json()["versions"][0]["id"]
    imported = client.post(f"/api/v1/standards/versions/{version_id}/import", headers=author,
                           json={"text": "1 范围\n2 派车\n2.1 申请\n"})
    assert imported.status_code == 200 and imported.json()["total"] == 3

    refused = client.post(f"/api/v1/standards/versions/{version_id}/transition", headers=author, json={"action": "publish"})
    assert refused.status_code == 403 and refused.headers["content-type"].startswith("application/problem+json")

    boss = api_token(client, "admin1")
    done = client.post(f"/api/v1/standards/versions/{version_id}/transition", headers=boss,
                       json={"action": "publish", "effective": "2026-02-01", "note": "通过"})
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "in_force" and done.json()["effective_from"] == "2026-02-01"
    again = client.post(f"/api/v1/standards/versions/{version_id}/transition", headers=boss, json={"action": "publish"})
    assert again.status_code == 409 and again.json()["status"] == 409

    revised = client.post(f"/api/v1/standards/versions/{version_id}/transition", headers=author, json={"action": "revise"})
    assert revised.status_code == 200 and revised.json()["status"] == "draft" and revised.json()["based_on_id"] == version_id


def test_errors_are_problem_json(client, instructor, trainee) -> None:
    author = api_token(client, "instructor1")
    bad = client.post("/api/v1/standards/versions/999999/import", headers=author, json={"text": "1 范围"})
    assert bad.status_code == 404 and bad.headers["content-type"].startswith("application/problem+json")
    invalid = client.post("/api/v1/standards", headers=author, json={"code": "", "title": "x", "category": "nope"})
    assert invalid.status_code == 422 and invalid.json()["errors"]
    trainee_headers = api_token(client, "trainee1")
    assert client.post("/api/v1/standards", headers=trainee_headers, json={}).status_code == 403


def test_bad_import_reports_lines(client, instructor, make_standard) -> None:
    standard = make_standard(instructor)
    author = api_token(client, "instructor1")
    response = client.post(f"/api/v1/standards/versions/{first_version(standard).id}/import", headers=author,
                           json={"text": "1 范围\n2 要求\n2.2 跳号\n"})
    assert response.status_code == 422
    assert response.json()["errors"] == [{"loc": ["text", 3], "msg": "第 3 行：此处应为条款 2.1，实际为 2.2。"}]


def test_review_worklist(client, session, admin, instructor, make_standard) -> None:
    standard = make_standard(instructor, publish_by=admin)
    clause = next(c for c in service.clauses_of(session, first_version(standard)) if c.number == "3.2")
    citations.cite(session, clause, target_type="test_exam_question", target_id=42, owner=instructor, label="第42题")
    service.abolish(session, admin, first_version(standard))
    session.commit()
    body = client.get("/api/v1/standards/reviews", headers=api_token(client, "instructor1")).json()
    assert body["total"] == 1
    item = body["items"][0]
    assert (item["transition"], item["target_type"], item["target_id"], item["clause_number"]) == (
        "abolished", "test_exam_question", "42", "3.2")
    assert client.get("/api/v1/standards/reviews", headers=api_token(client, "admin1")).json()["total"] == 0
    assert client.get("/api/v1/standards/reviews?everyone=true", headers=api_token(client, "admin1")).json()["total"] == 1
