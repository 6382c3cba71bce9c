"""Throttling wrong passwords: per account, per device, and only a slow-down per address (throttle.py).

The base's kiosks and a district office share one address behind NAT: failures from it must never lock
everybody behind it. Time moves by the injected clock (`now=`), never by sleeping.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.accounts import service, signin, throttle
from app.accounts.models import AuditLog, LoginFailure, LoginFailureKind, Role, User
from app.accounts.throttle import DEVICE_COOKIE, Client, Device, ThrottledPasswordCheck, ThrottledSignIn
from app.core import i18n
from app.core.config import get_settings
from app.core.db import Database
from app.core.models import utcnow
from tests.factories import PASSWORD, make_user
from tests.helpers import csrf_from, login

NAT = "10.20.30.40"  # the base's kiosks and offices, as the server sees them


def _post_login(client: TestClient, username: str, password: str):  # type: ignore[no-untyped-def]
    return client.post("/login", data={"username": username, "password": password, "csrf_token": csrf_from(client)})


@pytest.fixture
def new_client(app) -> Iterator:  # type: ignore[no-untyped-def]
    """Another browser behind the same address (every TestClient comes from "testclient")."""
    clients: list[TestClient] = []

    def make() -> TestClient:
        c = TestClient(app, base_url="http://testserver", follow_redirects=False)
        c.__enter__()
        clients.append(c)
        return c

    yield make
    for c in clients:
        c.__exit__(None, None, None)


@pytest.fixture
def trainees(session: Session, org) -> list[User]:  # type: ignore[no-untyped-def]
    users = [make_user(session, Role.trainee, unit=org["unit_a1"], username=f"kiosk_trainee{n}") for n in range(3)]
    session.commit()
    return users


def _fail(session: Session, username: str, *, ip: str = NAT, device: Device | None = None, now=None) -> Exception:  # type: ignore[no-untyped-def]
    with pytest.raises((signin.InvalidCredentials, ThrottledSignIn)) as caught:
        signin.authenticate(session, username, "wrong-password", ip=ip, device=device, now=now)
    return caught.value


# ---------------------------------------------------------------------------------------------------
# The test, through the sign-in page and the API


def test_fifteen_wrong_passwords_for_one_account_leave_the_others_at_that_address_signing_in(
        client, new_client, trainee, trainees, admin) -> None:  # type: ignore[no-untyped-def]
    answers = [_post_login(client, "trainee1", "wrong-password").status_code for _ in range(15)]
    assert answers[:9] == [401] * 9 and set(answers[9:]) == {429}  # the account is locked against unknown clients
    # Every other account behind the address signs in at once: the same browser, another one, an API
    # client, and a registered kiosk.
    assert _post_login(client, "kiosk_trainee0", PASSWORD).status_code == 303
    assert _post_login(new_client(), "kiosk_trainee1", PASSWORD).status_code == 303
    api = new_client().post("/api/v1/auth/token", data={"username": "kiosk_trainee2", "password": PASSWORD})
    assert api.status_code == 200
    kiosk = new_client()
    login(kiosk, "admin1")
    kiosk.post("/admin/kiosk", data={"enable": "true", "csrf_token": csrf_from(kiosk, "/admin/kiosk")})
    kiosk.post("/logout", headers={"X-CSRF-Token": csrf_from(kiosk, "/")})
    assert _post_login(kiosk, "kiosk_trainee2", PASSWORD).status_code == 303


def test_names_that_do_not_exist_lock_no_real_account(session, trainee) -> None:  # type: ignore[no-untyped-def]
    now = utcnow()
    errors = [_fail(session, name, now=now) for name in ["ghost"] * 10 + ["nobody1", "nobody2"]]
    # A name that does not exist is throttled like a real one, so the answer does not tell which exist.
    assert isinstance(errors[8], signin.InvalidCredentials) and "该账号登录失败次数过多" in str(errors[9])
    assert all(isinstance(e, signin.InvalidCredentials) for e in errors[10:])
    assert signin.authenticate(session, "trainee1", PASSWORD, ip=NAT, now=now).id == trainee.id
    rows = session.exec(select(LoginFailure.username, LoginFailure.ip)).all()
    assert sorted(set(rows)) == [("ghost", NAT), ("nobody1", NAT), ("nobody2", NAT)]


# ---------------------------------------------------------------------------------------------------
# Per account, and the rightful user on a known device


def test_a_known_device_signs_in_while_the_account_is_under_attack_elsewhere(client, new_client, trainee, session) -> None:  # type: ignore[no-untyped-def]
    login(client, "trainee1")  # the trainee's own browser: it now carries a device cookie naming trainee1
    cookie = client.cookies.get(DEVICE_COOKIE)
    device = throttle.device_from_cookie(cookie)
    assert device is not None and device.knows(trainee.id)
    client.post("/logout", headers={"X-CSRF-Token": csrf_from(client, "/")})
    assert client.cookies.get(DEVICE_COOKIE) == cookie  # signing out keeps the device

    attacker = new_client()
    for _ in range(12):
        _post_login(attacker, "trainee1", "guess")
    assert _post_login(attacker, "trainee1", PASSWORD).status_code == 429  # locked against everybody else
    api = new_client().post("/api/v1/auth/token", data={"username": "trainee1", "password": PASSWORD})
    assert api.status_code == 429

    assert _post_login(client, "trainee1", PASSWORD).status_code == 303  # but not on the trainee's own browser
    # The attacker's failures stay: the rightful user signing in does not reset the lock.
    assert _post_login(attacker, "trainee1", PASSWORD).status_code == 429


def test_failures_on_a_known_device_count_for_that_device_only(session, trainee) -> None:  # type: ignore[no-untyped-def]
    now = utcnow()
    own = Device("own-browser", (trainee.id,))
    for _ in range(10):
        _fail(session, "trainee1", device=own, now=now)
    with pytest.raises(ThrottledSignIn, match="该账号登录失败次数过多"):
        signin.authenticate(session, "trainee1", PASSWORD, ip=NAT, device=own, now=now)
    # The trainee's typos on their own browser do not lock the account elsewhere.
    assert signin.authenticate(session, "trainee1", PASSWORD, ip="10.9.9.9", now=now).id == trainee.id
    rows = session.exec(select(LoginFailure).where(LoginFailure.username == "trainee1")).all()
    assert len(rows) == 10 and all(r.known_device and r.device == "own-browser" for r in rows)


def test_a_lock_expires_and_success_forgets_only_the_own_mistakes(session, trainee) -> None:  # type: ignore[no-untyped-def]
    now = utcnow()
    for _ in range(10):
        _fail(session, "trainee1", ip="10.0.0.1", now=now)
    later = now + timedelta(minutes=get_settings().login_lock_minutes, seconds=1)
    for _ in range(2):
        _fail(session, "trainee1", ip="10.0.0.2", now=later)
    assert signin.authenticate(session, "trainee1", PASSWORD, ip="10.0.0.2", now=later).id == trainee.id
    left = session.exec(select(LoginFailure.ip).where(LoginFailure.username == "trainee1")).all()
    assert left == ["10.0.0.1"] * 10


# ---------------------------------------------------------------------------------------------------
# Per device


def test_a_device_that_fails_too_often_is_locked_itself_and_only_itself(session, trainee, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(get_settings(), "login_device_max_failures", 6)
    now = utcnow()
    kiosk7, kiosk8 = Device("kiosk-7"), Device("kiosk-8", (trainee.id,))
    kiosk7_known = Device("kiosk-7", (trainee.id,))
    errors = [_fail(session, f"visitor{n}", device=kiosk7, now=now) for n in range(6)]
    assert isinstance(errors[-1], ThrottledSignIn)  # the failure that reaches the limit says so at once
    assert "此设备登录失败次数过多，请 15 分钟后再试" in str(errors[-1])
    for device in (kiosk7, kiosk7_known):  # everybody at that kiosk waits, even an account it knows
        with pytest.raises(ThrottledSignIn, match="此设备"):
            signin.authenticate(session, "trainee1", PASSWORD, ip=NAT, device=device, now=now)
    assert signin.authenticate(session, "trainee1", PASSWORD, ip=NAT, device=kiosk8, now=now).id == trainee.id
    assert signin.authenticate(session, "trainee1", PASSWORD, ip=NAT, now=now).id == trainee.id


def test_device_cookies_cannot_be_made_up(client, trainee, session) -> None:  # type: ignore[no-untyped-def]
    genuine = throttle.device_cookie_value(Device("abc", (trainee.id,)))
    assert throttle.device_from_cookie(genuine) == Device("abc", (trainee.id,))
    for forged in ('{"d": "abc", "u": [1]}', genuine[:-2] + "xx", "", None,
                   throttle.device_cookie_value(Device("x" * 40))):
        assert throttle.device_from_cookie(forged) is None
    many = Device("k")
    for user_id in range(1, 100):
        many = many.remember(user_id)
    assert many.user_ids[0] == 99 and len(many.user_ids) == throttle.DEVICE_MAX_USERS
    # Only a successful sign-in (or kiosk registration) hands out a device cookie.
    failed = _post_login(client, "trainee1", "nope")
    assert DEVICE_COOKIE not in failed.headers.get("set-cookie", "")
    ok = _post_login(client, "trainee1", PASSWORD)
    device_cookie = [c for c in ok.headers.get_list("set-cookie") if c.startswith(DEVICE_COOKIE + "=")][0]
    assert "HttpOnly" in device_cookie and "Max-Age" in device_cookie


def test_kiosk_registration_gives_the_kiosk_a_device(client, admin) -> None:  # type: ignore[no-untyped-def]
    login(client, "admin1")
    client.cookies.delete(DEVICE_COOKIE)
    response = client.post("/admin/kiosk", data={"enable": "true", "csrf_token": csrf_from(client, "/admin/kiosk")})
    cookies = response.headers.get_list("set-cookie")
    assert any(c.startswith("shixun_kiosk=") for c in cookies)
    value = [c for c in cookies if c.startswith(DEVICE_COOKIE + "=")][0].split(";")[0].split("=", 1)[1]
    device = throttle.device_from_cookie(value)
    assert device is not None and device.user_ids == ()


# ---------------------------------------------------------------------------------------------------
# Per address: a slow-down that grows and caps, never a lock


def test_an_address_is_only_slowed_down_growing_to_a_cap(session, trainee, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(get_settings(), "login_address_free_failures", 5)
    monkeypatch.setattr(get_settings(), "login_address_max_delay_seconds", 10)
    now = utcnow()
    for n in range(5):  # the free allowance: no delay
        assert isinstance(_fail(session, f"typo{n}", now=now), signin.InvalidCredentials)
    waits = []
    for n in range(7):
        error = _fail(session, f"script{n}", now=now)
        assert isinstance(error, ThrottledSignIn)
        waits.append(error.retry_after)
        # Until the wait is over, an attempt from the address without a device cookie is refused at once,
        # whoever it is for; right after it, the next attempt is judged (here: correct, and it signs in).
        with pytest.raises(ThrottledSignIn, match="本网络登录失败次数过多") as early:
            signin.authenticate(session, "trainee1", PASSWORD, ip=NAT, now=now + timedelta(seconds=error.retry_after - 0.5))
        assert early.value.retry_after == 1
        now += timedelta(seconds=error.retry_after)
    assert waits == [1, 2, 4, 8, 10, 10, 10]
    assert signin.authenticate(session, "trainee1", PASSWORD, ip=NAT, now=now).id == trainee.id
    # A registered kiosk and the account's own device behind the address answer for themselves.
    meanwhile = now - timedelta(seconds=5)
    assert signin.authenticate(session, "trainee1", PASSWORD, ip=NAT, device=Device("kiosk-3"), kiosk=True,
                               now=meanwhile).id == trainee.id
    assert signin.authenticate(session, "trainee1", PASSWORD, ip=NAT, device=Device("own", (trainee.id,)),
                               now=meanwhile).id == trainee.id
    # A device cookie got by signing in to another account buys nothing: it waits like the rest.
    with pytest.raises(ThrottledSignIn, match="本网络"):
        signin.authenticate(session, "trainee1", PASSWORD, ip=NAT, device=Device("minted", (999,)), now=meanwhile)
    # Another address is not concerned, and the slow-down ends with the window.
    assert signin.authenticate(session, "trainee1", PASSWORD, ip="10.1.1.1", now=now - timedelta(seconds=5)).id
    later = now + timedelta(minutes=get_settings().login_window_minutes)
    assert signin.authenticate(session, "trainee1", PASSWORD, ip=NAT, now=later).id == trainee.id


def test_the_address_delay_never_exceeds_its_cap() -> None:
    settings = get_settings()
    free, cap = settings.login_address_free_failures, settings.login_address_max_delay_seconds
    delays = [throttle.address_delay_seconds(n) for n in range(free + 200)]
    assert delays[: free + 1] == [0] * (free + 1) and delays[free + 1] == 1
    assert delays == sorted(delays) and max(delays) == cap <= 300


def test_the_api_answers_429_with_retry_after_and_a_chinese_wait(client, trainee, session, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(get_settings(), "login_address_free_failures", 3)
    assert client.post("/api/v1/auth/token", data={"username": "x0", "password": "y"}).status_code == 401
    now = utcnow()  # a script's failures from this address (a TestClient's is "testclient"), the last just now
    for n in range(8):
        throttle.record_signin_failure(session, f"x{n + 1}", Client(ip="testclient"), known_device=False, now=now)
    session.commit()
    slowed = client.post("/api/v1/auth/token", data={"username": "trainee1", "password": PASSWORD})
    assert slowed.status_code == 429 and slowed.headers["content-type"].startswith("application/problem+json")
    wait = int(slowed.headers["retry-after"])
    assert 20 <= wait <= 30  # 2 ** 5 seconds, capped at 30
    assert slowed.json()["status"] == 429 and slowed.json()["detail"] == f"本网络登录失败次数过多，请 {wait} 秒后再试。"
    page = _post_login(client, "trainee1", PASSWORD)
    assert page.status_code == 429 and "本网络登录失败次数过多" in page.text and page.headers["retry-after"]

    monkeypatch.setattr(get_settings(), "login_address_free_failures", 100)
    for _ in range(10):
        last = client.post("/api/v1/auth/token", data={"username": "trainee1", "password": "nope"})
    assert last.status_code == 429 and 890 <= int(last.headers["retry-after"]) <= 900
    assert last.json()["detail"] == "该账号登录失败次数过多，请 15 分钟后再试，或请管理员重置密码。"


def test_the_wait_is_told_in_seconds_or_minutes() -> None:
    assert throttle.wait_text(1) == "1 秒" and throttle.wait_text(59) == "59 秒"
    assert throttle.wait_text(60) == "1 分钟" and throttle.wait_text(61) == "2 分钟" and throttle.wait_text(900) == "15 分钟"
    i18n.set_locale("en")
    try:
        assert throttle.wait_text(1) == "1 second" and throttle.wait_text(30) == "30 seconds"
        assert throttle.wait_text(60) == "1 minute" and throttle.wait_text(900) == "15 minutes"
    finally:
        i18n.set_locale("zh_CN")


# ---------------------------------------------------------------------------------------------------
# The current password on the password page


def test_the_current_password_check_is_throttled_per_account(client, trainee, session) -> None:  # type: ignore[no-untyped-def]
    login(client, "trainee1")
    token = csrf_from(client, "/account/password")

    def change(current: str):  # type: ignore[no-untyped-def]
        return client.post("/account/password", data={"current_password": current, "new_password": "NewPassw0rd",
                                                      "confirm_password": "NewPassw0rd", "csrf_token": token})

    for _ in range(9):
        wrong = change("guess")
        assert wrong.status_code == 422 and "当前密码不正确" in wrong.text
    tenth = change("guess")
    assert tenth.status_code == 429 and "当前密码输错次数过多，请 15 分钟后再试" in tenth.text
    assert 890 <= int(tenth.headers["retry-after"]) <= 900
    locked = change(PASSWORD)  # the right password waits too
    assert locked.status_code == 429 and "当前密码输错次数过多" in locked.text
    # The wrong guesses were kept although each request rolled back, and audited.
    rows = session.exec(select(LoginFailure).where(LoginFailure.kind == LoginFailureKind.password_check.value)).all()
    assert len(rows) == 10 and {r.username for r in rows} == {"trainee1"}
    assert len(session.exec(select(AuditLog).where(AuditLog.action == "auth.password_check_failed")).all()) == 10
    # Signing in is counted apart: the trainee can still sign in elsewhere.
    assert signin.authenticate(session, "trainee1", PASSWORD, ip="10.5.5.5").id == trainee.id


def test_the_password_check_lock_expires_and_success_clears_it(session, trainee) -> None:  # type: ignore[no-untyped-def]
    now = utcnow()
    for _ in range(9):
        with pytest.raises(service.WrongCurrentPassword):
            service.change_own_password(session, trainee, "guess", "NewPassw0rd", now=now)
    with pytest.raises(ThrottledPasswordCheck):
        service.change_own_password(session, trainee, "guess", "NewPassw0rd", now=now)
    with pytest.raises(ThrottledPasswordCheck):
        service.change_own_password(session, trainee, PASSWORD, "NewPassw0rd", now=now + timedelta(minutes=14))
    later = now + timedelta(minutes=15, seconds=1)
    with pytest.raises(service.WrongCurrentPassword):
        service.change_own_password(session, trainee, "guess", "NewPassw0rd", now=later)
    service.change_own_password(session, trainee, PASSWORD, "NewPassw0rd", now=later)
    assert session.exec(select(LoginFailure).where(LoginFailure.kind == LoginFailureKind.password_check.value)).all() == []


# ---------------------------------------------------------------------------------------------------
# Several web processes: the counts live in the database


def test_failures_counted_by_one_process_lock_in_another(committed_database: Database) -> None:
    now = utcnow()
    for _ in range(10):  # process A: each failed request commits its failure record
        with committed_database.new_session(write=True) as a:
            throttle.record_signin_failure(a, "target", Client(ip="10.0.0.7"), known_device=False, now=now)
            a.commit()
    with committed_database.new_session(write=True) as b:  # process B sees the lock at once
        with pytest.raises(ThrottledSignIn):
            throttle.check_signin(b, "target", Client(ip="10.0.0.8"), known_device=False, now=now)
        throttle.check_signin(b, "other", Client(ip="10.0.0.7"), known_device=False, now=now)

