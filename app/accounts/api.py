"""JSON API for accounts: tokens, the caller, users and org units."""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Query, Request

from app.accounts import service, signin
from app.accounts.access import CurrentUser, allow, public, signed_in
from app.accounts.models import OrgUnit, Role, User
from app.accounts.schemas import (
    MeOut,
    OrgUnitCreate,
    OrgUnitOut,
    OrgUnitRef,
    TokenOut,
    UserCreate,
    UserOut,
    UserUpdate,
)
from app.accounts.views import client_ip, is_kiosk_device, request_device
from app.core.pagination import Page
from app.core.routing import DbSession, make_router
from app.core.types import Id, Line, Offset, Text

router = make_router(prefix="/api/v1", tags=["accounts"])

ADMINS = (Role.admin, Role.district_admin)


def unit_ref(unit: OrgUnit) -> OrgUnitRef:
    return OrgUnitRef(id=str(unit.id), name=unit.name, path=unit.path)


def user_out(user: User) -> UserOut:
    return UserOut(id=str(user.id), username=user.username, display_name=user.display_name, roles=sorted(user.roles),
                   tier=user.tier, org_unit=unit_ref(user.org_unit), is_active=user.is_active)


def unit_out(unit: OrgUnit) -> OrgUnitOut:
    return OrgUnitOut(id=str(unit.id), code=unit.code, name=unit.name, kind=unit.kind,
                      parent_id=str(unit.parent_id) if unit.parent_id else None, path=unit.path)


@router.post("/auth/token", name="api:auth_token", response_model=TokenOut, dependencies=[public()],
             responses={401: {"description": "Wrong credentials"}, 429: {"description": "Throttled"}})
def create_token(request: Request, db: DbSession, username: Annotated[Line, Form(max_length=64)],
                 password: Annotated[Text, Form(max_length=256)]) -> TokenOut:
    # A client that keeps cookies (a browser's script) is judged by its device like the sign-in page.
    user = signin.authenticate(db, username, password, ip=client_ip(request), device=request_device(request),
                               kiosk=is_kiosk_device(request))
    token, ttl = signin.issue_api_token(db, user, ip=client_ip(request))
    return TokenOut(access_token=token, expires_in=ttl)


@router.get("/me", name="api:me", response_model=MeOut, dependencies=[signed_in(allow_pending_password=True)])
def me(user: CurrentUser) -> MeOut:
    return MeOut(id=str(user.id), username=user.username, display_name=user.display_name, roles=sorted(user.roles),
                 tier=user.tier, org_unit=unit_ref(user.org_unit))


@router.get("/users", name="api:users", response_model=Page[UserOut], dependencies=[allow(*ADMINS)])
def list_users(
    db: DbSession, user: CurrentUser, q: Line | None = None, org_unit_id: Id | None = None, tier: Line | None = None,
    role: Line | None = None, active: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50, offset: Annotated[Offset, Query(ge=0)] = 0,
) -> Page[UserOut]:
    rows, total = service.search_users(db, user, service.UserFilter(q=q, org_unit_id=org_unit_id, tier=tier, role=role,
                                                                    active=active), limit=limit, offset=offset)
    return Page(items=[user_out(u) for u in rows], total=total)


@router.post("/users", name="api:users_create", status_code=201, response_model=UserOut, dependencies=[allow(*ADMINS)])
def create_user(db: DbSession, actor: CurrentUser, body: UserCreate) -> UserOut:
    return user_out(service.create_user(db, actor, body))


@router.get("/users/{user_id}", name="api:user", response_model=UserOut, dependencies=[allow(*ADMINS)])
def get_user(db: DbSession, actor: CurrentUser, user_id: Id) -> UserOut:
    return user_out(service.get_user_for(db, actor, user_id))


@router.patch("/users/{user_id}", name="api:user_update", response_model=UserOut, dependencies=[allow(*ADMINS)])
def update_user(db: DbSession, actor: CurrentUser, user_id: Id, body: UserUpdate) -> UserOut:
    target = service.get_user_for(db, actor, user_id)
    return user_out(service.update_user(db, actor, target, body))


@router.get("/org-units", name="api:org_units", response_model=Page[OrgUnitOut], dependencies=[allow(*ADMINS)])
def list_org_units(db: DbSession, actor: CurrentUser) -> Page[OrgUnitOut]:
    rows = service.list_org_units(db, actor)
    return Page(items=[unit_out(u) for u in rows], total=len(rows))


@router.post("/org-units", name="api:org_units_create", status_code=201, response_model=OrgUnitOut,
             dependencies=[allow(*ADMINS)])
def create_org_unit(db: DbSession, actor: CurrentUser, body: OrgUnitCreate) -> OrgUnitOut:
    return unit_out(service.create_org_unit(db, actor, body))
