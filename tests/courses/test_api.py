"""Courses JSON API under /api/v1: shapes, filters, authoring, publishing, enrolments, my learning,
the progress report and problem+json errors."""

from __future__ import annotations

import re

from app.courses import learning
from tests.helpers import api_token

PROBLEM = "application/problem+json"


def test_curricula_and_courses_for_authors(client, session, admin, instructor, trainee, curriculum, build_course) -> None:
    built = build_course()
    draft = build_course("草稿课程", publish=False)
    headers = api_token(client, "instructor1")
    curricula = client.get("/api/v1/curricula", headers=headers).json()
    assert curricula["total"] == 1 and curricula["items"][0] == {
        "id": str(curriculum.id), "title": "执行层课程体系", "description": "", "tier": "execution", "org_unit_id": None,
        "is_active": True}
    listed = client.get("/api/v1/courses", headers=headers, params={"limit": 1}).json()
    assert listed["total"] == 2 and len(listed["items"]) == 1
    assert set(listed["items"][0]) == {"id", "curriculum_id", "title", "summary", "hours", "is_required", "owner", "status",
                                       "published_version", "updated_at", "archived"}
    statuses = {c["id"]: (c["status"], c["published_version"]) for c in client.get("/api/v1/courses", headers=headers).json()["items"]}
    assert statuses == {str(built.id): ("published", 1), str(draft.id): ("draft", None)}
    assert client.get("/api/v1/courses", headers=headers, params={"q": "草稿"}).json()["total"] == 1
    assert client.get("/api/v1/curricula", headers=api_token(client, "trainee1")).status_code == 403


def test_course_detail_is_the_published_structure(client, session, instructor, trainee, admin, build_course) -> None:
    built = build_course()
    detail = client.get(f"/api/v1/courses/{built.id}", headers=api_token(client, "instructor1"))
    assert detail.status_code == 200
    body = detail.json()
    version = body["version"]
    assert version["number"] == 1 and re.search(r"(Z|[+-]\d\d:\d\d)$", version["published_at"])
    assert [m["title"] for m in version["modules"]] == ["会前准备"]
    lesson = version["modules"][0]["lessons"][0]
    assert lesson["title"] == "桌签摆放" and [m["kind"] for m in lesson["materials"]] == ["text", "picture_book"]
    assert lesson["materials"][0]["id"] == str(built.materials[0].id)
    # A trainee sees it only once enrolled.
    trainee_headers = api_token(client, "trainee1")
    missing = client.get(f"/api/v1/courses/{built.id}", headers=trainee_headers)
    assert missing.status_code == 404 and missing.headers["content-type"].startswith(PROBLEM)
    learning.enrol(session, admin, built.course, trainee)
    session.commit()
    assert client.get(f"/api/v1/courses/{built.id}", headers=trainee_headers).status_code == 200
    assert client.get("/api/v1/courses", headers=trainee_headers).json()["total"] == 1


def test_create_and_publish(client, session, instructor, trainee, curriculum, user_factory) -> None:
    headers = api_token(client, "instructor1")
    created = client.post("/api/v1/courses", headers=headers, json={"curriculum_id": curriculum.id, "title": "接待礼仪", "hours": "1.5"})
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["status"] == "draft" and body["hours"] == "1.5" and body["version"] is None and body["owner"]["id"] == str(instructor.id)
    refused = client.post(f"/api/v1/courses/{body['id']}/publish", headers=headers)
    assert refused.status_code == 422 and refused.headers["content-type"].startswith(PROBLEM)
    bad = client.post("/api/v1/courses", headers=headers, json={"curriculum_id": 999999, "title": "x"})
    assert bad.status_code == 422
    invalid = client.post("/api/v1/courses", headers=headers, json={"curriculum_id": curriculum.id, "title": ""})
    assert invalid.status_code == 422 and invalid.json()["errors"]
    assert client.post("/api/v1/courses", headers=api_token(client, "trainee1"),
                       json={"curriculum_id": curriculum.id, "title": "x"}).status_code == 403


def test_publish_numbers_versions_and_others_cannot(client, session, instructor, user_factory, build_course) -> None:
    from app.accounts.models import Role

    built = build_course(publish=False)
    headers = api_token(client, "instructor1")
    first = client.post(f"/api/v1/courses/{built.id}/publish", headers=headers, json={"note": "首版"})
    assert first.status_code == 200 and first.json()["number"] == 1
    assert client.post(f"/api/v1/courses/{built.id}/publish", headers=headers).json()["number"] == 2
    user_factory(Role.instructor, username="other_instructor")
    other = client.post(f"/api/v1/courses/{built.id}/publish", headers=api_token(client, "other_instructor"))
    assert other.status_code == 404
    assert client.get(f"/api/v1/courses/{built.id}", headers=headers).json()["version"]["number"] == 2


def test_enrolments_single_bulk_and_who_sees_them(client, session, admin, instructor, trainee, org, user_factory, build_course) -> None:
    from app.accounts.models import Role

    built = build_course()
    second = user_factory(Role.trainee, username="trainee_b", unit=org["unit_b1"])
    boss = api_token(client, "admin1")
    one = client.post(f"/api/v1/courses/{built.id}/enrolments", headers=boss, json={"user_id": trainee.id})
    assert one.status_code == 201 and one.json() == {"created": 1, "total": 1}
    bulk = client.post(f"/api/v1/courses/{built.id}/enrolments", headers=boss, json={"user_ids": [trainee.id, second.id]})
    assert bulk.status_code == 201 and bulk.json() == {"created": 1, "total": 2}
    again = client.post(f"/api/v1/courses/{built.id}/enrolments", headers=boss, json={"user_ids": [second.id]})
    assert again.status_code == 200 and again.json()["created"] == 0
    unknown = client.post(f"/api/v1/courses/{built.id}/enrolments", headers=boss, json={"user_ids": [999999]})
    assert unknown.status_code == 422
    assert client.post(f"/api/v1/courses/{built.id}/enrolments", headers=api_token(client, "instructor1"),
                       json={"user_id": trainee.id}).status_code == 403

    everyone = client.get("/api/v1/enrolments", headers=boss, params={"course_id": built.id}).json()
    assert everyone["total"] == 2
    item = everyone["items"][0]
    assert set(item) == {"id", "course", "user", "source", "status", "enrolled_at", "start_on", "due_on", "started_at", "completed_at"}
    assert item["status"] == "not_started" and item["course"]["id"] == str(built.id)
    assert client.get("/api/v1/enrolments", headers=api_token(client, "instructor1")).json()["total"] == 2  # their course
    own = client.get("/api/v1/enrolments", headers=api_token(client, "trainee1"), params={"user_id": second.id}).json()
    assert own == {"items": [], "total": 0}
    assert client.get("/api/v1/enrolments", headers=api_token(client, "trainee1")).json()["total"] == 1

    district = user_factory(Role.district_admin, username="dadmin_b", unit=org["district_b"])
    seen = client.get("/api/v1/enrolments", headers=api_token(client, "dadmin_b")).json()
    assert [i["user"]["id"] for i in seen["items"]] == [str(second.id)] and district.id


def test_my_learning_and_progress_report(client, session, admin, district_admin, trainee, org, user_factory, build_course) -> None:
    from app.accounts.models import Role

    built = build_course()
    other = user_factory(Role.trainee, username="trainee_b", unit=org["unit_b1"])
    learning.enrol_many(session, admin, built.course, [trainee, other])
    learning.mark_read(session, trainee, built.id, built.materials[0].id)
    session.commit()
    mine = client.get("/api/v1/me/learning", headers=api_token(client, "trainee1"))
    assert mine.status_code == 200
    body = mine.json()
    assert set(body) == {"year", "hours_this_year", "required_hours", "hours_remaining", "courses"}
    (card,) = body["courses"]
    assert card["course"]["id"] == str(built.id) and card["status"] == "in_progress" and card["lessons_total"] == 2

    report = client.get("/api/v1/progress", headers=api_token(client, "admin1"), params={"course_id": built.id}).json()
    assert report["total"] == 2
    assert set(report["items"][0]) == {"user", "username", "tier", "org_unit", "course", "status", "percent", "enrolled_at",
                                       "due_on", "completed_at"}
    scoped = client.get("/api/v1/progress", headers=api_token(client, "dadmin1")).json()
    assert [r["username"] for r in scoped["items"]] == ["trainee1"]
    assert client.get("/api/v1/progress", headers=api_token(client, "admin1"),
                      params={"org_unit_id": org["district_b"].id}).json()["total"] == 1
    assert client.get("/api/v1/progress", headers=api_token(client, "trainee1")).status_code == 403
    assert client.get("/api/v1/progress").status_code == 401


def test_curricula_create_update_archive(client, session, admin, district_admin, instructor, org, curriculum, build_course) -> None:
    headers = api_token(client, "admin1")
    created = client.post("/api/v1/curricula", headers=headers, json={"title": "管理层体系", "tier": "management"})
    assert created.status_code == 201 and created.json()["tier"] == "management" and created.json()["org_unit_id"] is None
    cid = created.json()["id"]
    patched = client.patch(f"/api/v1/curricula/{cid}", headers=headers, json={"description": "说明", "org_unit_id": org["district_a"].id})
    assert patched.status_code == 200
    assert patched.json() == {"id": cid, "title": "管理层体系", "description": "说明", "tier": "management",
                              "org_unit_id": str(org["district_a"].id), "is_active": True}
    # null for a field that cannot be empty: not changed (it was a NOT NULL failure, 500, found by the property-based run)
    nulls = client.patch(f"/api/v1/curricula/{cid}", headers=headers, json={"description": None, "sort_order": None})
    assert nulls.status_code == 200 and nulls.json()["description"] == "说明"
    bad = client.patch(f"/api/v1/curricula/{cid}", headers=headers, json={"tier": "nobody"})
    assert bad.status_code == 422 and bad.headers["content-type"].startswith(PROBLEM)
    dadmin = api_token(client, "dadmin1")
    # A district administrator cannot make its curriculum city-wide (the field is refused), and a city-wide
    # curriculum is outside its scope: missing, as every row outside it.
    assert client.patch(f"/api/v1/curricula/{cid}", headers=dadmin, json={"org_unit_id": None}).status_code == 422
    assert client.patch(f"/api/v1/curricula/{curriculum.id}", headers=dadmin, json={"title": "x"}).status_code == 404
    assert client.patch(f"/api/v1/curricula/{cid}", headers=api_token(client, "instructor1"), json={"title": "x"}).status_code == 403
    assert client.patch("/api/v1/curricula/999999", headers=headers, json={"title": "x"}).status_code == 404

    build_course()  # published, in `curriculum`
    refused = client.post(f"/api/v1/curricula/{curriculum.id}/archive", headers=headers)
    assert refused.status_code == 409 and "会议服务" in refused.json()["detail"]
    archived = client.post(f"/api/v1/curricula/{cid}/archive", headers=dadmin)
    assert archived.status_code == 200 and archived.json()["is_active"] is False
    teacher = api_token(client, "instructor1")
    assert client.post("/api/v1/courses", headers=teacher, json={"curriculum_id": int(cid), "title": "新课"}).status_code == 409
    assert client.post(f"/api/v1/curricula/{cid}/restore", headers=dadmin).json()["is_active"] is True


def test_move_lesson_and_material(client, session, instructor, user_factory, build_course) -> None:
    from app.accounts.models import Role
    from app.courses import structure
    from app.courses.schemas import ModuleIn

    built = build_course(publish=False)
    first = structure.modules_of(session, built.id)[0]
    second = structure.add_module(session, instructor, built.course, ModuleIn(title="会中服务"))
    other = build_course("另一门课", publish=False)
    session.commit()
    lesson_a, lesson_b = (lesson.id for lesson in structure.lessons_of(session, first.id))
    headers = api_token(client, "instructor1")
    moved = client.post(f"/api/v1/lessons/{lesson_a}/move", headers=headers, json={"module_id": second.id})
    assert moved.status_code == 200 and moved.json() == {"id": str(lesson_a), "parent_id": str(second.id), "position": 0}
    session.expire_all()
    assert [(les.id, les.position) for les in structure.lessons_of(session, first.id)] == [(lesson_b, 0)]
    book = built.materials[1]
    moved = client.post(f"/api/v1/materials/{book.id}/move", headers=headers, json={"lesson_id": lesson_b, "position": 0})
    assert moved.json() == {"id": str(book.id), "parent_id": str(lesson_b), "position": 0}
    other_module = structure.modules_of(session, other.id)[0]
    across = client.post(f"/api/v1/lessons/{lesson_a}/move", headers=headers, json={"module_id": other_module.id})
    assert across.status_code == 422 and across.headers["content-type"].startswith(PROBLEM)
    negative = client.post(f"/api/v1/lessons/{lesson_a}/move", headers=headers, json={"module_id": second.id, "position": -1})
    assert negative.status_code == 422
    user_factory(Role.instructor, username="instructor2")
    stranger = api_token(client, "instructor2")
    assert client.post(f"/api/v1/lessons/{lesson_a}/move", headers=stranger, json={"module_id": first.id}).status_code == 404
    assert client.post("/api/v1/materials/999999/move", headers=headers, json={"lesson_id": lesson_b}).status_code == 404
