"""Journeys: account lockout, shared kiosk sign-out, CSRF refusal, error pages."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.browser.conftest import DEMO_PASSWORD, LiveServer, Visit, sign_in

pytestmark = pytest.mark.browser

LOCK_MESSAGE = "登录失败次数过多"
WRONG_PASSWORD = "用户名或密码错误"
CSRF_MESSAGE = "表单已过期或并非来自本站"


def test_ten_wrong_passwords_lock_the_account(new_visit: Callable[..., Visit], shot: Callable[..., Any]) -> None:
    # Failures are counted per account and per address. This browser claims its own address through the
    # trusted proxy header, so locking it does not lock 127.0.0.1 for the other journeys.
    visit = new_visit("desktop", extra_http_headers={"X-Forwarded-For": "10.20.30.40"})
    page = visit.new_page()
    locked_at = None
    for attempt in range(1, 12):
        posted = sign_in(page, "trainee2", password=f"wrong-{attempt}")
        if posted.status == 429:
            locked_at = attempt
            break
        assert posted.status == 401, f"attempt {attempt}: {posted.status}"
        assert WRONG_PASSWORD in page.locator("#login-error").inner_text()
        if attempt == 1:
            shot(page, "wrong-password")
    # Locked after the tenth failure: on the tenth post at the earliest, the eleventh at the latest.
    assert locked_at in (10, 11), f"not locked after ten failures (locked_at={locked_at})"
    message = page.locator("#login-error").inner_text()
    assert LOCK_MESSAGE in message
    assert page.get_attribute("html", "lang") == "zh-CN"
    assert posted.headers.get("retry-after")
    shot(page, "locked")

    # While locked, the right password is refused too, with the same message.
    posted = sign_in(page, "trainee2", password=DEMO_PASSWORD)
    assert posted.status == 429
    assert LOCK_MESSAGE in page.locator("#login-error").inner_text()
    assert urlsplit(page.url).path == "/login"
    assert page.locator(".topbar .whoami").count() == 0
    shot(page, "right-password-refused")


def test_shared_kiosk_sign_out_then_back_button(
    new_visit: Callable[..., Visit], shot: Callable[..., Any], live_server: LiveServer
) -> None:
    visit = new_visit("kiosk")
    page = visit.new_page()
    sign_in(page, "trainee", public_device=True, shot=shot)
    assert page.locator("main h1").inner_text() == "我的学习"
    assert page.get_by_text("王晓燕").first.is_visible()
    shot(page, "home")
    session = next(c for c in visit.context.cookies() if c["name"] == "shixun_session")
    # On a shared device the session cookie dies with the browser.
    assert session["expires"] == -1

    page.get_by_role("button", name="退出登录").click()
    page.wait_for_load_state("load")
    assert urlsplit(page.url).path == "/login"
    assert "您已退出登录" in page.locator("#flash").inner_text()
    shot(page, "signed-out")

    page.go_back()
    page.wait_for_load_state("load")
    shot(page, "after-back")
    # Back asked the server for the home page again (no-store), which sent it to sign in.
    assert urlsplit(page.url).path == "/login"
    assert parse_qs(urlsplit(page.url).query).get("next") == ["/"], page.url
    assert page.locator("#login-title").is_visible()
    assert "王晓燕" not in page.content()
    assert page.locator(".topbar .whoami").count() == 0

    # The old session cookie, replayed in another browser, opens nothing.
    thief = new_visit("kiosk")
    thief.context.add_cookies([{"name": "shixun_session", "value": session["value"], "url": live_server.url}])
    thief_page = thief.new_page()
    response = thief_page.goto("/")
    assert response is not None and response.ok
    assert urlsplit(thief_page.url).path == "/login"
    assert "王晓燕" not in thief_page.content()
    shot(thief_page, "old-cookie")


def test_post_without_csrf_token_is_refused(page: Any, shot: Callable[..., Any]) -> None:
    sign_in(page, "trainee4")
    assert page.locator("main h1").inner_text() == "我的学习"

    # A script on the page posting without the token (what a cross-site form would look like).
    result = page.evaluate("""async () => {
        const r = await fetch('/locale', {method: 'POST', body: new URLSearchParams({locale: 'en', next: '/'})});
        return {status: r.status, text: await r.text()};
    }""")
    assert result["status"] == 403
    assert CSRF_MESSAGE in result["text"]

    response = page.request.post("/logout", form={"next": "/"})
    assert response.status == 403
    assert CSRF_MESSAGE in response.text()

    # A form whose token was tampered with shows the Chinese error page and does nothing.
    page.locator("form[action$='/logout'] input[name=csrf_token]").evaluate("el => el.value = 'forged'")
    with page.expect_response(lambda r: urlsplit(r.url).path == "/logout") as posted:
        page.get_by_role("button", name="退出登录").click()
    page.wait_for_load_state("load")
    assert posted.value.status == 403
    assert page.get_attribute("html", "lang") == "zh-CN"
    assert CSRF_MESSAGE in page.locator("main").inner_text()
    shot(page, "refused")

    page.goto("/")
    assert page.locator("main h1").inner_text() == "我的学习"  # still signed in, still Chinese


def test_error_pages_in_chinese(new_visit: Callable[..., Visit], shot: Callable[..., Any]) -> None:
    page = new_visit("desktop").new_page()
    sign_in(page, "trainee4")

    response = page.goto("/admin/audit")
    assert response is not None and response.status == 403
    assert page.get_attribute("html", "lang") == "zh-CN"
    assert page.locator("main h1").inner_text() == "您没有执行此操作的权限"
    assert page.get_by_role("link", name="返回首页").is_visible()
    shot(page, "forbidden")

    response = page.goto("/no/such/page")
    assert response is not None and response.status == 404
    assert page.locator("main h1").inner_text() == "页面不存在"
    shot(page, "not-found")

    phone = new_visit("phone").new_page()
    response = phone.goto("/no/such/page")
    assert response is not None and response.status == 404
    assert phone.locator("main h1").inner_text() == "页面不存在"
    assert phone.get_by_role("link", name="登录").is_visible()
    shot(phone, "not-found-anonymous-phone")
