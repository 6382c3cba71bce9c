"""Scope rules live in the service: a district admin sees and manages only their own subtree."""

from __future__ import annotations

import pytest

from app.accounts import service
from app.accounts.models import Role
from app.accounts.schemas import OrgUnitCreate, UserCreate, UserUpdate
from app.core.errors import NotFound, PermissionDenied, ValidationFailed
from tests.factories import make_user


def test_search_is_limited_to_the_subtree(session, org, district_admin) -> None:  # type: ignore[no-untyped-def]
    inside = make_user(session, unit=org["unit_a1"], username="inside")
    outside = make_user(session, unit=org["unit_b1"], username="outside")
    rows, total = service.search_users(session, district_admin, service.UserFilter())
    names = {u.username for u in rows}
    assert "inside" in names and "outside" not in names and total == len(rows)
    with pytest.raises(NotFound):
        service.get_user_for(session, district_admin, outside.id)
    assert service.get_user_for(session, district_admin, inside.id).id == inside.id
    with pytest.raises(NotFound):
        service.search_users(session, district_admin, service.UserFilter(org_unit_id=org["unit_b1"].id))


def test_district_admin_cannot_create_outside_or_grant_admin(session, org, district_admin) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValidationFailed):
        service.create_user(session, district_admin, UserCreate(username="x1", display_name="甲", org_unit_id=org["unit_b1"].id))
    with pytest.raises(PermissionDenied):
        service.create_user(session, district_admin, UserCreate(username="x2", display_name="乙", org_unit_id=org["unit_a1"].id,
                                                                roles=[Role.admin]))
    with pytest.raises(ValidationFailed):  # a parent outside the district reads as unknown, like an id of no row
        service.create_org_unit(session, district_admin, OrgUnitCreate(code="b-new", name="新单位", kind="unit",
                                                                       parent_id=org["district_b"].id))
    created = service.create_user(session, district_admin, UserCreate(username="x3", display_name="丙",
                                                                      org_unit_id=org["unit_a1"].id, password="Passw0rd-x"))
    assert created.must_change_password and created.roles == {"trainee"}


def test_trainee_cannot_list_or_manage(session, org, trainee) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(PermissionDenied):
        service.search_users(session, trainee, service.UserFilter())
    with pytest.raises(PermissionDenied):
        service.list_org_units(session, trainee)


def test_deactivated_units_take_no_new_users_or_children(session, org, admin) -> None:  # type: ignore[no-untyped-def]
    service.update_org_unit(session, admin, org["unit_b1"], is_active=False)
    with pytest.raises(ValidationFailed):
        service.create_user(session, admin, UserCreate(username="late", display_name="丁", org_unit_id=org["unit_b1"].id))
    with pytest.raises(ValidationFailed):
        service.create_org_unit(session, admin, OrgUnitCreate(code="child", name="子单位", kind="unit", parent_id=org["unit_b1"].id))


def test_role_changes_are_audited_and_admin_roles_survive_a_district_admin(session, org, admin, district_admin) -> None:  # type: ignore[no-untyped-def]
    from sqlmodel import select

    from app.accounts.models import AuditLog

    target = make_user(session, Role.trainee, Role.admin, unit=org["unit_a1"], username="both")
    service.update_user(session, district_admin, target, UserUpdate(roles=[Role.instructor]))
    assert target.roles == {"instructor", "admin"}  # a district admin cannot take away what they cannot grant
    entry = session.exec(select(AuditLog).where(AuditLog.action == "user.roles_changed")).one()
    assert entry.details["before"] == ["admin", "trainee"] and entry.details["after"] == ["admin", "instructor"]
