"""The per-process principal cache: a returning caller costs no query, and a change never outlives it
longer than it may (at once in the process that made it, `auth_cache_seconds` elsewhere)."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import col

from app.accounts import principal_cache, signin
from app.accounts.models import ApiToken, AuthSession, Role, User, UserRole
from app.core.config import get_settings
from app.core.models import utcnow
from app.main import create_app
from tests.factories import make_unit, make_user
from tests.helpers import api_token, counting, csrf_from, login


def _auth_reads(statements: list[str]) -> list[str]:
    return [s for s in statements if "accounts_session" in s or "accounts_api_token" in s]


@pytest.fixture
def people(committed_database):  # type: ignore[no-untyped-def]
    principal_cache.CACHE.clear()
    with committed_database.transaction() as s:
        unit = make_unit(s)
        make_user(s, Role.trainee, unit=unit, username="kiosk1")
        make_user(s, Role.admin, unit=unit, username="boss")
    yield committed_database
    principal_cache.CACHE.clear()


def test_a_returning_session_is_resolved_without_a_query(people, engine) -> None:  # type: ignore[no-untyped-def]
    client = TestClient(create_app(database=people), follow_redirects=False)
    login(client, "kiosk1")
    assert client.get("/api/v1/me").status_code == 200  # fills the cache
    with counting(engine) as statements:
        me = client.get("/api/v1/me")
    assert me.status_code == 200 and me.json()["username"] == "kiosk1"
    assert _auth_reads(statements) == []


def test_a_returning_token_is_resolved_without_a_query(people, engine) -> None:  # type: ignore[no-untyped-def]
    client = TestClient(create_app(database=people))
    headers = api_token(client, "kiosk1")
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    with counting(engine) as statements:
        me = client.get("/api/v1/me", headers=headers)
    assert me.status_code == 200 and me.json()["username"] == "kiosk1"
    assert _auth_reads(statements) == []


def test_sign_out_takes_effect_at_once(people) -> None:  # type: ignore[no-untyped-def]
    client = TestClient(create_app(database=people), follow_redirects=False)
    login(client, "kiosk1")
    cookie = client.cookies.get("shixun_session")
    assert client.get("/api/v1/me").status_code == 200
    token = csrf_from(client, "/account/sessions")
    assert client.post("/logout", headers={"X-CSRF-Token": token}).status_code in (302, 303)
    replay = TestClient(create_app(database=people), follow_redirects=False)
    replay.cookies.set("shixun_session", cookie or "")
    assert replay.get("/api/v1/me").status_code == 401


def test_deactivation_and_role_changes_take_effect_at_once_in_this_process(people) -> None:  # type: ignore[no-untyped-def]
    app = create_app(database=people)
    trainee = TestClient(app, follow_redirects=False)
    login(trainee, "kiosk1")
    assert trainee.get("/api/v1/me").json()["roles"] == ["trainee"]
    with people.transaction() as s:  # any committing session of this process, e.g. an admin's request
        user = s.execute(sa.select(User).where(sa.column("username") == "kiosk1")).scalar_one()
        s.add(UserRole(user_id=user.id, role=Role.instructor.value))
    assert sorted(trainee.get("/api/v1/me").json()["roles"]) == ["instructor", "trainee"]
    with people.transaction() as s:
        s.execute(sa.update(User).where(sa.column("username") == "kiosk1").values(is_active=False))
    assert trainee.get("/api/v1/me").status_code == 401


def test_a_change_made_elsewhere_shows_within_the_configured_time(people, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(get_settings(), "auth_cache_seconds", 0.5)
    client = TestClient(create_app(database=people))
    headers = api_token(client, "kiosk1")
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    # Another process revokes the token: nothing of this process sees the write.
    with people.bind.connect() as conn:  # type: ignore[union-attr]
        conn.execute(sa.update(ApiToken.__table__).values(revoked_at=sa.func.current_timestamp()))  # type: ignore[attr-defined]
        conn.commit()
    time.sleep(0.6)
    assert client.get("/api/v1/me", headers=headers).status_code == 401


def test_off_when_configured_to_zero(people, engine, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(get_settings(), "auth_cache_seconds", 0)
    client = TestClient(create_app(database=people), follow_redirects=False)
    login(client, "kiosk1")
    client.get("/api/v1/me")
    with counting(engine) as statements:
        assert client.get("/api/v1/me").status_code == 200
    assert len(_auth_reads(statements)) == 1
    assert len(principal_cache.CACHE) == 0


def test_an_idle_session_still_expires_and_is_touched_when_due(people, engine) -> None:  # type: ignore[no-untyped-def]
    client = TestClient(create_app(database=people), follow_redirects=False)
    login(client, "kiosk1")
    assert client.get("/api/v1/me").status_code == 200
    # The last request was long ago (the remembered row says so too): the cache must not vouch for it.
    with people.bind.connect() as conn:  # type: ignore[union-attr]
        conn.execute(sa.update(AuthSession.__table__).values(last_seen_at=utcnow() - timedelta(minutes=2)))  # type: ignore[attr-defined]
        conn.commit()
    assert len(principal_cache.CACHE) == 1
    for snapshot in list(principal_cache.CACHE._entries.values()):
        assert snapshot.auth_session is not None
        snapshot.auth_session.last_seen_at = utcnow() - timedelta(minutes=2)
    with counting(engine) as statements:
        assert client.get("/api/v1/me").status_code == 200
    assert any(s.lstrip().upper().startswith("UPDATE") for s in statements)  # the touch
    with people.transaction() as s:
        seen = s.execute(sa.select(col(AuthSession.last_seen_at))).scalar_one()
    assert utcnow() - seen < timedelta(seconds=30)


def test_a_lookup_that_raced_a_change_is_not_remembered(people) -> None:  # type: ignore[no-untyped-def]
    cache = principal_cache.PrincipalCache()
    with people.transaction() as s:
        user = s.execute(sa.select(User).where(sa.column("username") == "kiosk1")).scalar_one()
        s.expunge(user)
    generation = cache.generation
    cache.clear()  # a change committed while the lookup was reading
    cache.put(("k",), user, None, None, ttl=5, generation=generation)
    assert cache.get(("k",)) is None
    cache.put(("k",), user, None, None, ttl=5, generation=cache.generation)
    assert cache.get(("k",)) is not None


def test_entries_put_together_do_not_expire_together_nor_after_the_bound() -> None:
    """A class signing in at once must not all miss in the same moment (a burst of lookups every
    `auth_cache_seconds`), and no entry may outlive the configured bound."""
    cache = principal_cache.PrincipalCache()
    before = time.monotonic()
    expiries = [cache.put((n,), User(username=f"u{n}"), None, None, ttl=30, generation=cache.generation).expires - before
                for n in range(64)]
    assert all(30 * 0.75 - 0.01 <= e <= 30 + 0.01 for e in expiries)
    assert max(expiries) - min(expiries) > 3  # spread over the window, not a single instant


def test_sessions_opened_together_slide_their_timeout_at_different_moments() -> None:
    now = utcnow()
    sessions = [AuthSession(id=n, user_id=1, token_digest=str(n), expires_at=now + timedelta(hours=8), last_seen_at=now,
                            idle_timeout_s=30 * 60) for n in range(1, 65)]
    intervals = [signin.touch_interval(a) for a in sessions]
    assert all(45 <= i <= 60 for i in intervals)  # never later than the minute the idle timeout relies on
    assert len({round(i) for i in intervals}) > 8
    short = AuthSession(id=7, user_id=1, token_digest="s", expires_at=now, last_seen_at=now, idle_timeout_s=100)
    assert signin.touch_interval(short) <= 20  # a fifth of a short idle timeout
    assert signin.needs_touch(sessions[0], now + timedelta(seconds=60))
    assert not signin.needs_touch(sessions[0], now + timedelta(seconds=44))
