"""Journey: a trainee looks up a standard by a two-character term and reads the clause it cites."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.browser.conftest import Visit, sign_in

pytestmark = pytest.mark.browser


def test_trainee_searches_as_they_type_and_opens_the_clause(new_visit: Callable[..., Visit], shot: Callable[..., Any]) -> None:
    visit = new_visit("desktop")
    page = visit.new_page()
    sign_in(page, "trainee")
    page.get_by_role("link", name="标准库").click()
    page.wait_for_url("**/standards")
    assert page.locator("main h1").inner_text().strip() == "标准库"
    rows = page.locator("#standard-table tbody tr")
    assert rows.count() >= 5
    assert page.locator("#standard-table").get_by_text("草案").count() == 0  # drafts are not for trainees
    shot(page, "list")

    # Typing filters live (htmx swaps only the results), and a two-character Chinese term matches.
    with page.expect_response(lambda r: "/standards?" in r.url and r.request.headers.get("hx-request") == "true"):
        page.fill("#q", "桌签")
    page.wait_for_selector("#search-hits")
    first = page.locator("#hit-1")
    assert "桌签" in first.inner_text()
    assert first.locator("mark").count() >= 1
    assert "q=" in page.url  # the search is in the address bar, so Back and reload keep it
    shot(page, "search-hits")

    first.locator("a.std-hit-title").click()
    page.wait_for_selector(".std-clause:target, .std-clause")
    target = page.url.split("#", 1)[1]
    clause = page.locator(f"#{target}")
    assert clause.is_visible() and "桌签" in clause.inner_text()
    assert page.locator("#version-timeline li").count() >= 1
    shot(page, "clause")
    assert visit.foreign_requests() == []


def test_a_search_that_finds_nothing_says_so(new_visit: Callable[..., Visit], shot: Callable[..., Any]) -> None:
    visit = new_visit("phone")
    page = visit.new_page()
    sign_in(page, "trainee")
    page.goto("/standards?q=量子纠缠")
    assert page.locator("#no-hits").is_visible()
    shot(page, "no-hits")
