"""Journey: an instructor builds a question bank on the desktop. A new bank from 题库 in the navigation,
a GIFT file with a mistake (the preview names the line in Chinese and nothing is stored), the fixed file
(preview with every question, then import), live filters on the bank page, and an edit of an active
question that becomes version 2 while version 1 stays in the history."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import sign_in

pytestmark = pytest.mark.browser
expect.set_options(timeout=10_000)

BAD = """$CATEGORY: 会议服务

// [tag:茶水]
::茶水温度::会议茶水用开水温度宜为（ ）。{=85℃至95℃ ~60℃至70℃ ~100℃}

::桌签::桌签字面应朝向会场入口。{T

::续水::会中服务每隔____分钟续水一次。{=15 =十五}

::设备::会议设备应在会前多少分钟完成调试？{#30}
"""
GOOD = BAD.replace("{T\n", "{T}\n")


def test_instructor_imports_fixes_and_edits(new_visit: Callable[..., Any], shot: Callable[..., Any]) -> None:
    page = new_visit("desktop").new_page()
    sign_in(page, "instructor")
    page.get_by_role("link", name="题库", exact=True).click()
    expect(page.locator("h1")).to_have_text("题库")
    name = f"会议服务练习题库 {uuid.uuid4().hex[:4]}"
    page.fill("#f-bank-name", name)
    shot(page, "1-banks")
    page.click("#new-bank-submit")
    expect(page.locator("h1")).to_contain_text(name)
    expect(page.locator("#no-questions")).to_be_visible()

    # A file with a mistake on line 6: the preview says so in Chinese and offers no import.
    page.click("#import-link")
    page.set_input_files("#f-file", files=[{"name": "会议服务.gift", "mimeType": "text/plain", "buffer": BAD.encode()}])
    page.click("#preview-submit")
    errors = page.locator("#import-errors")
    expect(errors).to_contain_text("第 6 行")
    expect(errors).to_contain_text("未导入任何题目")
    expect(page.locator("#confirm-form")).to_have_count(0)
    shot(page, "2-line-error")

    # Fixed: every question in the preview, then import.
    page.set_input_files("#f-file", files=[{"name": "会议服务.gift", "mimeType": "text/plain", "buffer": GOOD.encode()}])
    page.click("#preview-submit")
    expect(page.locator("#preview-table tbody tr")).to_have_count(4)
    expect(page.locator("#import-summary")).to_contain_text("4 道题可以导入")
    shot(page, "3-preview")
    page.click("#confirm-import")
    expect(page.locator(".flash")).to_contain_text("已导入 4 道题")
    expect(page.locator("#question-table li")).to_have_count(4)
    shot(page, "4-imported")

    # Live filter by type (htmx swaps the list).
    page.select_option("#f-type", "numerical")
    expect(page.locator("#question-table li")).to_have_count(1)
    expect(page.locator("#question-table")).to_contain_text("调试")
    page.select_option("#f-type", "")
    expect(page.locator("#question-table li")).to_have_count(4)

    # Edit an active question: a new version.
    page.locator("#question-table a", has_text="开水温度").click()
    expect(page.locator("#version-badge")).to_have_text("第 1 版")
    expect(page.locator("input[name=opt_text]").first).to_have_value("85℃至95℃")
    page.fill("#f-stem", "会议茶水用开水温度宜为（ ）（2024 版规范）。")
    page.fill("#f-tags", "茶水，会前准备")
    shot(page, "5-editor")
    page.click("#question-save")
    expect(page.locator(".flash")).to_contain_text("已保存为第 2 版")
    row = page.locator("#question-table li", has_text="2024 版规范")
    expect(row).to_contain_text("v2")
    shot(page, "6-version-2")
    row.locator("a").click()
    expect(page.locator("#version-badge")).to_have_text("第 2 版")
    expect(page.locator("#versions li")).to_have_count(2)
    shot(page, "7-history")
