"""Journeys: every demo role signs in and lands on its home page in Chinese; language switch; keyboard only."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.browser.conftest import Visit, sign_in

pytestmark = pytest.mark.browser

# username, name in the top bar, heading of the home page
ROLE_HOMES = [
    ("admin", "系统管理员", "概览"),
    ("district_admin", "钟楼区管理员", "概览"),
    ("instructor", "陈立新（讲师）", "我的课程"),
    ("examiner", "沈雅琴（考评员）", "待评分的考核"),
    ("coordinator", "周明远（接待协调）", "来访接待"),
    ("trainee", "王晓燕", "我的学习"),
]


def assert_home(page: Any, visit: Visit, name: str, heading: str) -> None:
    assert urlsplit(page.url).path == "/"
    assert page.get_attribute("html", "lang") == "zh-CN"
    assert page.locator("main h1").inner_text().strip() == heading
    assert page.locator(".topbar .whoami").inner_text().strip().endswith(name)
    assert page.get_by_role("button", name="退出登录").is_visible()
    # The stylesheet and scripts came, and all from the live server (nothing from a CDN).
    paths = {urlsplit(url).path for url in visit.requested}
    assert {"/static/css/app.css", "/static/vendor/htmx.min.js", "/static/js/app.js"} <= paths
    assert visit.foreign_requests() == []
    assert {urlsplit(url).hostname for url in visit.requested} == {"127.0.0.1"}


@pytest.mark.parametrize(("username", "name", "heading"), ROLE_HOMES, ids=[r[0] for r in ROLE_HOMES])
def test_each_role_signs_in_to_its_home_in_chinese(
    new_visit: Callable[..., Visit], shot: Callable[..., Any], username: str, name: str, heading: str
) -> None:
    visit = new_visit("desktop")
    page = visit.new_page()
    posted = sign_in(page, username, shot=shot)
    assert posted.status == 303
    shot(page, "home")
    assert_home(page, visit, name, heading)


# Every visible control of a page, with its size. A checkbox counts through its label; the skip link is
# for keyboards.
SMALL_TARGETS = """(minimum) => [...document.querySelectorAll(
        'a[href], button, input:not([type=hidden]):not([type=checkbox]):not([type=radio]), select, textarea, label.check')]
    .filter(el => !el.matches('.skip-link') && el.getClientRects().length)
    .map(el => { const r = el.getBoundingClientRect(), text = (el.innerText || el.name || '').trim().slice(0, 20);
                 return {text, w: Math.round(r.width), h: Math.round(r.height)}; })
    .filter(t => t.w < minimum || t.h < minimum)"""


@pytest.mark.parametrize("viewport", ["kiosk", "phone"])
def test_trainee_home_on_touch_screens(new_visit: Callable[..., Visit], shot: Callable[..., Any], viewport: str) -> None:
    visit = new_visit(viewport)
    page = visit.new_page()
    page.goto("/login")
    assert page.evaluate(SMALL_TARGETS, 44) == []
    sign_in(page, "trainee", shot=shot)
    shot(page, "home")
    assert_home(page, visit, "王晓燕", "我的学习")
    # Touch targets of at least 44 px (the stylesheet's own rule), and nothing wider than the screen.
    assert page.evaluate(SMALL_TARGETS, 44) == []
    assert page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"]


def test_language_switch_to_english_and_back(page: Any, shot: Callable[..., Any]) -> None:
    # trainee3: the chosen language is saved on the account, so keep it apart from the other journeys.
    sign_in(page, "trainee3")
    assert page.locator("main h1").inner_text() == "我的学习"
    shot(page, "chinese")

    page.locator(".topbar").get_by_role("button", name="English").click()
    page.wait_for_load_state("load")
    assert page.get_attribute("html", "lang") == "en"
    assert page.locator("main h1").inner_text() == "My learning"
    assert page.get_by_role("button", name="Sign out").is_visible()
    assert page.locator(".topbar button[value=en]").get_attribute("aria-pressed") == "true"
    shot(page, "english")

    page.locator(".topbar").get_by_role("button", name="简体中文").click()
    page.wait_for_load_state("load")
    assert page.get_attribute("html", "lang") == "zh-CN"
    assert page.locator("main h1").inner_text() == "我的学习"
    assert page.locator(".topbar button[value=zh_CN]").get_attribute("aria-pressed") == "true"
    shot(page, "chinese-again")


def test_login_with_keyboard_only(page: Any, shot: Callable[..., Any]) -> None:
    page.goto("/login")
    # The skip link is the first thing Tab reaches in the page.
    first = page.evaluate("""() => {
        const all = document.querySelectorAll('a[href], button, input:not([type=hidden]), select, textarea, [tabindex]');
        const tabbable = [...all].filter(el => el.tabIndex >= 0 && !el.disabled);
        return tabbable.length ? {cls: tabbable[0].className, href: tabbable[0].getAttribute('href')} : null;
    }""")
    assert first == {"cls": "skip-link", "href": "#main"}
    assert page.locator("a.skip-link").inner_text() == "跳到正文"

    # The username field has focus on arrival (autofocus); the rest is Tab and Enter.
    assert page.evaluate("document.activeElement.id") == "username"
    page.keyboard.type("trainee7")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "password"
    page.keyboard.type("shixun-demo")
    shot(page, "filled")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert urlsplit(page.url).path == "/"
    assert page.locator("main h1").inner_text() == "我的学习"

    # On a page without autofocus, the first Tab lands on the skip link, which shows itself and jumps to main.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    box = page.locator("a.skip-link").bounding_box()
    assert box is not None and box["y"] >= 0 and box["width"] > 20, f"skip link not visible when focused: {box}"
    shot(page, "skip-link-focused")
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
