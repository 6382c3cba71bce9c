"""Signing in: credentials, throttling, browser sessions and API tokens.

Throttling wrong passwords (per account, per device, and a slow-down per address) lives in throttle.py.
Only a digest of each session id and token is stored.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import joinedload
from sqlmodel import Session, col, select

from app.accounts import throttle
from app.accounts.models import ApiToken, AuthSession, LoginFailure, User
from app.accounts.service import audit, get_user_by_username
from app.accounts.throttle import Client, Device, new_device
from app.core.config import get_settings
from app.core.errors import DomainError
from app.core.i18n import N_
from app.core.i18n import gettext as _
from app.core.models import utcnow
from app.core.security import new_token, token_digest, verify_password


class InvalidCredentials(DomainError):
    status_code = 401
    code = "invalid-credentials"
    title = N_("Wrong username or password")
    keep_writes = True  # the failure record must survive the rollback of the request


def authenticate(session: Session, username: str, password: str, *, ip: str, device: Device | None = None,
                 kiosk: bool = False, now: datetime | None = None) -> User:
    """The user whose password this is, or InvalidCredentials / ThrottledSignIn (rules: throttle.py).
    `device` comes from the signed device cookie, `kiosk` from the kiosk registration cookie."""
    now = now or utcnow()
    username = (username or "").strip()
    client = Client(ip=ip, device=device, kiosk=kiosk)
    user = get_user_by_username(session, username) if username else None
    known_device = device is not None and user is not None and device.knows(user.id)
    throttle.check_signin(session, username, client, known_device=known_device, now=now)
    ok, new_hash = verify_password(password or "", user.password_hash if user else None)
    if user is not None and ok and not user.is_active:
        ok = False
    if user is not None and ok and user.is_demo and not get_settings().demo_mode:
        ok = False
    if not ok or user is None:
        throttle.record_signin_failure(session, username, client, known_device=known_device, now=now)
        audit(session, "auth.login_failed", actor_name=username[:64], ip=ip,
              details={"device": client.device_id} if client.device_id else {}, now=now)
        # The failure that reaches a limit says so at once.
        throttle.check_signin(session, username, client, known_device=known_device, now=now)
        raise InvalidCredentials(_("Wrong username or password."))
    if new_hash:
        user.password_hash = new_hash
    throttle.forget_signin_failures(session, username, client)
    user.last_login_at = now
    session.add(user)
    session.flush()
    return user


def remember_device(device: Device | None, user: User) -> Device:
    """The device cookie to give the browser after `user` signed in on it: a new device if it had none."""
    return (device or new_device()).remember(user.id or 0)


def start_session(session: Session, user: User, *, ip: str | None, user_agent: str | None, kiosk: bool,
                  replace_token: str | None = None, now: datetime | None = None) -> tuple[str, AuthSession]:
    """A fresh session id at every sign-in; the previous session of this browser is revoked."""
    now = now or utcnow()
    settings = get_settings()
    if replace_token:
        old = session.exec(select(AuthSession).where(AuthSession.token_digest == token_digest(replace_token))).first()
        if old is not None and old.revoked_at is None:
            old.revoked_at = now
            old.revoked_reason = "replaced"
            session.add(old)
    token = new_token()
    idle = (settings.kiosk_idle_minutes if kiosk else settings.session_idle_minutes) * 60
    auth = AuthSession(
        token_digest=token_digest(token),
        user_id=user.id or 0,
        created_at=now,
        last_seen_at=now,
        expires_at=now + timedelta(hours=settings.session_max_hours),
        idle_timeout_s=idle,
        kiosk=kiosk,
        ip=(ip or "")[:64] or None,
        user_agent=(user_agent or "")[:300] or None,
    )
    session.add(auth)
    session.flush()
    audit(session, "auth.login", actor=user, ip=ip, details={"kiosk": kiosk, "session": auth.id}, now=now)
    return token, auth


def session_is_live(auth: AuthSession, now: datetime) -> bool:
    if auth.revoked_at is not None or auth.expires_at <= now:
        return False
    return auth.last_seen_at + timedelta(seconds=auth.idle_timeout_s) > now


def resolve_session(session: Session, token: str | None, *, now: datetime | None = None) -> tuple[AuthSession, User] | None:
    if not token:
        return None
    now = now or utcnow()
    row = session.exec(  # one query: the session, its user, the user's unit and roles
        select(AuthSession, User).join(User, col(User.id) == col(AuthSession.user_id))
        .options(joinedload(User.role_links))  # type: ignore[arg-type]
        .where(AuthSession.token_digest == token_digest(token))
    ).unique().first()  # type: ignore[attr-defined]
    if row is None:
        return None
    auth, user = row
    if not session_is_live(auth, now) or not user.is_active:
        return None
    return auth, user


def touch_session(session: Session, auth_id: int, *, now: datetime | None = None) -> None:
    """Slide the idle timeout. Runs in its own short transaction, not the request's."""
    now = now or utcnow()
    session.execute(
        sa.update(AuthSession).where(col(AuthSession.id) == auth_id, col(AuthSession.revoked_at).is_(None))
        .values(last_seen_at=now),
        execution_options={"principal_cache_keep": True},  # sliding the idle timeout changes no one's rights
    )


def touch_interval(auth: AuthSession) -> float:
    """Seconds after the last touch that a request slides the idle timeout again: at most a minute and a
    fifth of the timeout, less by up to a quarter by the session's id, so that sessions opened together
    (a class at the kiosks) do not all write in the same second, then and every interval after."""
    spread = ((auth.id or 0) * 2654435761 % 4096) / 4096  # Knuth's multiplicative hash: ids in a row spread out
    return min(60, auth.idle_timeout_s / 5) * (1 - spread / 4)


def needs_touch(auth: AuthSession, now: datetime) -> bool:
    return (now - auth.last_seen_at).total_seconds() >= touch_interval(auth)


def revoke_session(session: Session, auth: AuthSession, *, reason: str = "logout", now: datetime | None = None) -> None:
    if auth.revoked_at is None:
        auth.revoked_at = now or utcnow()
        auth.revoked_reason = reason
        session.add(auth)
        session.flush()


def revoke_session_by_token(session: Session, token: str, *, reason: str = "logout", now: datetime | None = None) -> None:
    auth = session.exec(select(AuthSession).where(AuthSession.token_digest == token_digest(token))).first()
    if auth is not None:
        revoke_session(session, auth, reason=reason, now=now)


def list_user_sessions(session: Session, user: User, *, now: datetime | None = None) -> list[AuthSession]:
    now = now or utcnow()
    rows = session.exec(
        select(AuthSession)
        .where(AuthSession.user_id == user.id, col(AuthSession.revoked_at).is_(None), col(AuthSession.expires_at) > now)
        .order_by(col(AuthSession.last_seen_at).desc())
    ).all()
    return [r for r in rows if session_is_live(r, now)][:50]


def issue_api_token(session: Session, user: User, *, ip: str | None = None, now: datetime | None = None) -> tuple[str, int]:
    now = now or utcnow()
    ttl = get_settings().api_token_minutes * 60
    token = new_token()
    session.add(ApiToken(token_digest=token_digest(token), user_id=user.id or 0, created_at=now,
                         expires_at=now + timedelta(seconds=ttl)))
    session.flush()
    audit(session, "auth.token_issued", actor=user, ip=ip, now=now)
    return token, ttl


def resolve_api_token(session: Session, token: str | None, *, now: datetime | None = None) -> User | None:
    resolved = resolve_api_token_row(session, token, now=now)
    return resolved[1] if resolved is not None else None


def resolve_api_token_row(session: Session, token: str | None, *, now: datetime | None = None) -> tuple[ApiToken, User] | None:
    """The live token and its active user, in one query (with the unit; roles come with the user)."""
    if not token:
        return None
    now = now or utcnow()
    row = session.exec(
        select(ApiToken, User).join(User, col(User.id) == col(ApiToken.user_id))
        .options(joinedload(User.role_links))  # type: ignore[arg-type]
        .where(ApiToken.token_digest == token_digest(token))
    ).unique().first()  # type: ignore[attr-defined]
    if row is None:
        return None
    api_token, user = row
    if api_token.revoked_at is not None or api_token.expires_at <= now or not user.is_active:
        return None
    return api_token, user


def purge_expired(session: Session, *, now: datetime | None = None) -> dict[str, int]:
    """Housekeeping: old sessions, tokens and sign-in failures. Run by the worker's periodic job."""
    now = now or utcnow()
    horizon = now - timedelta(days=30)
    counts = {}
    for model, column in ((AuthSession, AuthSession.expires_at), (ApiToken, ApiToken.expires_at), (LoginFailure, LoginFailure.at)):
        result = session.execute(sa.delete(model).where(col(column) < horizon))
        counts[model.__tablename__] = int(getattr(result, "rowcount", 0) or 0)  # type: ignore[attr-defined]
    return counts
