"""Authorization as data: every route declares who may use it with one of these dependencies.

    @router.get("/admin/users", dependencies=[allow(Role.admin, Role.district_admin)])

`public`, `signed_in` and `allow(*roles)` return a `Depends` on an `AccessRule`. A test walks every
route of the app, fails when one has no rule, and uses each rule to check that anonymous and trainee
requests are refused where they must be. The rule also resolves the caller (bearer token or session
cookie) and makes a signed-in user with a pending forced password change go and change it first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from app.accounts import principal_cache, signin
from app.accounts.models import AuthSession, Role, User
from app.core.config import get_settings
from app.core.csrf import BEARER_STATE, mark_bearer_authenticated
from app.core.db import Database, begin_read, get_database, run_read
from app.core.errors import DomainError, NotAuthenticated, PermissionDenied
from app.core.i18n import N_
from app.core.models import utcnow
from app.core.routing import RouteGuard, get_db
from app.core.security import SESSION_COOKIE, token_digest


class PasswordChangeRequired(DomainError):
    status_code = 403
    code = "password-change-required"
    title = N_("You must change your password before continuing")


@dataclass
class Principal:
    """The caller. `auth_session` (None for a bearer token) is attached to the request's session only
    when a view asks for it; `session_id` needs no attaching."""

    user: User
    _auth_session: AuthSession | None  # the remembered row, detached
    via: str  # "session" or "token"
    _db: Session | None = None
    _attached: AuthSession | None = None

    @property
    def session_id(self) -> int | None:
        return self._auth_session.id if self._auth_session is not None else None

    @property
    def auth_session(self) -> AuthSession | None:
        if self._attached is None and self._auth_session is not None:
            self._attached = self._db.merge(self._auth_session, load=False) if self._db is not None else self._auth_session
        return self._attached


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


def _cache_key(request: Request) -> tuple[str, str] | None:
    token = bearer_token(request)
    if token is not None:
        return ("token", token_digest(token))
    cookie = request.cookies.get(SESSION_COOKIE)
    return ("session", token_digest(cookie)) if cookie else None


def _lookup(request: Request, database: Database, now: datetime) -> tuple[User, AuthSession | None, datetime | None] | None:
    """The slow way: read the caller in a short read transaction of its own (one query) and return
    detached rows and, for a token, when it expires. A pure read (the touch is `_touch`)."""
    session = database.new_session()
    try:
        begin_read(session)
        auth: AuthSession | None = None
        not_after: datetime | None = None
        token = bearer_token(request)
        if token is not None:
            found = signin.resolve_api_token_row(session, token, now=now)
            if found is None:
                return None
            not_after, user = found[0].expires_at, found[1]
        else:
            resolved = signin.resolve_session(session, request.cookies.get(SESSION_COOKIE), now=now)
            if resolved is None:
                return None
            auth, user = resolved
        session.commit()
        session.expunge_all()
    finally:
        session.close()
    return user, auth, not_after


def _touch(database: Database, auth: AuthSession, now: datetime) -> None:
    """Slide the idle timeout in a short write transaction of its own."""
    with database.transaction() as side:
        signin.touch_session(side, auth.id or 0, now=now)
    set_committed_value(auth, "last_seen_at", now)  # as stored, not a pending change


def _attach(db: Session | None, snapshot: principal_cache.Snapshot, via: str) -> Principal:
    """This request's own copies of the remembered rows, attached to its session without a query."""
    if db is None:
        return Principal(snapshot.user, snapshot.auth_session, via, None)
    return Principal(db.merge(snapshot.user, load=False), snapshot.auth_session, via, db)


def _usable(snapshot: principal_cache.Snapshot, now: datetime) -> bool:
    if snapshot.not_after is not None and snapshot.not_after <= now:
        return False
    auth = snapshot.auth_session
    return auth is None or (signin.session_is_live(auth, now) and not signin.needs_touch(auth, now))


async def resolve_principal(request: Request, db: Session | None) -> Principal | None:
    """Who is calling: from this process's principal cache when it can (no query, no thread), else
    from the database on a worker thread. Without `db` the principal holds the remembered rows
    themselves, detached and shared: for a lean route that only reads ids from them."""
    if hasattr(request.state, "principal"):
        return request.state.principal  # type: ignore[no-any-return]
    principal: Principal | None = None
    key = _cache_key(request)
    if key is not None:
        now = utcnow()
        database: Database = getattr(request.app.state, "database", None) or get_database()
        cache_key = (id(database), *key)
        snapshot = principal_cache.CACHE.get(cache_key)
        if snapshot is None or not _usable(snapshot, now):
            generation = principal_cache.CACHE.generation
            found = await run_read(database.dialect, _lookup, request, database, now)
            if found is not None and found[1] is not None and signin.needs_touch(found[1], now):
                await run_in_threadpool(_touch, database, found[1], now)  # a write: it may wait for the lock
            if found is None:
                principal_cache.CACHE.drop(cache_key)
                snapshot = None
            else:
                snapshot = principal_cache.CACHE.put(cache_key, *found, ttl=get_settings().auth_cache_seconds,
                                                     generation=generation)
        if snapshot is not None:
            principal = _attach(db, snapshot, key[0])
    request.state.principal = principal
    request.state.user = principal.user if principal else None
    if principal is not None and principal.via == "token":
        mark_bearer_authenticated(request)
    return principal


def user_for_error_page(request: Request) -> User | None:
    """Who is signed in, for an error page rendered outside any route (404, CSRF failure)."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    database = getattr(request.app.state, "database", None) or get_database()
    session = database.new_session()
    try:
        resolved = signin.resolve_session(session, token, now=utcnow())
        if resolved is None:
            return None
        user = resolved[1]
        session.expunge_all()  # keep what was loaded (name, unit, roles) after the session closes
        return user
    finally:
        session.close()


@dataclass(frozen=True)
class AccessRule(RouteGuard):
    """Who may call a route. kind: public | signed_in | roles."""

    kind: str
    roles: frozenset[str] = field(default_factory=frozenset)
    allow_pending_password: bool = False

    def permits(self, user: User | None) -> bool:
        if self.kind == "public":
            return True
        if user is None:
            return False
        return self.kind == "signed_in" or bool(user.roles & self.roles)

    def permits_roles(self, roles: set[str]) -> bool:
        """Whether a signed-in user holding exactly these roles passes (for tests and docs)."""
        return self.kind in ("public", "signed_in") or bool(self.roles & roles)

    async def __call__(self, request: Request, db: Annotated[Session, Depends(get_db)]) -> Principal | None:
        # On the event loop: a remembered caller costs no query and no thread. Otherwise the lookup runs
        # on a worker thread in a read transaction of its own (no SQLite write lock, even for a POST),
        # so that no connection or lock is held while the request waits for the endpoint's thread.
        return self._admit(await resolve_principal(request, db))

    async def detached(self, request: Request) -> Principal | None:
        """The same check for a lean route (core/lean), with no request session: the principal's user is
        the remembered row itself, detached and shared between requests, to read ids from, never to change."""
        return self._admit(await resolve_principal(request, None))

    @staticmethod
    def forget(request: Request) -> None:
        """Undo `detached` for a lean route that declines the request: the declared route resolves the
        caller again, attached to its own session."""
        for name in ("principal", "user", BEARER_STATE):
            request.state._state.pop(name, None)

    def _admit(self, principal: Principal | None) -> Principal | None:
        if self.kind == "public":
            return principal
        if principal is None:
            raise NotAuthenticated()
        if principal.user.must_change_password and not self.allow_pending_password:
            raise PasswordChangeRequired()
        if not self.permits(principal.user):
            raise PermissionDenied()
        return principal

    def describe(self) -> str:
        return self.kind if self.kind != "roles" else "roles:" + ",".join(sorted(self.roles))


PUBLIC = AccessRule("public")
SIGNED_IN = AccessRule("signed_in")


def public() -> Any:
    return Depends(PUBLIC)


def signed_in(*, allow_pending_password: bool = False) -> Any:
    return Depends(AccessRule("signed_in", allow_pending_password=allow_pending_password))


def allow(*roles: Role | str) -> Any:
    if not roles:
        raise ValueError("allow() needs at least one role; use signed_in() or public()")
    return Depends(AccessRule("roles", frozenset(Role(r).value for r in roles)))


# Plain reads of request state: async so that FastAPI runs them on the event loop, not in a thread.
async def current_principal(request: Request) -> Principal:
    principal: Principal | None = getattr(request.state, "principal", None)
    if principal is None:
        raise NotAuthenticated()
    return principal


async def current_user(request: Request) -> User:
    return (await current_principal(request)).user


async def optional_user(request: Request) -> User | None:
    return getattr(request.state, "user", None)


CurrentUser = Annotated[User, Depends(current_user)]
CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
OptionalUser = Annotated[User | None, Depends(optional_user)]
