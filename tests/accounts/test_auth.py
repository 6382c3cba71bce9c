"""Sign-in, sessions, throttling, CSRF, forced password change and API tokens."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from app.accounts import service, signin
from app.accounts.models import AuditLog, AuthSession, LoginFailure, Role
from app.core.errors import ValidationFailed
from app.core.models import utcnow
from app.core.security import SESSION_COOKIE
from tests.factories import PASSWORD, make_user
from tests.helpers import api_token, csrf_from, login


def _post_login(client, username: str, password: str, **extra: str):  # type: ignore[no-untyped-def]
    return client.post("/login", data={"username": username, "password": password, "csrf_token": csrf_from(client), **extra})


def test_sign_in_sets_a_fresh_http_only_session_cookie(client, trainee, session) -> None:  # type: ignore[no-untyped-def]
    login(client, "trainee1")
    first = client.cookies.get(SESSION_COOKIE)
    response = client.post("/login", data={"username": "trainee1", "password": PASSWORD, "csrf_token": csrf_from(client, "/")})
    assert response.status_code == 303
    cookie_header = response.headers["set-cookie"]
    assert "HttpOnly" in cookie_header and "SameSite=lax" in cookie_header.replace("Lax", "lax")
    second = client.cookies.get(SESSION_COOKIE)
    assert first and second and first != second
    rows = session.exec(select(AuthSession).where(AuthSession.user_id == trainee.id)).all()
    assert sorted(r.revoked_reason or "live" for r in rows) == ["live", "replaced"]


def test_signed_in_pages_are_not_cached(client, trainee) -> None:  # type: ignore[no-untyped-def]
    login(client, "trainee1")
    response = client.get("/")
    assert response.headers["cache-control"] == "no-store"
    assert "historyCacheSize" in response.text and '"historyCacheSize": 0' in response.text


def test_wrong_password_shows_a_clear_message_and_is_recorded(client, trainee, session) -> None:  # type: ignore[no-untyped-def]
    response = _post_login(client, "trainee1", "nope")
    assert response.status_code == 401
    assert "用户名或密码错误" in response.text
    assert session.exec(select(LoginFailure)).all()
    assert session.exec(select(AuditLog).where(AuditLog.action == "auth.login_failed")).all()


def test_ten_failures_lock_the_account_with_a_clear_message(client, trainee) -> None:  # type: ignore[no-untyped-def]
    for _ in range(9):
        assert _post_login(client, "trainee1", "wrong-password").status_code == 401
    tenth = _post_login(client, "trainee1", "wrong-password")
    assert tenth.status_code == 429 and "登录失败次数过多" in tenth.text  # the tenth failure says so at once
    locked = _post_login(client, "trainee1", PASSWORD)
    assert locked.status_code == 429
    assert "登录失败次数过多" in locked.text
    assert int(locked.headers["retry-after"]) > 0
    api = client.post("/api/v1/auth/token", data={"username": "trainee1", "password": PASSWORD})
    assert api.status_code == 429 and int(api.headers["retry-after"]) > 0
    assert api.headers["content-type"].startswith("application/problem+json")


def test_post_without_csrf_token_is_refused(client, trainee) -> None:  # type: ignore[no-untyped-def]
    client.get("/login")
    response = client.post("/login", data={"username": "trainee1", "password": PASSWORD})
    assert response.status_code == 403 and "表单已过期" in response.text
    login(client, "trainee1")
    assert client.post("/logout").status_code == 403
    assert client.post("/logout", data={"csrf_token": "forged"}).status_code == 403
    token = csrf_from(client, "/")
    assert client.post("/logout", headers={"X-CSRF-Token": token}).status_code == 303


def test_csrf_token_of_another_session_is_refused(client, trainee, app) -> None:  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    other = TestClient(app, follow_redirects=False)
    stolen = csrf_from(other)
    client.get("/login")
    response = client.post("/login", data={"username": "trainee1", "password": PASSWORD, "csrf_token": stolen})
    assert response.status_code == 403


def test_logout_revokes_the_session(client, trainee) -> None:  # type: ignore[no-untyped-def]
    login(client, "trainee1")
    cookie = client.cookies.get(SESSION_COOKIE)
    client.post("/logout", headers={"X-CSRF-Token": csrf_from(client, "/")})
    client.cookies.set(SESSION_COOKIE, cookie)
    assert client.get("/").status_code == 303


def test_idle_and_revoked_sessions_cannot_act(client, trainee, session) -> None:  # type: ignore[no-untyped-def]
    login(client, "trainee1")
    auth = session.exec(select(AuthSession).where(AuthSession.user_id == trainee.id)).one()
    auth.last_seen_at = utcnow() - timedelta(seconds=auth.idle_timeout_s + 5)
    session.add(auth)
    session.commit()
    assert client.get("/").status_code == 303
    login(client, "trainee1")
    live = session.exec(select(AuthSession).where(AuthSession.user_id == trainee.id, AuthSession.revoked_at.is_(None))).all()  # type: ignore[union-attr]
    for row in live:
        signin.revoke_session(session, row, reason="admin")
    session.commit()
    assert client.get("/").status_code == 303
    assert client.get("/api/v1/me").status_code == 401


def test_kiosk_sessions_time_out_sooner(client, trainee, session) -> None:  # type: ignore[no-untyped-def]
    login(client, "trainee1", public_device="true")
    auth = session.exec(select(AuthSession).where(AuthSession.user_id == trainee.id)).one()
    assert auth.kiosk and auth.idle_timeout_s == 5 * 60
    now = utcnow()
    assert signin.session_is_live(auth, now + timedelta(minutes=4))
    assert not signin.session_is_live(auth, now + timedelta(minutes=6))


def test_deactivated_user_is_signed_out(client, trainee, admin, session) -> None:  # type: ignore[no-untyped-def]
    login(client, "trainee1")
    service.set_active(session, admin, trainee, False)
    session.commit()
    assert client.get("/").status_code == 303
    assert _post_login(client, "trainee1", PASSWORD).status_code == 401


def test_forced_password_change_on_first_sign_in(client, session, org) -> None:  # type: ignore[no-untyped-def]
    make_user(session, Role.trainee, unit=org["unit_a1"], username="newbie", must_change_password=True)
    session.commit()
    response = _post_login(client, "newbie", PASSWORD)
    assert response.headers["location"] == "/account/password"
    assert client.get("/").status_code == 403  # everything else waits for the new password
    token = csrf_from(client, "/account/password")
    bad = client.post("/account/password", data={"current_password": PASSWORD, "new_password": "short",
                                                 "confirm_password": "short", "csrf_token": token})
    assert bad.status_code == 422 and "至少需要 8 位" in bad.text
    ok = client.post("/account/password", data={"current_password": PASSWORD, "new_password": "NewPassw0rd",
                                                "confirm_password": "NewPassw0rd", "csrf_token": token})
    assert ok.status_code == 303
    assert client.get("/").status_code == 200


def test_password_rules(session, trainee) -> None:  # type: ignore[no-untyped-def]
    for weak in ("short1", "onlyletters", "12345678", "trainee1"):
        with pytest.raises(ValidationFailed):
            service.validate_password(weak, username="trainee1")
    service.validate_password("Good-pass1", username="trainee1")


def test_open_redirects_are_refused(client, trainee) -> None:  # type: ignore[no-untyped-def]
    token = csrf_from(client)
    for target in ("https://evil.example/", "//evil.example/x", "/\\evil.example"):
        response = client.post("/login", data={"username": "trainee1", "password": PASSWORD, "next": target, "csrf_token": token})
        assert response.headers["location"] == "/"
        client.cookies.clear()
        token = csrf_from(client)


def test_api_token_and_me(client, trainee) -> None:  # type: ignore[no-untyped-def]
    response = client.post("/api/v1/auth/token", data={"username": "trainee1", "password": PASSWORD})
    body = response.json()
    assert body["token_type"] == "bearer" and body["expires_in"] == 3600 and body["access_token"]
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200
    assert me.json()["org_unit"]["name"] == trainee.org_unit.name
    wrong = client.post("/api/v1/auth/token", data={"username": "trainee1", "password": "nope"})
    assert wrong.status_code == 401 and wrong.json()["status"] == 401 and wrong.json()["detail"] == "用户名或密码错误。"
    english = client.post("/api/v1/auth/token", data={"username": "trainee1", "password": "nope"},
                          headers={"Accept-Language": "en"})
    assert english.json()["detail"] == "Wrong username or password."
    assert client.get("/api/v1/me", headers={"Authorization": "Bearer forged"}).status_code == 401


def test_expired_api_token_is_refused(client, trainee, session) -> None:  # type: ignore[no-untyped-def]
    headers = api_token(client, "trainee1")
    from app.accounts.models import ApiToken

    for row in session.exec(select(ApiToken)).all():
        row.expires_at = utcnow() - timedelta(seconds=1)
        session.add(row)
    session.commit()
    assert client.get("/api/v1/me", headers=headers).status_code == 401


def test_demo_password_only_works_in_demo_mode(session, org, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from app.core.config import get_settings

    user = make_user(session, Role.trainee, unit=org["unit_a1"], username="demo_user")
    user.is_demo = True
    session.add(user)
    with pytest.raises(signin.InvalidCredentials):
        signin.authenticate(session, "demo_user", PASSWORD, ip="1.2.3.4")
    monkeypatch.setattr(get_settings(), "demo_mode", True)
    assert signin.authenticate(session, "demo_user", PASSWORD, ip="1.2.3.4").username == "demo_user"


def test_validation_errors_are_problem_json(client, admin) -> None:  # type: ignore[no-untyped-def]
    headers = api_token(client, "admin1")
    response = client.post("/api/v1/users", json={"username": "x"}, headers=headers)
    assert response.status_code == 422
    body = response.json()
    assert body["title"] == "提交的数据不正确" and body["errors"] and {"loc", "msg"} <= set(body["errors"][0])


def test_a_registered_kiosk_forces_short_sessions(client, admin, trainee, session) -> None:  # type: ignore[no-untyped-def]
    login(client, "admin1")
    response = client.post("/admin/kiosk", data={"enable": "true", "csrf_token": csrf_from(client, "/admin/kiosk")})
    assert response.status_code == 303 and "shixun_kiosk=" in response.headers["set-cookie"]
    client.post("/logout", headers={"X-CSRF-Token": csrf_from(client, "/")})
    page = client.get("/login")
    assert 'id="kiosk-note"' in page.text and 'name="public_device"' not in page.text
    signed_in = _post_login(client, "trainee1", PASSWORD)
    assert signed_in.status_code == 303
    # The session cookie of a kiosk lives only as long as the browser.
    session_cookie = [c for c in signed_in.headers.get_list("set-cookie") if c.startswith(SESSION_COOKIE + "=")][0]
    assert "max-age" not in session_cookie.lower() and "expires" not in session_cookie.lower()
    auth = session.exec(select(AuthSession).where(AuthSession.user_id == trainee.id)).one()
    assert auth.kiosk and auth.idle_timeout_s == 5 * 60


def test_kiosk_cookie_cannot_be_forged(client, trainee, session) -> None:  # type: ignore[no-untyped-def]
    client.cookies.set("shixun_kiosk", "kiosk")
    login(client, "trainee1")
    auth = session.exec(select(AuthSession).where(AuthSession.user_id == trainee.id)).one()
    assert not auth.kiosk


def test_an_ended_session_is_told_why_on_the_login_page(client, trainee, session) -> None:  # type: ignore[no-untyped-def]
    login(client, "trainee1")
    for row in session.exec(select(AuthSession)).all():
        row.last_seen_at = utcnow() - timedelta(hours=1)
        session.add(row)
    session.commit()
    response = client.get("/")
    assert response.status_code == 303 and "expired=1" in response.headers["location"]
    page = client.get(response.headers["location"])
    assert "由于长时间未操作，您已自动退出" in page.text


def test_error_pages_show_who_is_signed_in(client, trainee) -> None:  # type: ignore[no-untyped-def]
    login(client, "trainee1")
    missing = client.get("/no/such/page")
    assert missing.status_code == 404 and "页面不存在" in missing.text
    assert trainee.display_name in missing.text and "退出登录" in missing.text


@pytest.mark.parametrize("authorization", ["Bearer    ", "bearer \t", "Bearer"])
def test_a_blank_bearer_header_does_not_lift_csrf_from_the_cookie(client, trainee, authorization: str) -> None:  # type: ignore[no-untyped-def]
    """Only a call that a bearer token authenticated is exempt from CSRF: an Authorization header that
    names no token leaves the session cookie to speak, and the cookie needs its CSRF token."""
    login(client, "trainee1")
    response = client.post("/logout", headers={"Authorization": authorization})
    assert response.status_code == 403 and "表单已过期" in response.text
    assert client.get("/").status_code == 200  # still signed in: the forged sign-out did nothing
    api = client.post("/api/v1/attempts/1/submit", headers={"Authorization": authorization})
    assert api.status_code == 403 and api.json()["type"] == "urn:shixun:problem:csrf-failed"


def test_a_bearer_token_is_exempt_from_csrf_even_beside_a_cookie(client, trainee) -> None:  # type: ignore[no-untyped-def]
    headers = api_token(client, "trainee1")
    login(client, "trainee1")
    response = client.post("/api/v1/attempts/999999/submit", headers=headers)
    assert response.status_code == 404  # got past CSRF: the token authenticated the call
    forged = client.post("/api/v1/attempts/999999/submit", headers={"Authorization": "Bearer not-a-token"})
    assert forged.status_code == 401  # an unknown token authenticates nobody, whatever the cookie says
