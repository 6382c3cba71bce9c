"""Course authoring pages: the author's courses, the editor (whole page and tree fragment), inline
title edits, adding and removing structure, reordering by drag (whole order) and by step, preview as
trainee, publishing, the progress report with its Excel export, and who may do what."""

from __future__ import annotations

import io

import pytest
from bs4 import BeautifulSoup
from openpyxl import load_workbook

from app.accounts.models import Role
from app.courses import learning, service, structure
from app.courses.models import Course, Curriculum
from app.courses.schemas import ModuleIn
from tests.helpers import csrf_from, login

HX = {"HX-Request": "true"}


def soup(response) -> BeautifulSoup:  # type: ignore[no-untyped-def]
    return BeautifulSoup(response.text, "html.parser")


def post(client, path: str, data: dict, *, headers: dict | None = None):  # type: ignore[no-untyped-def]
    return client.post(path, data={"csrf_token": csrf_from(client, "/author/courses"), **data}, headers=headers or {})


def lesson_ids(session, module_id: int) -> list[int]:  # type: ignore[no-untyped-def]
    session.expire_all()
    return [lesson.id for lesson in structure.lessons_of(session, module_id)]


@pytest.mark.parametrize("path", ["/author/courses", "/author/courses/1", "/author/reports/progress"])
def test_anonymous_is_sent_to_sign_in(client, org, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 303 and response.headers["location"].startswith("/login?next=")


def test_trainee_is_refused(client, trainee, build_course) -> None:
    built = build_course()
    login(client, "trainee1")
    assert client.get("/author/courses").status_code == 403
    assert client.get(f"/author/courses/{built.id}").status_code == 403
    assert client.get("/author/reports/progress").status_code == 403
    assert post(client, f"/author/courses/{built.id}/publish", {}).status_code == 403


def test_course_list_shows_status_and_creates(client, session, instructor, curriculum, build_course) -> None:
    published = build_course("已发布课程")
    draft = build_course("草稿课程", publish=False)
    login(client, "instructor1")
    page = client.get("/author/courses")
    assert page.status_code == 200
    rows = {tr["id"]: tr.get_text(" ", strip=True) for tr in soup(page).select("#course-table tbody tr")}
    assert "已发布 v1" in rows[f"course-{published.id}"] or "v1" in rows[f"course-{published.id}"]
    assert f"course-{draft.id}" in rows
    assert soup(page).find(id=f"curriculum-{curriculum.id}") is not None
    assert soup(page).select_one("nav.mainnav a[href='/author/courses']") is not None
    fragment = client.get("/author/courses", headers=HX)
    assert soup(fragment).find("html") is None and soup(fragment).find(id="course-table") is not None

    created = post(client, "/author/courses", {"title": "新课程", "curriculum_id": curriculum.id, "hours": "2", "is_required": "1"})
    assert created.status_code == 303 and created.headers["location"].startswith("/author/courses/")
    editor = client.get(created.headers["location"])
    assert soup(editor).find(id="course-heading").get_text().startswith("新课程")
    assert soup(editor).find(id="no-modules") is not None


def test_admin_creates_curricula(client, session, admin) -> None:
    login(client, "admin1")
    response = post(client, "/author/curricula", {"title": "管理层课程体系", "tier": "management"})
    assert response.status_code == 303
    page = client.get("/author/courses")
    assert "管理层课程体系" in soup(page).find(id="curriculum-list").get_text()


def test_editor_whole_and_fragment(client, instructor, build_course) -> None:
    built = build_course()
    login(client, "instructor1")
    whole = client.get(f"/author/courses/{built.id}")
    assert whole.status_code == 200
    page = soup(whole)
    assert page.find(id="course-form") is not None and page.find(id="publish-form") is not None
    assert [s["src"] for s in page.select("script[src*=ortable]")] == ["/static/vendor/Sortable.min.js", "/static/js/sortable-init.js"]
    assert page.select_one("#course-tree")["data-order-url"] == f"/author/courses/{built.id}/order"
    lessons = page.select("#course-tree li.au-lesson")
    assert [li.select_one(".au-title-text").get_text() for li in lessons] == ["桌签摆放", "茶水服务"]
    assert page.find(id=f"material-{built.materials[0].id}") is not None
    fragment = client.get(f"/author/courses/{built.id}", headers=HX)
    assert fragment.headers["vary"] == "HX-Request"
    assert soup(fragment).find("html") is None and soup(fragment).find(id="course-form") is None
    assert soup(fragment).find(id="course-tree") is not None


def test_other_instructor_cannot_edit(client, session, user_factory, build_course) -> None:
    built = build_course()
    user_factory(Role.instructor, username="other1")
    login(client, "other1")
    assert client.get(f"/author/courses/{built.id}").status_code == 404
    module_id = structure.modules_of(session, built.id)[0].id
    assert post(client, f"/author/modules/{module_id}/title", {"title": "改"}).status_code == 404
    assert post(client, f"/author/courses/{built.id}/publish", {}).status_code == 404
    assert client.get(f"/author/courses/{built.id}/preview").status_code == 404


def test_inline_title_edit(client, session, instructor, build_course) -> None:
    built = build_course()
    module = structure.modules_of(session, built.id)[0]
    login(client, "instructor1")
    form = client.get(f"/author/modules/{module.id}/title?edit=1", headers=HX)
    assert soup(form).find("form", id=f"module-title-{module.id}") is not None
    saved = post(client, f"/author/modules/{module.id}/title", {"title": "  会前筹备 "}, headers=HX)
    assert saved.status_code == 200
    span = soup(saved).find(id=f"module-title-{module.id}")
    assert span.name == "span" and span.select_one(".au-title-text").get_text() == "会前筹备"
    session.expire_all()
    assert structure.modules_of(session, built.id)[0].title == "会前筹备"
    empty = post(client, f"/author/modules/{module.id}/title", {"title": ""}, headers=HX)
    assert empty.status_code == 422 and soup(empty).find(class_="error-text") is not None
    material = built.materials[0]
    post(client, f"/author/materials/{material.id}/title", {"title": "要点一览"}, headers=HX)
    session.expire_all()
    assert structure.materials_of(session, material.lesson_id)[0].title == "要点一览"
    assert client.get(f"/author/widgets/{module.id}/title").status_code == 404


def test_add_module_lesson_material_and_remove(client, session, instructor, build_course) -> None:
    built = build_course(publish=False)
    login(client, "instructor1")
    added = post(client, f"/author/courses/{built.id}/modules", {"title": "会后整理"}, headers=HX)
    assert added.status_code == 200 and "会后整理" in soup(added).find(id="course-tree").get_text()
    module = structure.modules_of(session, built.id)[-1]
    post(client, f"/author/modules/{module.id}/lessons", {"title": "清场", "course_id": built.id}, headers=HX)
    lesson = structure.lessons_of(session, module.id)[0]
    new_page = client.get(f"/author/lessons/{lesson.id}/materials/new?kind=scene")
    assert soup(new_page).find(id="f-location") is not None
    response = post(client, f"/author/lessons/{lesson.id}/materials", {
        "course_id": built.id, "kind": "scene", "title": "会议室", "is_required": "1", "name": "第一会议室", "location": "行政中心3楼",
        "equipment": "投影仪\n话筒"})
    assert response.status_code == 303
    (scene,) = structure.materials_of(session, lesson.id)
    assert scene.config["equipment"] == ["投影仪", "话筒"]
    text = post(client, f"/author/lessons/{lesson.id}/materials", {
        "course_id": built.id, "kind": "text", "title": "说明", "is_required": "1", "html": "<p>好</p><script>alert(1)</script>"})
    assert text.status_code == 303
    stored = structure.materials_of(session, lesson.id)[1]
    assert stored.config["html"] == "<p>好</p>"
    bad = post(client, f"/author/lessons/{lesson.id}/materials", {"course_id": built.id, "kind": "video", "title": "无", "asset_id": ""})
    assert bad.status_code == 303 and len(structure.materials_of(session, lesson.id)) == 2
    removed = post(client, f"/author/materials/{scene.id}/remove", {}, headers=HX)
    assert removed.status_code == 200 and soup(removed).find(id=f"material-{scene.id}") is None
    session.expire_all()
    assert [m.title for m in structure.materials_of(session, lesson.id)] == ["说明"]


def test_material_edit_page_and_clause_search(client, session, admin, instructor, build_course, make_standard) -> None:
    make_standard(instructor, publish_by=admin)
    built = build_course(publish=False)
    material = built.materials[0]
    login(client, "instructor1")
    page = client.get(f"/author/materials/{material.id}")
    assert page.status_code == 200 and soup(page).find(id="f-html").get_text() == material.config["html"]
    hits = client.get("/author/clauses?q=桌签", headers=HX)
    boxes = soup(hits).select("#clause-hit-list input[name=clause_ids]")
    assert boxes
    clause_id = int(boxes[0]["value"])
    saved = post(client, f"/author/materials/{material.id}", {"title": "要点", "is_required": "1", "html": "<p>新</p>",
                                                               "clause_ids": [clause_id]})
    assert saved.status_code == 303
    session.expire_all()
    assert structure.materials_of(session, material.lesson_id)[0].config["clause_ids"] == [clause_id]
    assert len(structure.material_citations(session, material.id)) == 1
    editor = client.get(f"/author/courses/{built.id}")
    assert soup(editor).select(f"#material-{material.id} .au-clause")


def test_reorder_by_drag_posts_the_whole_order(client, session, instructor, build_course) -> None:
    built = build_course(publish=False)
    module_id = structure.modules_of(session, built.id)[0].id
    first, second = lesson_ids(session, module_id)
    login(client, "instructor1")
    response = post(client, f"/author/courses/{built.id}/order", {"scope": "lessons", "parent_id": module_id, "ids": [second, first]},
                    headers=HX)
    assert response.status_code == 200
    titles = [li.select_one(".au-title-text").get_text() for li in soup(response).select("li.au-lesson")]
    assert titles == ["茶水服务", "桌签摆放"]
    assert lesson_ids(session, module_id) == [second, first]
    # The header token alone is enough (what sortable-init.js sends).
    token = csrf_from(client, "/author/courses")
    by_header = client.post(f"/author/courses/{built.id}/order", data={"scope": "lessons", "parent_id": module_id,
                                                                       "ids": [first, second]}, headers={**HX, "X-CSRF-Token": token})
    assert by_header.status_code == 200 and lesson_ids(session, module_id) == [first, second]


def test_reorder_refuses_bad_ids_and_other_courses(client, session, instructor, build_course) -> None:
    built = build_course(publish=False)
    other = build_course("另一门课", publish=False)
    module_id = structure.modules_of(session, built.id)[0].id
    other_module = structure.modules_of(session, other.id)[0].id
    before = lesson_ids(session, module_id)
    other_lessons = lesson_ids(session, other_module)
    login(client, "instructor1")
    cases = [
        {"scope": "lessons", "parent_id": module_id, "ids": [before[0]]},  # not every item
        {"scope": "lessons", "parent_id": module_id, "ids": [before[0], before[0]]},  # twice
        {"scope": "lessons", "parent_id": module_id, "ids": [before[1], other_lessons[0]]},  # another course's lesson
        {"scope": "lessons", "parent_id": other_module, "ids": list(reversed(other_lessons))},  # another course's module
        {"scope": "lessons", "parent_id": module_id, "ids": ["x", "y"]},  # not ids
        {"scope": "widgets", "ids": before},
    ]
    for data in cases:
        response = post(client, f"/author/courses/{built.id}/order", data, headers=HX)
        assert 400 <= response.status_code < 500, (data, response.status_code)
    assert lesson_ids(session, module_id) == before
    assert lesson_ids(session, other_module) == other_lessons


def test_move_up_and_down_buttons(client, session, instructor, build_course) -> None:
    built = build_course(publish=False)
    module_id = structure.modules_of(session, built.id)[0].id
    first, second = lesson_ids(session, module_id)
    login(client, "instructor1")
    page = soup(client.get(f"/author/courses/{built.id}"))
    assert page.find(id=f"up-lesson-{first}").has_attr("disabled") and not page.find(id=f"down-lesson-{first}").has_attr("disabled")
    moved = post(client, f"/author/courses/{built.id}/move", {"scope": "lessons", "parent_id": module_id, "item_id": first,
                                                             "direction": "down"}, headers=HX)
    assert moved.status_code == 200 and soup(moved).find(id=f"down-lesson-{first}").has_attr("disabled")
    assert lesson_ids(session, module_id) == [second, first]
    without_js = post(client, f"/author/courses/{built.id}/move", {"scope": "lessons", "parent_id": module_id, "item_id": first,
                                                                  "direction": "up"})
    assert without_js.status_code == 303 and lesson_ids(session, module_id) == [first, second]
    material = built.materials[0]
    post(client, f"/author/courses/{built.id}/move", {"scope": "materials", "parent_id": material.lesson_id, "item_id": material.id,
                                                      "direction": "down"})
    session.expire_all()
    assert [m.id for m in structure.materials_of(session, material.lesson_id)][1] == material.id


def test_preview_shows_the_draft_marked_as_preview(client, session, instructor, build_course) -> None:
    built = build_course(publish=False)
    login(client, "instructor1")
    page = client.get(f"/author/courses/{built.id}/preview")
    assert page.status_code == 200
    assert soup(page).find(id="preview-banner") is not None
    assert soup(page).find(id=f"pv-material-{built.materials[0].id}").select_one(".au-pv-text p").get_text() == "桌签应居中摆放。"
    second_lesson = built.materials[2].lesson_id
    fragment = client.get(f"/author/courses/{built.id}/preview?lesson={second_lesson}", headers=HX)
    assert soup(fragment).find("html") is None and soup(fragment).find(id=f"pv-lesson-{second_lesson}") is not None
    assert "预览" in soup(fragment).get_text()
    assert client.get(f"/author/courses/{built.id}/preview?lesson=999999").status_code == 404
    assert learning.enrolment_of(session, instructor.id, built.id) is None  # nothing recorded


def test_publish_shows_the_version(client, session, instructor, curriculum, build_course) -> None:
    built = build_course(publish=False)
    login(client, "instructor1")
    page = soup(client.get(f"/author/courses/{built.id}"))
    assert page.find(id="publish-submit").has_attr("data-confirm")
    response = post(client, f"/author/courses/{built.id}/publish", {"note": "首版"})
    assert response.status_code == 303
    after = client.get(response.headers["location"])
    assert "1" in soup(after).find(id="published-version").get_text()
    assert "发布" in soup(after).find(id="flash").get_text() and "1" in soup(after).find(id="flash").get_text()
    assert soup(after).find(id="version-1") is not None
    empty = post(client, "/author/courses", {"title": "空课程", "curriculum_id": curriculum.id})
    refused = post(client, empty.headers["location"] + "/publish", {})
    assert refused.status_code == 303
    assert soup(client.get(empty.headers["location"])).select_one("#flash .flash-error") is not None


def test_progress_report_and_excel_export(client, session, admin, district_admin, trainee, org, user_factory, build_course) -> None:
    built = build_course()
    other = user_factory(Role.trainee, username="trainee_b", unit=org["unit_b1"], display_name="钟楼学员")
    learning.enrol_many(session, admin, built.course, [trainee, other])
    session.commit()
    login(client, "admin1")
    page = client.get("/author/reports/progress")
    assert page.status_code == 200 and len(soup(page).select("#progress-table tbody tr")) == 2
    fragment = client.get(f"/author/reports/progress?org_unit_id={org['district_b'].id}", headers=HX)
    assert soup(fragment).find(id="progress-filters") is None
    assert len(soup(fragment).select("#progress-table tbody tr")) == 1
    export = client.get(f"/author/reports/progress.xlsx?course_id={built.id}")
    assert export.status_code == 200 and export.headers["content-type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(export.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert len(rows) == 3 and rows[1][4] == built.course.title
    assert {r[1] for r in rows[1:]} == {"trainee1", "trainee_b"}
    client.cookies.clear()
    login(client, "dadmin1")
    scoped = client.get("/author/reports/progress.xlsx")
    assert [r[1] for r in list(load_workbook(io.BytesIO(scoped.content)).active.iter_rows(values_only=True))[1:]] == ["trainee1"]


def test_course_details_and_prerequisites_all_or_nothing(client, session, instructor, build_course) -> None:
    base = build_course("基础课")
    built = build_course("进阶课", publish=False)
    login(client, "instructor1")
    saved = post(client, f"/author/courses/{built.id}", {"title": "进阶课程", "summary": "简介", "hours": "3.5", "is_required": "0",
                                                        "curriculum_id": built.course.curriculum_id, "prerequisite_ids": [base.id]})
    assert saved.status_code == 303
    session.expire_all()
    course = session.get(Course, built.id)
    assert (course.title, str(course.hours), course.is_required) == ("进阶课程", "3.5", False)
    assert service.prerequisite_ids(session, built.id) == [base.id]
    page = soup(client.get(f"/author/courses/{built.id}"))
    assert page.select_one(f"input[name=prerequisite_ids][value='{base.id}']").has_attr("checked")
    # A cycle is refused and the title change in the same form is not kept either.
    post(client, f"/author/courses/{base.id}", {"title": "改名", "hours": "1", "is_required": "1",
                                               "curriculum_id": base.course.curriculum_id, "prerequisite_ids": [built.id]})
    session.expire_all()
    assert session.get(Course, base.id).title == "基础课" and service.prerequisite_ids(session, base.id) == []


def test_move_to_another_module_and_lesson(client, session, instructor, build_course) -> None:
    built = build_course(publish=False)
    first = structure.modules_of(session, built.id)[0]
    second = structure.add_module(session, instructor, built.course, ModuleIn(title="会中服务"))
    session.commit()
    lesson_a, lesson_b = lesson_ids(session, first.id)
    login(client, "instructor1")
    page = soup(client.get(f"/author/courses/{built.id}"))
    menu = page.find(id=f"move-to-lesson-{lesson_a}")
    assert [o["value"] for o in menu.select("select option")] == [str(second.id)]  # the other modules
    material_menu = page.find(id=f"move-to-material-{built.materials[0].id}")
    assert [o["value"] for o in material_menu.select("select option")] == [str(lesson_b)]  # the other lessons
    assert page.find(id=f"move-to-lesson-{lesson_a}").find("label").get_text().startswith("将")

    moved = post(client, f"/author/lessons/{lesson_a}/move-to", {"parent_id": second.id}, headers=HX)
    assert moved.status_code == 200 and soup(moved).find("html") is None
    tree = soup(moved)
    assert tree.select_one(f"#module-{second.id} #lesson-{lesson_a}") is not None
    assert lesson_ids(session, first.id) == [lesson_b] and lesson_ids(session, second.id) == [lesson_a]
    assert [lesson.position for lesson in structure.lessons_of(session, first.id)] == [0]

    book = built.materials[1]
    without_js = post(client, f"/author/materials/{book.id}/move-to", {"parent_id": lesson_b})
    assert without_js.status_code == 303 and without_js.headers["location"].endswith(f"#material-{book.id}")
    session.expire_all()
    assert [m.title for m in structure.materials_of(session, lesson_b)] == ["示范", "图解"]


def test_move_to_is_refused_across_courses_and_for_others(client, session, instructor, org, build_course) -> None:
    built = build_course(publish=False)
    other = build_course("另一门课", publish=False)
    module_id = structure.modules_of(session, built.id)[0].id
    other_module = structure.modules_of(session, other.id)[0].id
    before = lesson_ids(session, module_id)
    login(client, "instructor1")
    refused = post(client, f"/author/lessons/{before[0]}/move-to", {"parent_id": other_module}, headers=HX)
    assert refused.status_code == 200 and "课时只能在本课程内移动" in refused.text
    assert lesson_ids(session, module_id) == before and len(lesson_ids(session, other_module)) == 2
    assert post(client, f"/author/modules/{module_id}/move-to", {"parent_id": module_id}).status_code == 404
    client.cookies.clear()
    from tests.factories import make_user

    make_user(session, Role.instructor, unit=org["dept"], username="instructor2")
    session.commit()
    login(client, "instructor2")
    assert post(client, f"/author/lessons/{before[0]}/move-to", {"parent_id": module_id}).status_code == 404


def test_curricula_are_edited_and_archived_from_the_authoring_page(client, session, admin, curriculum, build_course) -> None:
    built = build_course()
    login(client, "admin1")
    page = soup(client.get("/author/courses"))
    form = page.find(id=f"cu-{curriculum.id}-form")
    assert form is not None and form.find(id=f"cu-{curriculum.id}-title")["value"] == "执行层课程体系"
    saved = post(client, f"/author/curricula/{curriculum.id}", {"title": "执行层必修体系", "tier": "execution", "description": "说明",
                                                                "org_unit_id": ""})
    assert saved.status_code == 303
    session.expire_all()
    assert session.get(Curriculum, curriculum.id).title == "执行层必修体系"
    bad = post(client, f"/author/curricula/{curriculum.id}", {"title": "", "tier": "execution"})
    assert bad.status_code == 303 and soup(client.get("/author/courses")).select_one("#flash .flash-error") is not None

    refused = post(client, f"/author/curricula/{curriculum.id}/archive", {"active": "0"})
    after = soup(client.get(refused.headers["location"]))
    assert "会议服务" in after.select_one("#flash .flash-error").get_text()
    service.archive_course(session, admin, built.course)
    session.commit()
    post(client, f"/author/curricula/{curriculum.id}/archive", {"active": "0"})
    page = soup(client.get("/author/courses"))
    assert "已归档" in page.find(id=f"curriculum-{curriculum.id}").get_text()
    assert page.find(id=f"cu-{curriculum.id}-restore") is not None and page.find(id="new-course") is None
    post(client, f"/author/curricula/{curriculum.id}/archive", {"active": "1"})
    session.expire_all()
    assert session.get(Curriculum, curriculum.id).is_active


def test_instructors_cannot_edit_curricula(client, session, instructor, curriculum) -> None:
    login(client, "instructor1")
    assert soup(client.get("/author/courses")).find(id=f"cu-{curriculum.id}-form") is None
    assert post(client, f"/author/curricula/{curriculum.id}", {"title": "x", "tier": "execution"}).status_code == 404
    assert post(client, f"/author/curricula/{curriculum.id}/archive", {"active": "0"}).status_code == 404


def test_instructor_home_lists_own_courses_and_open_reviews(client, session, build_course, instructor, admin, make_standard) -> None:  # type: ignore[no-untyped-def]
    from app.courses.schemas import MaterialIn
    from app.standards import service as standards

    built = build_course("会场布置")
    version = make_standard(instructor, publish_by=admin).versions[0]
    clause = standards.clauses_of(session, version)[0]
    structure.add_material(session, instructor, built.materials[0].lesson_id,
                         MaterialIn(kind="text", title="条款", config={"clause_ids": [clause.id]}))
    session.commit()
    login(client, "instructor1")
    page = BeautifulSoup(client.get("/").text, "html.parser")
    assert "会场布置" in page.find(id="home-course-list").get_text()
    assert page.find(id="my-reviews").h2.find(class_="std-count") is None
    standards.start_revision(session, admin, version)
    session.commit()
    reviews = BeautifulSoup(client.get("/").text, "html.parser").find(id="my-reviews")
    assert reviews.h2.find(class_="std-count").get_text() == "1"
    link = reviews.find("a", href=lambda h: bool(h) and h.startswith(f"/author/courses/{built.id}#material-"))
    assert link is not None and "会场布置" in link.get_text()
