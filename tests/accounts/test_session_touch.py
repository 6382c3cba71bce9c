"""Sliding the idle timeout on a real (committing) database: a write request must not wait on itself."""

from __future__ import annotations

import time
from datetime import timedelta

import sqlalchemy as sa
from fastapi.testclient import TestClient

from app.accounts.models import AuthSession, Role
from app.core.models import utcnow
from app.main import create_app
from tests.factories import make_unit, make_user
from tests.helpers import csrf_from, login


def test_write_request_with_a_due_touch_does_not_deadlock(committed_database) -> None:  # type: ignore[no-untyped-def]
    with committed_database.transaction() as s:
        make_user(s, Role.trainee, unit=make_unit(s), username="toucher")
    client = TestClient(create_app(database=committed_database), follow_redirects=False)
    login(client, "toucher")
    token = csrf_from(client, "/account/sessions")
    with committed_database.transaction() as s:
        s.execute(sa.update(AuthSession).values(last_seen_at=utcnow() - timedelta(minutes=5)))
    started = time.monotonic()
    response = client.post("/account/sessions/revoke-others", headers={"X-CSRF-Token": token})
    assert response.status_code == 303
    assert time.monotonic() - started < 5
    with committed_database.transaction() as s:
        seen = s.execute(sa.select(AuthSession.last_seen_at)).scalar_one()
    assert utcnow() - seen < timedelta(minutes=1)
