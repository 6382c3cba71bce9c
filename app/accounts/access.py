"""Authorization as data: every route declares who may use it with one of these dependencies.

    @router.get("/admin/users", dependencies=[allow(Role.admin, Role.district_admin)])

`public`, `signed_in` and `allow(*roles)` return a `Depends` on an `AccessRule`. A test walks every
route of the app, fails when one has no rule, and uses each rule to check that anonymous and trainee
requests are refused where they must be. The rule also resolves the caller (bearer token or session
cookie) and makes a signed-in user with a pending forced password change go and change it first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlmodel import Session

from app.accounts import signin
from app.accounts.models import AuthSession, Role, User
from app.core.db import begin_read, get_database
from app.core.errors import DomainError, NotAuthenticated, PermissionDenied
from app.core.i18n import N_
from app.core.models import utcnow
from app.core.routing import get_db
from app.core.security import SESSION_COOKIE


class PasswordChangeRequired(DomainError):
    status_code = 403
    code = "password-change-required"
    title = N_("You must change your password before continuing")


@dataclass
class Principal:
    user: User
    auth_session: AuthSession | None  # None when the caller used a bearer token
    via: str  # "session" or "token"


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


def resolve_principal(request: Request, db: Session) -> Principal | None:
    if hasattr(request.state, "principal"):
        return request.state.principal  # type: ignore[no-any-return]
    now = utcnow()
    principal: Principal | None = None
    token = bearer_token(request)
    if token is not None:
        user = signin.resolve_api_token(db, token, now=now)
        if user is not None:
            principal = Principal(user=user, auth_session=None, via="token")
    else:
        resolved = signin.resolve_session(db, request.cookies.get(SESSION_COOKIE), now=now)
        if resolved is not None:
            auth, user = resolved
            principal = Principal(user=user, auth_session=auth, via="session")
            if signin.needs_touch(auth, now):
                # Slide the idle timeout in a short transaction of its own. End the request's read
                # transaction first so that it gives its connection back: a request must never hold two
                # pooled connections at once (under load that starves the pool).
                db.commit()
                database = getattr(request.app.state, "database", None) or get_database()
                with database.transaction() as side:
                    signin.touch_session(side, auth.id or 0, now=now)
    request.state.principal = principal
    request.state.user = principal.user if principal else None
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
class AccessRule:
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

    def __call__(self, request: Request, db: Annotated[Session, Depends(get_db)]) -> Principal | None:
        # The check runs in a thread of its own, before the endpoint's: read in a deferred transaction
        # (no SQLite write lock yet, even for a POST) and end it here, so that no connection or lock is
        # held while the request waits for the endpoint's thread.
        begin_read(db)
        try:
            principal = resolve_principal(request, db)
        finally:
            db.commit()
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
