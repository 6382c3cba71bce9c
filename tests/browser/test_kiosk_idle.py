"""Journey: a shared kiosk left alone signs itself out after SHIXUN_KIOSK_IDLE_MINUTES (1 in these tests).

The two sessions are started when the live server comes up and this test is ordered last (see
conftest), so the wait overlaps the rest of the suite.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.browser.conftest import KIOSK_IDLE_MINUTES, IdleSessions, LiveServer, Visit

pytestmark = pytest.mark.browser


def test_kiosk_session_expires_after_idle_minutes(
    new_visit: Callable[..., Visit], shot: Callable[..., Any], live_server: LiveServer, idle_sessions: IdleSessions
) -> None:
    remaining = idle_sessions.started_at + KIOSK_IDLE_MINUTES * 60 + 3 - time.monotonic()
    if remaining > 0:
        time.sleep(remaining)

    kiosk = new_visit("kiosk")
    kiosk.context.add_cookies([{"name": "shixun_session", "value": idle_sessions.kiosk_cookie, "url": live_server.url}])
    page = kiosk.new_page()
    page.goto("/")
    assert urlsplit(page.url).path == "/login"
    assert page.locator("#login-title").is_visible()
    shot(page, "kiosk-expired")

    # A personal device's session, idle just as long, is still alive: the kiosk timeout is the shorter one.
    personal = new_visit("desktop")
    personal.context.add_cookies([{"name": "shixun_session", "value": idle_sessions.personal_cookie,
                                   "url": live_server.url}])
    page = personal.new_page()
    page.goto("/")
    assert urlsplit(page.url).path == "/"
    assert page.locator("main h1").inner_text() == "我的学习"
    shot(page, "personal-still-signed-in")
