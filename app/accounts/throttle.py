"""Throttling password guesses: per account, per device, and (only as a slow-down) per address.

The base's kiosks, and a district office, reach the server from one address behind NAT, so an address
cannot be what locks: one trainee's typos, a misconfigured script or one malicious visitor would stop
everybody behind it. The rules follow OWASP's "Slow Down Online Guessing Attacks with Device Cookies"
(the per-user plus per-client scheme of Keycloak's brute-force detection and django-axes' combined
lockout parameters):

- A *device cookie* names a browser or kiosk: a random id and the accounts that signed in on it
  successfully (the most recent `DEVICE_MAX_USERS`), signed with the secret key. It is issued at a
  successful sign-in on the page and by kiosk registration, and cannot be made up otherwise.
- An account is locked against *unknown clients* after `login_max_failures` wrong passwords within
  `login_window_minutes`, for `login_lock_minutes`: an attacker guessing one account is stopped
  wherever they come from. The rightful user on a device the account has signed in on (a *known
  device*) is not: there only that device's failures for that account count, with the same limits.
- A device that fails `login_device_max_failures` times within the window (any names: a kiosk is
  shared) is locked itself, for everybody at it, while the other devices go on.
- An address is never locked. Failures from it beyond `login_address_free_failures` within the window
  (sized for a room of kiosks) slow it down: the next attempt from there waits 1 s, then 2, 4 … up
  to `login_address_max_delay_seconds` after the last failure. The refusal is immediate (429 with
  Retry-After); no server thread sleeps. Registered kiosks and the account's known devices are judged
  by their own counts instead, and their failures do not count here: a misconfigured script or a
  visitor's browser slows down only the clients that have nothing better to be judged by.
- Every failure is recorded the same way whether the name exists or not, so a name that does not
  exist counts toward the device or address it came from and locks only itself (and the lock does not
  tell which names exist).
- The current password on the password page has its own per-account counter with the same limits.

Failures are rows of `accounts_login_failure`, so the limits hold across web processes, on SQLite
and PostgreSQL. Checks read and failures insert without locking: attempts racing each other at the
limit may each be judged before the others land, which lets at most one more guess per concurrent
request through; the next attempt sees them all.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col

from app.accounts.models import LoginFailure, LoginFailureKind
from app.core.config import get_settings
from app.core.errors import Throttled
from app.core.i18n import N_, ngettext
from app.core.i18n import gettext as _
from app.core.security import new_token, sign, unsign

DEVICE_COOKIE = "shixun_device"
DEVICE_COOKIE_MAX_AGE = 400 * 86400  # the longest browsers keep a cookie
DEVICE_MAX_USERS = 32  # a kiosk remembers this many recent accounts (about 200 bytes of cookie)
_DEVICE_PURPOSE = "device"

MESSAGES = {
    "account": N_("Too many failed sign-in attempts for this account. Please try again in %(wait)s, "
                  "or ask an administrator to reset your password."),
    "device": N_("Too many failed sign-in attempts on this device. Please try again in %(wait)s, "
                 "or use another device."),
    "address": N_("Too many failed sign-in attempts from this network. Please try again in %(wait)s."),
    "password_check": N_("The current password was wrong too many times. Please try again in %(wait)s, "
                         "or ask an administrator to reset your password."),
}


class ThrottledSignIn(Throttled):
    keep_writes = True  # the failure that reached the limit is recorded before this is raised


class ThrottledPasswordCheck(Throttled):
    keep_writes = True


@dataclass(frozen=True)
class Device:
    """What the signed device cookie says: the device's id and the accounts known on it, newest first."""

    id: str
    user_ids: tuple[int, ...] = ()

    def knows(self, user_id: int | None) -> bool:
        return user_id is not None and user_id in self.user_ids

    def remember(self, user_id: int) -> Device:
        others = tuple(u for u in self.user_ids if u != user_id)
        return Device(self.id, ((user_id, *others))[:DEVICE_MAX_USERS])


def new_device() -> Device:
    return Device(new_token(16))


def device_cookie_value(device: Device) -> str:
    return sign(_DEVICE_PURPOSE, {"d": device.id, "u": list(device.user_ids)})


def device_from_cookie(value: str | None) -> Device | None:
    """None for a missing, altered or malformed cookie: that client is treated as having none."""
    data = unsign(_DEVICE_PURPOSE, value)
    if not isinstance(data, dict):
        return None
    device_id, user_ids = data.get("d"), data.get("u")
    if not isinstance(device_id, str) or not 0 < len(device_id) <= 32 or not isinstance(user_ids, list):
        return None
    return Device(device_id, tuple(u for u in user_ids if isinstance(u, int) and not isinstance(u, bool))[:DEVICE_MAX_USERS])


@dataclass(frozen=True)
class Client:
    """Where an attempt comes from: the address, the device when it carries a valid device cookie, and
    whether an administrator registered it as a kiosk (its own signed cookie, app/accounts/views.py)."""

    ip: str
    device: Device | None = None
    kiosk: bool = False

    @property
    def device_id(self) -> str | None:
        return self.device.id if self.device is not None else None

    @property
    def registered_kiosk(self) -> bool:
        """A kiosk that can be told apart from its neighbours: registered, and carrying a device id."""
        return self.kiosk and self.device is not None

    def slowed_by_address(self, *, known_device: bool) -> bool:
        """Registered kiosks and the account's known devices answer for themselves; every other client
        (no device cookie, or one minted by signing in to some other account) shares its address's
        allowance, so that holding an account of one's own does not buy unlimited guesses elsewhere."""
        return not known_device and not self.registered_kiosk


def wait_text(seconds: int) -> str:
    """How long to wait, as people say it: seconds under a minute, whole minutes (rounded up) above."""
    if seconds < 60:
        return ngettext("%(num)s second", "%(num)s seconds", seconds)
    return ngettext("%(num)s minute", "%(num)s minutes", math.ceil(seconds / 60))


def _seconds_until(until: datetime, now: datetime) -> int:
    return max(1, math.ceil((until - now).total_seconds()))


def _normal(username: str) -> str:
    return (username or "").strip().lower()[:64]


def _within(now: datetime, minutes: int) -> datetime:
    return now - timedelta(minutes=minutes)


def _locked_until(session: Session, conditions: Iterable[Any], limit: int, now: datetime) -> datetime | None:
    """`limit` failures within the window lock for the lock time after the last of them."""
    settings = get_settings()
    window = timedelta(minutes=settings.login_window_minutes)
    lock = timedelta(minutes=settings.login_lock_minutes)
    recent = session.execute(
        sa.select(col(LoginFailure.at)).where(*conditions, col(LoginFailure.at) >= now - window - lock)
        .order_by(col(LoginFailure.at).desc()).limit(limit)
    ).scalars().all()
    if len(recent) < limit or recent[0] - recent[-1] > window:
        return None
    until = recent[0] + lock
    return until if until > now else None


def address_delay_seconds(failures: int) -> int:
    """The pause an address must leave after its last failure: nothing up to the free allowance, then
    1, 2, 4 … seconds, capped."""
    settings = get_settings()
    excess = failures - settings.login_address_free_failures
    if excess <= 0:
        return 0
    return min(settings.login_address_max_delay_seconds, 2 ** min(excess - 1, 20))


def _address_until(session: Session, ip: str, now: datetime) -> datetime | None:
    count, last = session.execute(
        sa.select(sa.func.count(), sa.func.max(col(LoginFailure.at))).where(
            col(LoginFailure.ip) == ip[:64], col(LoginFailure.known_device).is_(False),
            col(LoginFailure.kiosk).is_(False), col(LoginFailure.kind) == LoginFailureKind.signin.value,
            col(LoginFailure.at) >= _within(now, get_settings().login_window_minutes),
        )
    ).one()
    delay = address_delay_seconds(int(count or 0))
    if not delay or last is None:
        return None
    until = last + timedelta(seconds=delay)  # max() keeps the column's type: an aware datetime
    return until if until > now else None


def _refuse(error: type[Throttled], reason: str, until: datetime, now: datetime) -> Throttled:
    seconds = _seconds_until(until, now)
    return error(_(MESSAGES[reason], wait=wait_text(seconds)), retry_after=seconds)


def check_signin(session: Session, username: str, client: Client, *, known_device: bool,
                 now: datetime) -> None:
    """Raises ThrottledSignIn (with how long to wait) when this attempt may not be judged now."""
    settings = get_settings()
    name = _normal(username)
    signin = col(LoginFailure.kind) == LoginFailureKind.signin.value
    waits: list[tuple[str, datetime | None]] = []
    if client.device is not None:
        on_device = col(LoginFailure.device) == client.device.id
        waits.append(("device", _locked_until(session, (on_device, signin), settings.login_device_max_failures, now)))
        if known_device:
            waits.append(("account", _locked_until(session, (on_device, signin, col(LoginFailure.username) == name),
                                                   settings.login_max_failures, now)))
    if not known_device:
        waits.append(("account", _locked_until(
            session, (col(LoginFailure.username) == name, signin, col(LoginFailure.known_device).is_(False)),
            settings.login_max_failures, now)))
    if client.slowed_by_address(known_device=known_device):
        waits.append(("address", _address_until(session, client.ip, now)))
    longest = max(((until, reason) for reason, until in waits if until is not None), default=None)
    if longest is not None:
        raise _refuse(ThrottledSignIn, longest[1], longest[0], now)


def record_signin_failure(session: Session, username: str, client: Client, *, known_device: bool,
                          now: datetime) -> None:
    session.add(LoginFailure(kind=LoginFailureKind.signin.value, username=_normal(username), ip=client.ip[:64],
                             device=client.device_id, known_device=known_device, kiosk=client.registered_kiosk,
                             at=now))
    session.flush()


def forget_signin_failures(session: Session, username: str, client: Client) -> None:
    """After a successful sign-in, the person's own mistakes on this client stop counting. Failures for
    the account from anywhere else stay: the rightful user signing in does not reset an attacker's lock."""
    where = [col(LoginFailure.username) == _normal(username), col(LoginFailure.kind) == LoginFailureKind.signin.value]
    if client.device is not None:
        where.append(col(LoginFailure.device) == client.device.id)
    else:
        where += [col(LoginFailure.ip) == client.ip[:64], col(LoginFailure.device).is_(None)]
    session.execute(sa.delete(LoginFailure).where(*where))


def _password_check_conditions(username: str) -> tuple[Any, ...]:
    return (col(LoginFailure.username) == _normal(username),
            col(LoginFailure.kind) == LoginFailureKind.password_check.value)


def check_password_check(session: Session, username: str, *, now: datetime) -> None:
    """Raises ThrottledPasswordCheck while the account's current-password check is locked."""
    until = _locked_until(session, _password_check_conditions(username), get_settings().login_max_failures, now)
    if until is not None:
        raise _refuse(ThrottledPasswordCheck, "password_check", until, now)


def record_password_check_failure(session: Session, username: str, *, ip: str | None, now: datetime) -> None:
    session.add(LoginFailure(kind=LoginFailureKind.password_check.value, username=_normal(username),
                             ip=(ip or "")[:64], at=now))
    session.flush()


def forget_password_check_failures(session: Session, username: str) -> None:
    session.execute(sa.delete(LoginFailure).where(*_password_check_conditions(username)))
