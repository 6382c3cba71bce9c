"""Journey: an instructor authors a course on the desktop. New course in a curriculum, two modules,
lessons, materials of several forms (rich text citing a standard clause found through the clause
search, a picture book, a scene), an inline rename, reordering by dragging the ⠿ handles (SortableJS,
real mouse steps) and by the keyboard Move up / Move down buttons, the order kept after a reload,
preview as a trainee, publishing version 1. An administrator enrols a trainee by hand, the trainee
sees the course in 我的学习, and revising the cited standard puts the lesson on the instructor's
review worklist."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import LiveServer, Visit, accept_confirms, live_session, make_live_user, sign_in

pytestmark = pytest.mark.browser
# Two slow cores shared with other work: every expect() waits as long as a page action may (10 s).
expect.set_options(timeout=10_000)

VEHICLES = "公务用车运行管理规范"  # the demo standard the text cites (Q/CZJG 011—2022); no other test revises it
ENERGY = "公共机构节能管理规范"  # revised by the worklist-label test below


def snap(shot: Callable[..., Any], page: Any, step: str) -> None:
    """shot(), then drop the empty style="" attributes Playwright leaves on every input and textarea (it
    hides the caret for the screenshot and restores caret-color to ''): htmx's settle step would copy
    them onto the swapped-in elements, which the CSP (style-src 'self') blocks with a console error."""
    shot(page, step)
    page.evaluate("document.querySelectorAll('[style=\"\"]').forEach(el => el.removeAttribute('style'))")


def expect_order(page: Any, selector: str, ids: list[str]) -> None:
    """Wait until the items of `selector` are in this order (the tree is swapped by htmx or the drag script)."""
    locator = page.locator(selector)
    expect(locator).to_have_count(len(ids))
    for index, item_id in enumerate(ids):
        expect(locator.nth(index)).to_have_attribute("data-id", item_id)


def drag(page: Any, source: Any, target: Any, *, above: bool = True) -> None:
    """Drag `source` (a ⠿ handle) onto `target` (another handle) with real mouse steps, the way SortableJS
    sees a person drag: press, a small first move to start the drag, then a slow move, release."""
    start, end = source.bounding_box(), target.bounding_box()
    assert start and end
    x, y = start["x"] + start["width"] / 2, start["y"] + start["height"] / 2
    tx = end["x"] + end["width"] / 2
    ty = end["y"] + (end["height"] * 0.25 if above else end["height"] * 0.75)
    with page.expect_response(lambda r: r.request.method == "POST" and urlsplit(r.url).path.endswith("/order")) as posted:
        page.mouse.move(x, y)
        page.mouse.down()
        page.mouse.move(x, y + (-6 if ty < y else 6), steps=2)
        page.mouse.move(tx, ty, steps=20)
        page.mouse.move(tx, ty + (-2 if above else 2), steps=2)
        page.mouse.up()
    assert posted.value.ok, posted.value.status


def csrf_of(page: Any) -> str:
    """The page's CSRF token, which htmx sends as a header (hx-headers on <body>)."""
    return str(json.loads(page.locator("body").get_attribute("hx-headers") or "{}")["X-CSRF-Token"])


def add_module(page: Any, title: str) -> str:
    page.fill("#f-module", title)
    page.locator("#add-module button[type=submit]").click()
    module = page.locator("li.au-module", has=page.locator(".au-row-module .au-title-text", has_text=title))
    expect(module).to_have_count(1)
    return str(module.get_attribute("data-id"))


def add_lesson(page: Any, module_id: str, title: str) -> str:
    page.fill(f"#f-lesson-{module_id}", title)
    page.locator(f"#add-lesson-{module_id} button[type=submit]").click()
    lesson = page.locator(f"#module-{module_id} li.au-lesson", has=page.locator(".au-row-lesson .au-title-text", has_text=title))
    expect(lesson).to_have_count(1)
    return str(lesson.get_attribute("data-id"))


def open_material_form(page: Any, lesson_id: str, kind: str) -> None:
    page.locator(f"#add-material-{lesson_id} a[href$='kind={kind}']").click()
    expect(page.locator("#material-form input[name=kind]")).to_have_value(kind)


def save_material(page: Any, lesson_id: str, title: str) -> str:
    page.click("#material-save")
    expect(page.locator("#flash")).to_contain_text("材料已添加")
    material = page.locator(f"#lesson-{lesson_id} li.au-material", has_text=title)
    expect(material).to_have_count(1)
    return str(material.get_attribute("data-id"))


def rename(page: Any, kind: str, item_id: str, title: str) -> None:
    page.locator(f"#{kind}-title-{item_id} a.au-edit-title").click()
    field = page.locator(f"#{kind}-title-{item_id}-input")
    expect(field).to_be_focused()
    field.fill(title)
    page.locator(f"form#{kind}-title-{item_id} button[type=submit]").click()
    expect(page.locator(f"span#{kind}-title-{item_id} .au-title-text")).to_have_text(title)


def test_instructor_authors_reorders_previews_and_publishes_a_course(
        live_server: LiveServer, new_visit: Callable[..., Visit], shot: Callable[..., Any]) -> None:
    suffix = uuid.uuid4().hex[:6]
    title = f"公务用车调度实务（{suffix}）"
    visit = new_visit("desktop")
    page = visit.new_page()
    accept_confirms(page)
    sign_in(page, "instructor")

    # The author's courses: create a course in a curriculum.
    page.locator("nav.mainnav").get_by_role("link", name="课程编写").click()
    page.wait_for_url("**/author/courses")
    expect(page.locator("main h1")).to_have_text("课程编写")
    expect(page.locator("#course-table tbody tr").first).to_be_visible()
    snap(shot, page, "my-courses")
    curriculum = page.locator("#f-new-curriculum option", has_text="执行层").first.inner_text().strip()
    page.fill("#f-new-title", title)
    page.select_option("#f-new-curriculum", label=curriculum)
    page.fill("#f-new-hours", "2")
    page.click("#new-course-submit")
    page.wait_for_url(re.compile(r"/author/courses/\d+$"))
    course_id = urlsplit(page.url).path.rsplit("/", 1)[1]
    expect(page.locator("#course-heading")).to_contain_text(title)
    expect(page.locator("#course-status")).to_have_text("草案")
    expect(page.locator("#f-curriculum option:checked")).to_have_text(curriculum)

    # Two modules and three lessons, added in place (htmx swaps the tree).
    first = add_module(page, "派车与调度")
    second = add_module(page, "出车与安全")
    dispatch = add_lesson(page, first, "派车原则")
    urgent = add_lesson(page, first, "紧急用车")
    check = add_lesson(page, second, "出车检查")
    snap(shot, page, "tree")

    # A text with rich text and a clause of the vehicles standard found through the clause search.
    open_material_form(page, dispatch, "text")
    page.fill("#f-title", "派车的先后顺序")
    page.fill("#f-html", "<h3>先急后缓</h3><p>调度员按<strong>先急后缓、就近派车</strong>的原则安排车辆。</p>"
                         "<ul><li>核对申请</li><li>就近派车</li></ul><script>alert('x')</script><p onclick=\"alert(1)\">记录在案</p>")
    with page.expect_response(lambda r: "/author/clauses?" in r.url):
        page.fill("#f-clause-q", "派车")
    hit = page.locator("#clause-hit-list li", has_text="派车调度").filter(has_text=VEHICLES)
    expect(hit.first).to_be_visible()
    clause_number = re.search(r"§([\d.]+)", hit.first.inner_text())
    assert clause_number, hit.first.inner_text()
    hit.first.locator("input[type=checkbox]").check()
    snap(shot, page, "text-form-with-clause")
    text_id = save_material(page, dispatch, "派车的先后顺序")
    expect(page.locator(f"#material-{text_id} .au-clause")).to_have_text(f"§{clause_number.group(1)}")

    # A picture book (pages: asset id | caption) in the same lesson, a scene in another.
    open_material_form(page, dispatch, "picture_book")
    page.fill("#f-title", "图解：一次规范的派车")
    page.fill("#f-pages", "demo-vehicle-1 | 第一步：核对用车申请的事由、时间和地点。\n"
                          "demo-meeting-3 | 第二步：按先急后缓安排车辆并通知驾驶员。")
    book_id = save_material(page, dispatch, "图解：一次规范的派车")
    open_material_form(page, check, "scene")
    page.fill("#f-title", "实训场景：车辆检查区")
    page.fill("#f-name", "车辆检查区")
    page.fill("#f-location", "实训基地地下一层 B2 区")
    page.fill("#f-equipment", "胎压计\n灯光检查卡\n行车记录本")
    save_material(page, check, "实训场景：车辆检查区")
    open_material_form(page, urgent, "text")
    page.fill("#f-title", "紧急公务用车")
    page.fill("#f-html", "<p>紧急公务可电话申请，事后 24 小时内补办手续。</p>")
    save_material(page, urgent, "紧急公务用车")
    expect(page.locator(f"#material-{text_id} .au-kind")).to_be_visible()
    snap(shot, page, "materials")

    # Inline rename of a lesson.
    rename(page, "lesson", urgent, "紧急用车与补办")
    snap(shot, page, "renamed")

    # Drag: the second module above the first, then (in the first module) 紧急用车与补办 above 派车原则.
    drag(page, page.locator(f"#module-{second} > .au-row .au-handle"), page.locator(f"#module-{first} > .au-row .au-handle"))
    expect_order(page, "#course-tree li.au-module", [second, first])
    drag(page, page.locator(f"#lesson-{urgent} > .au-row .au-handle"), page.locator(f"#lesson-{dispatch} > .au-row .au-handle"))
    expect_order(page, f"#module-{first} li.au-lesson", [urgent, dispatch])
    expect(page.locator("#course-tree li.au-module").first.locator(".au-label").first).to_have_text("模块 1")
    snap(shot, page, "dragged")

    # Keyboard: focus the text's 下移 button and press Enter; the focus stays on the pair of buttons.
    page.bring_to_front()  # keyboard focus belongs to the front page; another test's page may be in front
    page.locator(f"#down-material-{text_id}").focus()
    page.keyboard.press("Enter")
    expect_order(page, f"#lesson-{dispatch} li.au-material", [book_id, text_id])
    expect(page.locator(f"#down-material-{text_id}")).to_be_disabled()
    expect(page.locator(f"#up-material-{text_id}")).to_be_focused()
    # Another htmx request of the page (like a media status poll) starts and ends while the move is under way.
    page.evaluate("""() => {
      const sink = document.createElement("div"); sink.id = "race-sink"; sink.hidden = true; document.body.appendChild(sink);
      document.addEventListener("htmx:beforeRequest", function once(event) {
        if (!(document.activeElement && document.activeElement.id.startsWith("up-"))) { return; }
        document.removeEventListener("htmx:beforeRequest", once);
        window.htmx.ajax("GET", "/healthz", {target: "#race-sink", swap: "innerHTML"});
      });
    }""")
    page.keyboard.press("Enter")  # and back up, then down again with the keyboard
    expect_order(page, f"#lesson-{dispatch} li.au-material", [text_id, book_id])
    # At the top the focus moves to the pair's other button (also while another htmx request of the page,
    # such as a media status poll, starts and ends during the move).
    expect(page.locator(f"#down-material-{text_id}")).to_be_focused()
    page.keyboard.press("Enter")
    expect_order(page, f"#lesson-{dispatch} li.au-material", [book_id, text_id])

    # The new order survives a reload (it is stored, not just shown).
    page.reload()
    expect_order(page, "#course-tree li.au-module", [second, first])
    expect_order(page, f"#module-{first} li.au-lesson", [urgent, dispatch])
    expect_order(page, f"#module-{second} li.au-lesson", [check])
    expect_order(page, f"#lesson-{dispatch} li.au-material", [book_id, text_id])
    expect(page.locator(f"span#lesson-title-{urgent} .au-title-text")).to_have_text("紧急用车与补办")
    snap(shot, page, "after-reload")

    # Preview as a trainee: the draft in its new order, the rich text sanitised, the clause quoted.
    page.click("#preview-link")
    expect(page.locator("#preview-banner")).to_be_visible()
    nav = page.locator(".au-pv-nav a")
    expect(nav).to_have_count(3)
    expect(nav.nth(0)).to_have_text("出车检查")
    expect(nav.nth(1)).to_have_text("紧急用车与补办")
    expect(nav.nth(2)).to_have_text("派车原则")
    expect(page.locator(".au-pv-material")).to_contain_text("车辆检查区")
    snap(shot, page, "preview-first")
    nav.nth(2).click()
    lesson = page.locator("#preview-lesson")
    expect(lesson.locator("#pv-lesson-title")).to_have_text("派车原则")
    expect(lesson.locator(f"#pv-material-{text_id} .au-pv-text strong")).to_have_text("先急后缓、就近派车")
    expect(lesson.locator(f"#pv-material-{text_id} .au-pv-clause")).to_contain_text(clause_number.group(1))
    assert lesson.locator("script, [onclick]").count() == 0
    expect(lesson.locator(".au-pv-material").first).to_contain_text("图解：一次规范的派车")  # the book comes first now
    snap(shot, page, "preview-lesson")

    # Publish version 1.
    page.click("#back-to-editor")
    page.click("#publish-submit")
    expect(page.locator("#flash")).to_contain_text("已发布第 1 版")
    expect(page.locator("#course-status")).to_have_text("已发布 v1")
    expect(page.locator("#version-1")).to_be_visible()
    snap(shot, page, "published")

    # An administrator enrols a new trainee by hand (the JSON API: there is no enrolment page yet).
    with live_session(live_server) as session:
        trainee_id = make_live_user(session, f"author_journey_{suffix}", f"用车学员{suffix}").id
    admin = new_visit("desktop").new_page()
    sign_in(admin, "admin")
    enrolled = admin.request.post(f"/api/v1/courses/{course_id}/enrolments", data={"user_id": trainee_id},
                                  headers={"X-CSRF-Token": csrf_of(admin)})
    assert enrolled.status == 201, enrolled.text()
    assert enrolled.json() == {"created": 1, "total": 1}

    # The trainee (another browser context) sees it under 我的学习, in the published order.
    trainee = new_visit("desktop").new_page()
    sign_in(trainee, f"author_journey_{suffix}")
    expect(trainee.locator("main h1")).to_have_text("我的学习")
    card = trainee.locator("#my-courses li", has_text=title)
    expect(card).to_be_visible()
    expect(card).to_contain_text("2 学时")
    shot(trainee, "trainee-home")
    card.locator("a.learn-course-title").click()
    expect(trainee.locator(".learn-lesson-link")).to_have_text(["出车检查", "紧急用车与补办", "派车原则"])
    shot(trainee, "trainee-outline")

    # The administrator starts a revision of the cited standard; the lesson lands on the instructor's worklist.
    admin.goto("/standards")
    accept_confirms(admin)
    admin.locator("#standard-table a", has_text=VEHICLES).click()
    admin.click("#revise-version")
    expect(admin.locator("#flash")).to_contain_text("修订")
    page.goto("/standards/reviews")
    expect(page.locator("main h1")).to_have_text("待复核事项")
    row = page.locator("#review-table tbody tr", has_text=title)
    expect(row).to_have_count(1)
    expect(row).to_contain_text("派车的先后顺序")
    expect(row).to_contain_text(clause_number.group(1))
    snap(shot, page, "review-worklist")


def test_the_worklist_names_a_renamed_lesson_by_its_new_title(live_server: LiveServer, new_visit: Callable[..., Visit],
                                                              shot: Callable[..., Any]) -> None:
    from app.accounts import service as accounts
    from app.courses import service, structure
    from app.courses.models import Course
    from app.courses.schemas import CourseIn, LessonIn, MaterialIn, ModuleIn
    from app.standards import service as standards

    title = f"空调节能要点（{uuid.uuid4().hex[:6]}）"
    with live_session(live_server) as session:
        instructor = accounts.get_user_by_username(session, "instructor")
        assert instructor is not None
        hits, _total = standards.search_standards(session, instructor, "空调", limit=20)
        clause = next(h.clause for h in hits if h.clause is not None and h.standard.title == ENERGY)
        curriculum = service.list_curricula(session, instructor)[0]
        course: Course = service.create_course(session, instructor, curriculum, CourseIn(title=title))
        module = structure.add_module(session, instructor, course, ModuleIn(title="用能管理"))
        lesson = structure.add_lesson(session, instructor, module.id or 0, LessonIn(title="空调温度"))
        structure.add_material(session, instructor, lesson.id or 0, MaterialIn(
            kind="text", title="温度设定", config={"html": "<p>夏季不低于 26℃。</p>", "clause_ids": [clause.id]}))
        course_id, lesson_id = course.id, lesson.id

    page = new_visit("desktop").new_page()
    accept_confirms(page)
    sign_in(page, "instructor")
    page.goto(f"/author/courses/{course_id}")
    rename(page, "lesson", str(lesson_id), "空调温度与开关时间")

    admin = new_visit("desktop").new_page()
    accept_confirms(admin)
    sign_in(admin, "admin")
    admin.goto("/standards")
    admin.locator("#standard-table a", has_text=ENERGY).click()
    admin.click("#revise-version")
    expect(admin.locator("#flash")).to_contain_text("修订")

    page.goto("/standards/reviews")
    row = page.locator("#review-table tbody tr", has_text=title)
    expect(row).to_have_count(1)
    snap(shot, page, "worklist")
    expect(row).to_contain_text("空调温度与开关时间")
