"""Typed factories for the common objects. Passwords are hashed once per distinct password."""

from __future__ import annotations

import itertools
from functools import lru_cache

from sqlmodel import Session

from app.accounts.models import OrgUnit, OrgUnitKind, Role, Tier, User, UserRole
from app.accounts.service import child_path
from app.core.security import hash_password

PASSWORD = "Passw0rd-test"
_seq = itertools.count(1)


@lru_cache(maxsize=16)
def _hash(password: str) -> str:
    return hash_password(password)


def make_unit(session: Session, name: str | None = None, *, parent: OrgUnit | None = None,
              kind: OrgUnitKind = OrgUnitKind.unit, code: str | None = None) -> OrgUnit:
    n = next(_seq)
    unit = OrgUnit(code=code or f"unit-{n}", name=name or f"测试单位{n}", kind=kind.value, parent_id=parent.id if parent else None)
    session.add(unit)
    session.flush()
    unit.path = child_path(parent.path if parent else "/", unit.id or 0)
    session.add(unit)
    session.flush()
    return unit


def make_user(session: Session, *roles: Role | str, unit: OrgUnit | None = None, username: str | None = None,
              tier: Tier = Tier.execution, password: str = PASSWORD, must_change_password: bool = False,
              is_active: bool = True, display_name: str | None = None) -> User:
    n = next(_seq)
    unit = unit or make_unit(session)
    user = User(username=username or f"user{n}", display_name=display_name or f"测试用户{n}", org_unit_id=unit.id or 0,
                tier=tier.value, password_hash=_hash(password), must_change_password=must_change_password,
                is_active=is_active)
    user.role_links = [UserRole(role=Role(r).value) for r in (roles or (Role.trainee,))]
    session.add(user)
    session.flush()
    session.refresh(user)
    return user


def make_org_tree(session: Session) -> dict[str, OrgUnit]:
    """A small tree: bureau > department; bureau > district A > unit A1; bureau > district B > unit B1."""
    bureau = make_unit(session, "市机关事务管理局", kind=OrgUnitKind.bureau)
    dept = make_unit(session, "办公室", parent=bureau, kind=OrgUnitKind.department)
    district_a = make_unit(session, "天宁区", parent=bureau, kind=OrgUnitKind.district)
    unit_a1 = make_unit(session, "天宁区机关事务管理中心", parent=district_a)
    district_b = make_unit(session, "钟楼区", parent=bureau, kind=OrgUnitKind.district)
    unit_b1 = make_unit(session, "钟楼区机关事务管理中心", parent=district_b)
    return {"bureau": bureau, "dept": dept, "district_a": district_a, "unit_a1": unit_a1,
            "district_b": district_b, "unit_b1": unit_b1}
