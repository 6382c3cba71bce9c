"""Accounts: org units, users, roles, sign-in, sessions, API tokens, throttling, audit.

Every query of the domain lives here. Scope rules (a district admin sees only their subtree) are
enforced in these functions, never only in templates: the actor is passed in and every listing and
loader filters by the actor's scope.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import selectinload
from sqlmodel import Session, col, func, select

from app.accounts import permissions, throttle
from app.accounts.events import UserChanged, UserCreated
from app.accounts.models import (
    ApiToken,
    AuditLog,
    AuthSession,
    OrgUnit,
    OrgUnitKind,
    Role,
    Tier,
    User,
    UserRole,
)
from app.accounts.schemas import OrgUnitCreate, UserCreate, UserUpdate
from app.accounts.scope import CHANGE, READ, TARGET, related
from app.core import events
from app.core.errors import Conflict, PermissionDenied, ValidationFailed
from app.core.i18n import gettext as _
from app.core.models import utcnow
from app.core.security import hash_password, verify_password

MIN_PASSWORD_LENGTH = 8


# ---------------------------------------------------------------------------------------------
# Audit


def audit(
    session: Session,
    action: str,
    *,
    actor: User | None = None,
    actor_name: str | None = None,
    target_type: str | None = None,
    target_id: Any = None,
    ip: str | None = None,
    details: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> AuditLog:
    entry = AuditLog(
        at=now or utcnow(),
        actor_id=actor.id if actor else None,
        actor_name=actor.username if actor else actor_name,
        action=action,
        target_type=target_type,
        target_id=str(target_id) if target_id is not None else None,
        ip=ip,
        details=details or {},
    )
    session.add(entry)
    session.flush()
    return entry


def list_audit(
    session: Session, *, action: str | None = None, q: str | None = None, limit: int = 50, offset: int = 0
) -> tuple[Sequence[AuditLog], int]:
    stmt = select(AuditLog)
    if action:
        stmt = stmt.where(AuditLog.action == action)
    if q:
        like = f"%{q.strip()}%"
        stmt = stmt.where(sa.or_(col(AuditLog.actor_name).ilike(like), col(AuditLog.target_id).ilike(like)))
    total = session.exec(select(func.count()).select_from(stmt.subquery())).one()
    rows = session.exec(stmt.order_by(col(AuditLog.at).desc(), col(AuditLog.id).desc()).limit(limit).offset(offset)).all()
    return rows, total


# ---------------------------------------------------------------------------------------------
# Org units


def _scope_filter(actor: User) -> Any:
    """The units the actor administers (ORG_UNIT's READ rule), for queries that join OrgUnit."""
    return permissions.ORG_UNIT.where(actor, READ)


def list_org_units(session: Session, actor: User, *, include_inactive: bool = True) -> Sequence[OrgUnit]:
    if not permissions.manages_units(actor):
        raise PermissionDenied()
    stmt = select(OrgUnit).where(_scope_filter(actor))
    if not include_inactive:
        stmt = stmt.where(OrgUnit.is_active == sa.true())
    return session.exec(stmt.order_by(OrgUnit.path)).all()


def all_org_units(session: Session) -> Sequence[OrgUnit]:
    return session.exec(select(OrgUnit).order_by(OrgUnit.path)).all()


def get_org_unit(session: Session, actor: User, unit_id: int, action: str = READ) -> OrgUnit:
    """A unit the actor administers (ORG_UNIT policy); anything else reads as missing."""
    return permissions.ORG_UNIT.get(session, actor, unit_id, action)


def target_unit(session: Session, actor: User, unit_id: int | None) -> OrgUnit | None:
    """The unit something is aimed at (an exam's audience, a schedule, a curriculum, an enrolment rule), if
    the actor may aim at it (ORG_UNIT's TARGET rule); None (the whole city) only for those who may aim at
    everybody: a district administrator names a unit of their subtree."""
    if unit_id is None:
        if not permissions.may_target_everyone(actor):
            raise ValidationFailed(_("Choose a unit of your district."), errors=[{"loc": ["org_unit_id"], "msg": "required"}])
        return None
    unit = permissions.ORG_UNIT.find(session, actor, unit_id, TARGET)
    if unit is None:
        raise ValidationFailed(_("The organisation unit does not exist or is outside your scope."),
                               errors=[{"loc": ["org_unit_id"], "msg": "unknown"}])
    return unit


def get_org_unit_by_code(session: Session, code: str) -> OrgUnit | None:
    return session.exec(select(OrgUnit).where(OrgUnit.code == code)).first()


def org_unit_path_names(session: Session, unit: OrgUnit) -> str:
    ids = unit.chain_ids
    names = dict(session.execute(sa.select(col(OrgUnit.id), col(OrgUnit.name)).where(col(OrgUnit.id).in_(ids))).tuples().all())
    return " / ".join(names.get(i, "?") for i in ids)


def child_path(parent_path: str, unit_id: int) -> str:
    """Ids are zero-padded so that sorting by path lists a subtree in order ("/…02/" before "/…10/")."""
    return f"{parent_path}{unit_id:08d}/"


def create_org_unit(session: Session, actor: User | None, data: OrgUnitCreate, *, now: datetime | None = None) -> OrgUnit:
    """actor None means the system itself (CLI, demo data)."""
    parent = None
    if data.parent_id is not None:
        # A parent outside the actor's subtree reads as unknown, like an id of no row (ORG_UNIT's rule).
        parent = (permissions.ORG_UNIT.find(session, actor, data.parent_id, CHANGE) if actor is not None
                  else related(session, OrgUnit, data.parent_id))
        if parent is None:
            raise ValidationFailed(_("The parent unit does not exist."), errors=[{"loc": ["parent_id"], "msg": _("unknown unit")}])
        if not parent.is_active:
            raise ValidationFailed(_("The parent unit has been deactivated."),
                                   errors=[{"loc": ["parent_id"], "msg": _("deactivated unit")}])
    if actor is not None:
        if not permissions.manages_units(actor):
            raise PermissionDenied()
        if parent is None and not permissions.is_admin(actor):
            raise PermissionDenied(_("Only an administrator can create a top-level unit."))
    if get_org_unit_by_code(session, data.code) is not None:
        raise Conflict(_("An organisation unit with code %(code)s already exists.", code=data.code),
                       errors=[{"loc": ["code"], "msg": _("already used")}])
    unit = OrgUnit(code=data.code, name=data.name.strip(), kind=OrgUnitKind(data.kind).value,
                   parent_id=parent.id if parent else None, sort_order=data.sort_order)
    session.add(unit)
    session.flush()
    unit.path = child_path(parent.path if parent else "/", unit.id or 0)
    session.add(unit)
    session.flush()
    if actor is not None:
        audit(session, "org_unit.create", actor=actor, target_type="org_unit", target_id=unit.id,
              details={"code": unit.code, "name": unit.name}, now=now)
    return unit


def update_org_unit(session: Session, actor: User, unit: OrgUnit, *, name: str | None = None,
                    is_active: bool | None = None) -> OrgUnit:
    get_org_unit(session, actor, unit.id or 0)
    if name is not None:
        if not name.strip():
            raise ValidationFailed(_("The name must not be blank."), errors=[{"loc": ["name"], "msg": _("required")}])
        unit.name = name.strip()
    if is_active is not None and is_active != unit.is_active:
        if not is_active and unit.parent_id is None:
            raise Conflict(_("The top-level unit cannot be deactivated."))
        unit.is_active = is_active
    session.add(unit)
    session.flush()
    audit(session, "org_unit.update", actor=actor, target_type="org_unit", target_id=unit.id,
          details={"name": unit.name, "is_active": unit.is_active})
    return unit


def district_of(session: Session, unit: OrgUnit) -> OrgUnit | None:
    ids = unit.chain_ids
    if not ids:
        return None
    for candidate in session.exec(select(OrgUnit).where(col(OrgUnit.id).in_(ids))).all():
        if candidate.kind == OrgUnitKind.district:
            return candidate
    return None


# ---------------------------------------------------------------------------------------------
# Users


def get_user_by_username(session: Session, username: str) -> User | None:
    return session.exec(select(User).where(func.lower(User.username) == username.strip().lower())).first()



def get_user_for(session: Session, actor: User, user_id: int, action: str = READ) -> User:
    """A user the actor may manage (USER policy); NotFound (not Forbidden) outside scope, so existence does not leak."""
    return permissions.USER.get(session, actor, user_id, action)


@dataclass
class UserFilter:
    q: str | None = None
    org_unit_id: int | None = None
    tier: str | None = None
    role: str | None = None
    active: bool | None = None


def search_users(session: Session, actor: User, flt: UserFilter, *, limit: int = 50, offset: int = 0
                 ) -> tuple[Sequence[User], int]:
    if not permissions.manages_units(actor):
        raise PermissionDenied()
    stmt = select(User).join(OrgUnit, col(User.org_unit_id) == col(OrgUnit.id)).where(_scope_filter(actor))
    if flt.q:
        like = f"%{flt.q.strip()}%"
        stmt = stmt.where(sa.or_(col(User.username).ilike(like), col(User.display_name).ilike(like),
                                 col(User.employee_no).ilike(like), col(User.phone).ilike(like)))
    if flt.org_unit_id:
        unit = get_org_unit(session, actor, flt.org_unit_id)
        stmt = stmt.where(col(OrgUnit.path).startswith(unit.path, autoescape=True))
    if flt.tier:
        stmt = stmt.where(User.tier == flt.tier)
    if flt.role:
        stmt = stmt.where(col(User.id).in_(select(UserRole.user_id).where(UserRole.role == flt.role)))
    if flt.active is not None:
        stmt = stmt.where(User.is_active == flt.active)
    total = session.exec(select(func.count()).select_from(stmt.subquery())).one()
    rows = session.exec(
        stmt.options(selectinload(User.role_links))  # type: ignore[arg-type]
        .order_by(OrgUnit.path, User.username).limit(limit).offset(offset)
    ).all()
    return rows, total


def _check_roles(actor: User | None, roles: Iterable[str]) -> list[str]:
    wanted = sorted({Role(r).value for r in roles})
    if actor is not None:
        allowed = permissions.assignable_roles(actor)
        refused = [r for r in wanted if r not in allowed]
        if refused:
            raise PermissionDenied(_("You may not assign the role: %(roles)s", roles=", ".join(refused)))
    return wanted


def validate_password(password: str, *, username: str | None = None) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationFailed(_("The password must have at least %(n)s characters.", n=MIN_PASSWORD_LENGTH),
                               errors=[{"loc": ["password"], "msg": _("too short")}])
    if username and password.lower() == username.lower():
        raise ValidationFailed(_("The password must differ from the username."),
                               errors=[{"loc": ["password"], "msg": _("same as username")}])
    if password.isdigit() or password.isalpha():
        raise ValidationFailed(_("The password must mix letters and digits."),
                               errors=[{"loc": ["password"], "msg": _("too simple")}])


def create_user(session: Session, actor: User | None, data: UserCreate, *, must_change_password: bool = True,
                password_hash: str | None = None, now: datetime | None = None) -> User:
    if actor is not None and not permissions.manages_units(actor):
        raise PermissionDenied()
    # The system (actor None: the demo, create-admin) may use any unit.
    unit = permissions.ORG_UNIT.find(session, actor, data.org_unit_id, CHANGE) if actor is not None else related(
        session, OrgUnit, data.org_unit_id)
    if unit is None:
        # Out of scope reads as unknown, so that a district admin cannot probe other districts' units.
        raise ValidationFailed(_("The organisation unit does not exist or is outside your scope."),
                               errors=[{"loc": ["org_unit_id"], "msg": _("unknown unit")}])
    if not unit.is_active:
        raise ValidationFailed(_("The organisation unit has been deactivated."),
                               errors=[{"loc": ["org_unit_id"], "msg": _("deactivated unit")}])
    roles = _check_roles(actor, data.roles or [Role.trainee])
    if get_user_by_username(session, data.username) is not None:
        raise Conflict(_("The username %(username)s is already taken.", username=data.username),
                       errors=[{"loc": ["username"], "msg": _("already taken")}])
    if password_hash is None and data.password:
        validate_password(data.password, username=data.username)
        password_hash = hash_password(data.password)
    user = User(
        username=data.username.strip(),
        display_name=data.display_name,
        org_unit_id=unit.id or 0,
        tier=Tier(data.tier).value,
        phone=data.phone or None,
        email=data.email or None,
        employee_no=data.employee_no or None,
        password_hash=password_hash,
        must_change_password=must_change_password,
    )
    user.role_links = [UserRole(role=r) for r in roles]
    session.add(user)
    try:
        session.flush()
    except sa.exc.IntegrityError as exc:  # a concurrent request took the username between check and insert
        raise Conflict(_("The username %(username)s is already taken.", username=data.username)) from exc
    if actor is not None:
        audit(session, "user.create", actor=actor, target_type="user", target_id=user.id,
              details={"username": user.username, "roles": roles, "org_unit": unit.code}, now=now)
    events.publish(session, UserCreated(user_id=user.id or 0, at=now or utcnow()))
    return user


def update_user(session: Session, actor: User, user: User, data: UserUpdate, *, now: datetime | None = None) -> User:
    get_user_for(session, actor, user.id or 0)
    changes: dict[str, Any] = {}
    if data.display_name is not None and data.display_name.strip() != user.display_name:
        changes["display_name"] = [user.display_name, data.display_name.strip()]
        user.display_name = data.display_name.strip()
    if data.org_unit_id is not None and data.org_unit_id != user.org_unit_id:
        unit = get_org_unit(session, actor, data.org_unit_id)
        changes["org_unit"] = [user.org_unit.code, unit.code]
        user.org_unit_id = unit.id or 0
        user.org_unit = unit
    if data.tier is not None and data.tier.value != user.tier:
        changes["tier"] = [user.tier, data.tier.value]
        user.tier = data.tier.value
    for field in ("phone", "email", "employee_no"):
        value = getattr(data, field)
        if value is not None and (value or None) != getattr(user, field):
            changes[field] = True
            setattr(user, field, value or None)
    roles_added = False
    if data.roles is not None:
        new_roles = set(_check_roles(actor, data.roles))
        old_roles = user.roles
        # A district admin may not strip roles they could not grant (e.g. admin).
        untouchable = old_roles - permissions.assignable_roles(actor)
        new_roles |= untouchable
        if new_roles != old_roles:
            if actor.id == user.id and Role.admin in old_roles and Role.admin not in new_roles:
                raise Conflict(_("You cannot remove your own administrator role."))
            user.role_links = [link for link in user.role_links if link.role in new_roles] + [
                UserRole(role=r) for r in sorted(new_roles - old_roles)
            ]
            roles_added = bool(new_roles - old_roles)
            audit(session, "user.roles_changed", actor=actor, target_type="user", target_id=user.id,
                  details={"username": user.username, "before": sorted(old_roles), "after": sorted(new_roles)}, now=now)
    if data.is_active is not None and data.is_active != user.is_active:
        set_active(session, actor, user, data.is_active, now=now)
    session.add(user)
    session.flush()
    if changes:
        audit(session, "user.update", actor=actor, target_type="user", target_id=user.id,
              details={"username": user.username, "changed": sorted(changes)}, now=now)
    selecting = tuple(sorted({"tier", "org_unit"} & set(changes))) + (("roles",) if roles_added else ())
    if selecting and user.is_active:
        events.publish(session, UserChanged(user_id=user.id or 0, at=now or utcnow(), changed=selecting))
    return user


def set_active(session: Session, actor: User, user: User, active: bool, *, now: datetime | None = None) -> User:
    get_user_for(session, actor, user.id or 0)
    if actor.id == user.id and not active:
        raise Conflict(_("You cannot deactivate your own account."))
    if user.is_active == active:
        return user
    user.is_active = active
    session.add(user)
    if not active:
        revoke_user_sessions(session, user, reason="deactivated", now=now)
    session.flush()
    audit(session, "user.activate" if active else "user.deactivate", actor=actor, target_type="user",
          target_id=user.id, details={"username": user.username}, now=now)
    if active:
        events.publish(session, UserChanged(user_id=user.id or 0, at=now or utcnow(), changed=("is_active",)))
    return user


def reset_password(session: Session, actor: User, user: User, new_password: str, *, now: datetime | None = None) -> User:
    get_user_for(session, actor, user.id or 0)
    validate_password(new_password, username=user.username)
    user.password_hash = hash_password(new_password)
    user.must_change_password = True
    session.add(user)
    revoke_user_sessions(session, user, reason="password_reset", now=now)
    audit(session, "user.password_reset", actor=actor, target_type="user", target_id=user.id,
          details={"username": user.username}, now=now)
    return user


class WrongCurrentPassword(ValidationFailed):
    keep_writes = True  # the failure counts toward the throttle even though the request rolls back


def change_own_password(session: Session, user: User, current: str, new: str, *, keep_session_id: int | None = None,
                        ip: str | None = None, now: datetime | None = None) -> User:
    """Guessing the current password through a signed-in session is throttled per account (throttle.py)."""
    now = now or utcnow()
    throttle.check_password_check(session, user.username, now=now)
    ok, _rehash = verify_password(current, user.password_hash)
    if not ok:
        throttle.record_password_check_failure(session, user.username, ip=ip, now=now)
        audit(session, "auth.password_check_failed", actor=user, target_type="user", target_id=user.id, ip=ip,
              details={"session": keep_session_id} if keep_session_id else {}, now=now)
        throttle.check_password_check(session, user.username, now=now)  # the failure that reaches the limit says so
        raise WrongCurrentPassword(_("The current password is wrong."),
                                   errors=[{"loc": ["current_password"], "msg": _("wrong")}])
    throttle.forget_password_check_failures(session, user.username)
    if current == new:
        raise ValidationFailed(_("The new password must differ from the current one."),
                               errors=[{"loc": ["new_password"], "msg": _("unchanged")}])
    validate_password(new, username=user.username)
    user.password_hash = hash_password(new)
    user.must_change_password = False
    session.add(user)
    # Other devices signed in with the old password are signed out.
    revoke_user_sessions(session, user, reason="password_changed", except_id=keep_session_id, now=now)
    audit(session, "user.password_changed", actor=user, target_type="user", target_id=user.id, now=now)
    return user


# ---------------------------------------------------------------------------------------------
# Sessions of a user (signing in lives in app/accounts/signin.py)


def revoke_user_sessions(session: Session, user: User, *, reason: str, except_id: int | None = None,
                         now: datetime | None = None) -> int:
    now = now or utcnow()
    stmt = sa.update(AuthSession).where(col(AuthSession.user_id) == user.id, col(AuthSession.revoked_at).is_(None))
    if except_id is not None:
        stmt = stmt.where(col(AuthSession.id) != except_id)
    result = session.execute(stmt.values(revoked_at=now, revoked_reason=reason))
    session.execute(
        sa.update(ApiToken).where(col(ApiToken.user_id) == user.id, col(ApiToken.revoked_at).is_(None)).values(revoked_at=now)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def count_users(session: Session, actor: User) -> dict[str, int]:
    base = select(func.count()).select_from(User).join(OrgUnit, col(User.org_unit_id) == col(OrgUnit.id)).where(_scope_filter(actor))
    return {
        "users": session.exec(base).one(),
        "active": session.exec(base.where(User.is_active == sa.true())).one(),
        "units": session.exec(select(func.count()).select_from(OrgUnit).where(_scope_filter(actor))).one(),
    }


# ---------------------------------------------------------------------------------------------
# Administration pages and bulk import


@dataclass
class UnitNode:
    """One row of the org-unit tree as an administrator sees it."""

    unit: OrgUnit
    level: int  # depth below the top-most unit the actor can see
    users: int  # users directly in this unit
    subtree_users: int  # users in this unit and every unit below it


def org_unit_tree(session: Session, actor: User) -> list[UnitNode]:
    """The actor's units in tree order (parents first, siblings by sort order then name), with user counts."""
    units = list_org_units(session, actor)
    counts = dict(session.exec(
        select(User.org_unit_id, func.count()).join(OrgUnit, col(User.org_unit_id) == col(OrgUnit.id))
        .where(_scope_filter(actor)).group_by(col(User.org_unit_id))
    ).all())
    by_id = {u.id: u for u in units}
    children: dict[int | None, list[OrgUnit]] = {}
    for unit in units:
        # A unit whose parent is outside the scope is a root of what the actor sees.
        children.setdefault(unit.parent_id if unit.parent_id in by_id else None, []).append(unit)
    for siblings in children.values():
        siblings.sort(key=lambda u: (u.sort_order, u.name, u.id or 0))
    subtree: dict[int, int] = {}
    for unit in sorted(units, key=lambda u: -u.depth):  # leaves first
        subtree[unit.id or 0] = counts.get(unit.id or 0, 0) + sum(subtree[c.id or 0] for c in children.get(unit.id, []))
    nodes: list[UnitNode] = []

    def walk(parent_id: int | None, level: int) -> None:
        for unit in children.get(parent_id, []):
            nodes.append(UnitNode(unit=unit, level=level, users=counts.get(unit.id or 0, 0),
                                  subtree_users=subtree[unit.id or 0]))
            walk(unit.id, level + 1)

    walk(None, 0)
    return nodes


def set_org_unit_active(session: Session, actor: User, unit: OrgUnit, active: bool) -> OrgUnit:
    """Deactivate or reactivate a unit; a district admin cannot switch off the unit their own scope hangs from."""
    get_org_unit(session, actor, unit.id or 0)
    if not active and not permissions.is_admin(actor) and unit.id == actor.org_unit_id:
        raise Conflict(_("You cannot deactivate the unit your own administration scope starts from."))
    return update_org_unit(session, actor, unit, is_active=active)


def org_units_by_codes(session: Session, codes: Iterable[str]) -> dict[str, OrgUnit]:
    """Units by exact code, whatever the scope (the caller checks the scope and says so)."""
    wanted = sorted({c for c in codes if c})
    found: dict[str, OrgUnit] = {}
    for start in range(0, len(wanted), 500):
        chunk = wanted[start:start + 500]
        for unit in session.exec(select(OrgUnit).where(col(OrgUnit.code).in_(chunk))).all():
            found[unit.code] = unit
    return found


def existing_usernames(session: Session, usernames: Iterable[str]) -> set[str]:
    """Which of these usernames are taken (compared case-insensitively, returned lower-cased)."""
    wanted = sorted({u.strip().lower() for u in usernames if u and u.strip()})
    taken: set[str] = set()
    for start in range(0, len(wanted), 500):
        chunk = wanted[start:start + 500]
        taken.update(name.lower() for name in session.exec(
            select(User.username).where(func.lower(User.username).in_(chunk))).all())
    return taken
