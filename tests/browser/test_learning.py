"""Journey: a trainee on the base's portrait kiosk continues the course in progress from the home page,
reads a text, finishes a lesson, starts another course and pages through a picture book by touch-sized
buttons and the keyboard; the lesson player on a phone. Every control of the player is at least 48 px."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Visit, sign_in

pytestmark = pytest.mark.browser


# Every visible control in the page's main area that is smaller than `minimum` px either way.
SMALL_TARGETS = """(minimum) => [...document.querySelector('#main').querySelectorAll('a[href], button, input:not([type=hidden])')]
    .filter(el => el.getClientRects().length)
    .map(el => { const r = el.getBoundingClientRect();
                 return {text: (el.innerText || el.name || '').trim().slice(0, 20), w: Math.round(r.width), h: Math.round(r.height)}; })
    .filter(t => t.w < minimum || t.h < minimum)"""


def assert_touch_sized(page: Any) -> None:
    small = page.evaluate(SMALL_TARGETS, 48)
    assert small == [], small
    assert page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"]


def test_trainee_learns_on_the_kiosk(new_visit: Callable[..., Visit], shot: Callable[..., Any]) -> None:
    visit = new_visit("kiosk")
    page = visit.new_page()
    sign_in(page, "trainee")
    assert page.locator("#hours-figure").inner_text().startswith("2 / 32")
    shot(page, "home")

    # Continue the course in progress: its next lesson opens on the first item, a text with clauses.
    page.click("#continue-learning")
    page.wait_for_load_state("load")
    assert urlsplit(page.url).path.startswith("/learn/lessons/")
    assert page.locator("#lesson-title").inner_text() == "备用线路与终端"
    assert page.locator(".player-clause").count() >= 1
    assert_touch_sized(page)
    shot(page, "text")
    page.click("#mark-read")
    page.locator("#material-done").wait_for()
    assert "已完成" in page.locator("#material-done").inner_text()

    # The next item is a one-page picture book: showing its page completes the lesson.
    page.click("#next-item")
    page.locator("#lesson-complete").wait_for()
    assert page.locator("#book-counter").inner_text() == "第 1 / 1 页"
    assert "本课已完成" in page.locator("#flash").inner_text()
    shot(page, "lesson-complete")

    # Another course: start it from its page, read, then page through a two-page book.
    page.goto("/")
    page.locator("#my-courses a", has_text="办公楼保洁基础").click()
    page.wait_for_load_state("load")
    page.click("#start-course")
    page.wait_for_load_state("load")
    assert page.locator("#lesson-title").inner_text() == "大厅与走廊"
    page.click("#mark-read")
    page.locator("#material-done").wait_for()
    page.click("#next-item")
    page.locator("#book-counter").wait_for()
    assert page.locator("#book-counter").inner_text() == "第 1 / 2 页"
    assert page.locator("#book img").evaluate("img => img.complete && img.naturalWidth > 0")
    assert_touch_sized(page)
    shot(page, "book-page-1")
    page.keyboard.press("ArrowRight")
    page.locator("#lesson-complete").wait_for()
    assert page.locator("#book-counter").inner_text() == "第 2 / 2 页"
    page.click("[data-book-prev]")
    expect(page.locator("#book-counter")).to_have_text("第 1 / 2 页")
    shot(page, "book-lesson-complete")


def test_lesson_player_on_a_phone(new_visit: Callable[..., Visit], shot: Callable[..., Any]) -> None:
    visit = new_visit("phone")
    page = visit.new_page()
    sign_in(page, "trainee2")
    shot(page, "home")
    page.click("#continue-learning")
    page.wait_for_load_state("load")
    assert page.locator("#lesson-title").is_visible()
    assert_touch_sized(page)
    shot(page, "lesson")
    while page.locator("#next-item").count():
        page.click("#next-item")
        page.wait_for_load_state("networkidle")
    assert_touch_sized(page)
    shot(page, "last-item")
