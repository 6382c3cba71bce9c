"""Administration pages for users and org units: lists, forms, scope, access."""

from __future__ import annotations

import pytest
from bs4 import BeautifulSoup
from sqlmodel import select

from app.accounts.models import AuditLog, AuthSession, OrgUnit, Role, Tier, User
from tests.factories import PASSWORD, make_user
from tests.helpers import csrf_from, login

ADMIN_PAGES = ["/admin/users", "/admin/users/new", "/admin/users/import", "/admin/units",
               "/admin/users/import/template.xlsx"]


def soup(response) -> BeautifulSoup:  # type: ignore[no-untyped-def]
    return BeautifulSoup(response.text, "html.parser")


def user_ids_listed(response) -> set[int]:  # type: ignore[no-untyped-def]
    rows = soup(response).select("#user-table tbody tr[id^=user-]")
    return {int(r["id"].removeprefix("user-")) for r in rows}


def post(client, path: str, data: dict, *, form_page: str = "/admin/users/new"):  # type: ignore[no-untyped-def]
    return client.post(path, data={"csrf_token": csrf_from(client, form_page), **data})


def fresh(session, model, ident):  # type: ignore[no-untyped-def]
    session.expire_all()
    return session.get(model, ident)


def audit_actions(session, action: str) -> list[AuditLog]:  # type: ignore[no-untyped-def]
    session.expire_all()
    return list(session.exec(select(AuditLog).where(AuditLog.action == action)).all())


# ---------------------------------------------------------------------------------------------
# Access


@pytest.mark.parametrize("path", ADMIN_PAGES)
def test_anonymous_is_sent_to_sign_in(client, org, path):
    response = client.get(path)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login?next=")


@pytest.mark.parametrize("path", ADMIN_PAGES)
def test_trainee_is_refused(client, trainee, path):
    login(client, "trainee1")
    assert client.get(path).status_code == 403


def test_trainee_cannot_post_either(client, trainee, admin):
    login(client, "trainee1")
    response = post(client, f"/admin/users/{admin.id}/active", {"active": "false"}, form_page="/")
    assert response.status_code == 403


# ---------------------------------------------------------------------------------------------
# List, search, filters


@pytest.fixture
def people(session, org):  # type: ignore[no-untyped-def]
    made = {
        "wang": make_user(session, Role.trainee, unit=org["unit_a1"], username="wangwei", display_name="王伟",
                          tier=Tier.decision),
        "li": make_user(session, Role.instructor, unit=org["unit_b1"], username="lina", display_name="李娜",
                        tier=Tier.management),
        "zhao": make_user(session, Role.trainee, unit=org["district_a"], username="zhaolei", display_name="赵磊",
                          is_active=False),
    }
    made["wang"].employee_no = "E-7788"
    made["li"].phone = "13912345678"
    session.add_all(made.values())
    session.commit()
    return made


def test_list_shows_users_with_unit_tier_roles_status(client, admin, people):
    login(client, "admin1")
    response = client.get("/admin/users")
    assert response.status_code == 200
    page = soup(response)
    assert {people["wang"].id, people["li"].id, people["zhao"].id, admin.id} <= user_ids_listed(response)
    row = page.select_one(f"#user-{people['wang'].id}")
    cells = [td.get_text(" ", strip=True) for td in row.find_all("td")]
    assert cells[0] == "王伟" and cells[1] == "wangwei" and cells[2] == "天宁区机关事务管理中心"
    assert row.select_one(".badge-tier-decision") is not None
    assert page.select_one(f"#user-{people['zhao'].id}.is-inactive .badge-inactive") is not None
    assert page.select_one("form#user-filters[role=search][method=get]") is not None


@pytest.mark.parametrize(("query", "expected"), [
    ("q=王伟", {"wang"}), ("q=E-7788", {"wang"}), ("q=1391234", {"li"}), ("q=LINA", {"li"}),
    ("tier=management", {"li"}), ("role=instructor", {"li"}), ("active=false", {"zhao"}),
])
def test_search_and_filters(client, admin, people, query, expected):
    login(client, "admin1")
    ids = user_ids_listed(client.get(f"/admin/users?{query}"))
    assert ids == {people[k].id for k in expected}


def test_unit_filter_covers_the_subtree(client, admin, people, org):
    login(client, "admin1")
    ids = user_ids_listed(client.get(f"/admin/users?org_unit_id={org['district_a'].id}"))
    assert ids == {people["wang"].id, people["zhao"].id}


def test_empty_filter_values_are_ignored(client, admin, people):
    login(client, "admin1")
    response = client.get("/admin/users?q=&org_unit_id=&tier=&role=&active=")
    assert response.status_code == 200
    assert len(user_ids_listed(response)) == 4


def test_htmx_request_gets_only_the_results_block(client, admin, people):
    login(client, "admin1")
    response = client.get("/admin/users?q=王伟", headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert "HX-Request" in response.headers["vary"]
    page = soup(response)
    assert page.select_one("#user-table") is not None
    assert page.select_one("#user-filters") is None and "<html" not in response.text
    assert user_ids_listed(response) == {people["wang"].id}


def test_pagination_50_per_page(client, admin, session, org):
    for i in range(55):
        make_user(session, unit=org["unit_b1"], username=f"bulk{i:03d}")
    session.commit()
    login(client, "admin1")
    first = client.get("/admin/users")
    assert len(user_ids_listed(first)) == 50
    next_link = soup(first).select_one(".pager a[rel=next]")
    assert next_link is not None and next_link["hx-get"] == next_link["href"]
    second = client.get(next_link["href"])
    assert len(user_ids_listed(second)) == 6  # 55 + the admin
    assert soup(second).select_one(".pager a[rel=prev]") is not None


# ---------------------------------------------------------------------------------------------
# Create


def valid_form(org_unit: OrgUnit, **overrides: object) -> dict:
    form = {"display_name": "孙丽", "username": "sunli", "org_unit_id": str(org_unit.id), "tier": "execution",
            "roles": ["trainee"], "phone": "13800001111", "email": "sunli@example.cn", "employee_no": "A001",
            "password": ""}
    form.update(overrides)  # type: ignore[arg-type]
    return form


def test_create_form_offers_scope_units_and_assignable_roles(client, district_admin, org):
    login(client, "dadmin1")
    page = soup(client.get("/admin/users/new"))
    units = {o["value"] for o in page.select("#f-org_unit_id option") if o["value"]}
    assert units == {str(org["district_a"].id), str(org["unit_a1"].id)}
    roles = {i["value"] for i in page.select("#roles input[name=roles]")}
    assert "admin" not in roles and "district_admin" in roles


def test_create_with_errors_rerenders_with_input_kept(client, admin, org, session):
    login(client, "admin1")
    response = post(client, "/admin/users/new", valid_form(org["unit_a1"], username="bad name", display_name="",
                                                            email="not-an-email", phone="12ab", password="short"))
    assert response.status_code == 422
    page = soup(response)
    assert page.select_one("#form-errors[role=alert]") is not None
    assert page.select_one("#f-username")["value"] == "bad name"
    assert page.select_one("#f-email")["value"] == "not-an-email"
    for name in ("username", "display_name", "email", "phone", "password"):
        holder = page.select_one(f"#f-{name}").find_parent(class_="field")
        assert "has-error" in holder["class"], name
        assert holder.select_one(".error-text").get_text(strip=True), name
    assert page.select_one("#f-org_unit_id option[selected]")["value"] == str(org["unit_a1"].id)
    assert session.exec(select(User).where(User.username == "bad name")).first() is None


def test_create_requires_a_role_and_a_unit(client, admin, org):
    login(client, "admin1")
    response = post(client, "/admin/users/new", valid_form(org["unit_a1"], roles=[], org_unit_id=""))
    assert response.status_code == 422
    page = soup(response)
    assert page.select_one("#roles.has-error .error-text") is not None
    assert "has-error" in page.select_one("#f-org_unit_id").find_parent(class_="field")["class"]


def test_create_generates_a_password_shown_once(client, admin, org, session, app):
    login(client, "admin1")
    response = post(client, "/admin/users/new", valid_form(org["unit_a1"], roles=["trainee", "examiner"]))
    assert response.status_code == 201
    password = soup(response).select_one("#temporary-password").get_text(strip=True)
    assert len(password) >= 12
    user = session.exec(select(User).where(User.username == "sunli")).one()
    assert user.must_change_password and user.roles == {"trainee", "examiner"} and user.employee_no == "A001"
    assert password not in (user.password_hash or "")
    assert any(e.target_id == str(user.id) for e in audit_actions(session, "user.create"))
    # The password works, and sends the new user to change it first.
    from fastapi.testclient import TestClient

    with TestClient(app, follow_redirects=False) as other:
        token = csrf_from(other)
        signed_in = other.post("/login", data={"username": "sunli", "password": password, "csrf_token": token})
        assert signed_in.status_code == 303 and signed_in.headers["location"] == "/account/password"


def test_create_with_given_password_redirects_to_the_user(client, admin, org, session):
    login(client, "admin1")
    response = post(client, "/admin/users/new", valid_form(org["unit_a1"], password="Start2024x"))
    assert response.status_code == 303
    user = session.exec(select(User).where(User.username == "sunli")).one()
    assert response.headers["location"] == f"/admin/users/{user.id}"
    assert user.must_change_password


def test_create_duplicate_username_is_a_field_error(client, admin, org, trainee):
    login(client, "admin1")
    response = post(client, "/admin/users/new", valid_form(org["unit_a1"], username="TRAINEE1"))
    assert response.status_code == 422
    holder = soup(response).select_one("#f-username").find_parent(class_="field")
    assert "has-error" in holder["class"]


# ---------------------------------------------------------------------------------------------
# Edit, deactivate, reset


def test_edit_roles_is_audited(client, admin, trainee, session, org):
    login(client, "admin1")
    page = soup(client.get(f"/admin/users/{trainee.id}"))
    assert page.select_one("#f-username")["value"] == "trainee1"
    assert page.select_one("#role-trainee")["checked"] is not None
    form = {"display_name": "新名字", "org_unit_id": str(org["unit_b1"].id), "tier": "management",
            "roles": ["trainee", "instructor"], "phone": "", "email": "", "employee_no": ""}
    response = post(client, f"/admin/users/{trainee.id}", form, form_page=f"/admin/users/{trainee.id}")
    assert response.status_code == 303
    user = fresh(session, User, trainee.id)
    assert user.roles == {"trainee", "instructor"} and user.display_name == "新名字"
    assert user.org_unit_id == org["unit_b1"].id and user.tier == "management"
    changes = audit_actions(session, "user.roles_changed")
    assert changes and changes[-1].details["after"] == ["instructor", "trainee"]
    assert changes[-1].actor_id == admin.id


def test_edit_clears_optional_fields(client, admin, session, org):
    target = make_user(session, unit=org["unit_a1"], username="withphone")
    target.phone = "13800000000"
    session.add(target)
    session.commit()
    login(client, "admin1")
    form = {"display_name": target.display_name, "org_unit_id": str(org["unit_a1"].id), "tier": "execution",
            "roles": ["trainee"], "phone": "", "email": "", "employee_no": ""}
    assert post(client, f"/admin/users/{target.id}", form, form_page="/admin/users").status_code == 303
    assert fresh(session, User, target.id).phone is None


def test_edit_with_errors_keeps_input(client, admin, trainee, org):
    login(client, "admin1")
    form = {"display_name": "", "org_unit_id": str(org["unit_a1"].id), "tier": "execution", "roles": ["trainee"],
            "phone": "", "email": "bad@", "employee_no": ""}
    response = post(client, f"/admin/users/{trainee.id}", form, form_page="/admin/users")
    assert response.status_code == 422
    page = soup(response)
    assert page.select_one("#f-email")["value"] == "bad@"
    assert "has-error" in page.select_one("#f-display_name").find_parent(class_="field")["class"]


def test_deactivate_revokes_sessions_and_reactivate(client, admin, trainee, session, app):
    from fastapi.testclient import TestClient

    with TestClient(app, follow_redirects=False) as other:
        login(other, "trainee1")
        assert other.get("/").status_code == 200
        login(client, "admin1")
        page = soup(client.get(f"/admin/users/{trainee.id}"))
        assert page.select_one("#deactivate-user")["data-confirm"]
        response = post(client, f"/admin/users/{trainee.id}/active", {"active": "false"}, form_page="/admin/users")
        assert response.status_code == 303
        assert not fresh(session, User, trainee.id).is_active
        sessions = session.exec(select(AuthSession).where(AuthSession.user_id == trainee.id)).all()
        assert sessions and all(s.revoked_at is not None for s in sessions)
        assert other.get("/").status_code == 303  # signed out
    assert audit_actions(session, "user.deactivate")
    response = post(client, f"/admin/users/{trainee.id}/active", {"active": "true"}, form_page="/admin/users")
    assert response.status_code == 303
    assert fresh(session, User, trainee.id).is_active


def test_cannot_deactivate_yourself(client, admin, session):
    login(client, "admin1")
    assert soup(client.get(f"/admin/users/{admin.id}")).select_one("#deactivate-user") is None
    response = post(client, f"/admin/users/{admin.id}/active", {"active": "false"}, form_page="/admin/users")
    assert response.status_code == 303
    assert fresh(session, User, admin.id).is_active
    follow = client.get(response.headers["location"])
    assert soup(follow).select_one(".flash-error") is not None


def test_reset_password_shows_a_temporary_password_once(client, admin, trainee, session, app):
    login(client, "admin1")
    response = post(client, f"/admin/users/{trainee.id}/password", {}, form_page="/admin/users")
    assert response.status_code == 200
    password = soup(response).select_one("#temporary-password").get_text(strip=True)
    assert fresh(session, User, trainee.id).must_change_password
    assert audit_actions(session, "user.password_reset")
    from fastapi.testclient import TestClient

    with TestClient(app, follow_redirects=False) as other:
        token = csrf_from(other)
        assert other.post("/login", data={"username": "trainee1", "password": PASSWORD,
                                          "csrf_token": token}).status_code == 401
        assert other.post("/login", data={"username": "trainee1", "password": password,
                                          "csrf_token": token}).status_code == 303


# ---------------------------------------------------------------------------------------------
# District admins stay inside their subtree


@pytest.fixture
def outsider(session, org) -> User:  # type: ignore[no-untyped-def]
    user = make_user(session, Role.trainee, unit=org["unit_b1"], username="outsider")
    session.commit()
    return user


def test_district_admin_lists_only_their_subtree(client, district_admin, trainee, outsider, admin):
    login(client, "dadmin1")
    ids = user_ids_listed(client.get("/admin/users"))
    assert trainee.id in ids and district_admin.id in ids
    assert outsider.id not in ids and admin.id not in ids
    assert user_ids_listed(client.get("/admin/users?q=outsider")) == set()


def test_district_admin_cannot_filter_by_a_unit_outside(client, district_admin, org):
    login(client, "dadmin1")
    assert client.get(f"/admin/users?org_unit_id={org['district_b'].id}").status_code == 404


@pytest.mark.parametrize("suffix", ["", "/password", "/active"])
def test_district_admin_gets_404_for_users_outside(client, district_admin, outsider, session, suffix):
    login(client, "dadmin1")
    if not suffix:
        assert client.get(f"/admin/users/{outsider.id}").status_code == 404
    form = {"display_name": "x", "org_unit_id": str(outsider.org_unit_id), "tier": "execution", "roles": ["trainee"],
            "active": "false"}
    assert post(client, f"/admin/users/{outsider.id}{suffix}", form, form_page="/admin/users").status_code == 404
    user = fresh(session, User, outsider.id)
    assert user.is_active and user.display_name != "x" and not user.must_change_password


def test_district_admin_cannot_create_outside_by_crafted_unit(client, district_admin, org, session):
    login(client, "dadmin1")
    response = post(client, "/admin/users/new", valid_form(org["unit_b1"]))
    assert response.status_code == 404
    assert session.exec(select(User).where(User.username == "sunli")).first() is None


def test_district_admin_cannot_move_a_user_outside(client, district_admin, trainee, org, session):
    login(client, "dadmin1")
    form = {"display_name": "x", "org_unit_id": str(org["unit_b1"].id), "tier": "execution", "roles": ["trainee"]}
    assert post(client, f"/admin/users/{trainee.id}", form, form_page="/admin/users").status_code == 404
    user = fresh(session, User, trainee.id)
    assert user.org_unit_id == org["unit_a1"].id and user.display_name != "x"


def test_district_admin_cannot_grant_admin(client, district_admin, trainee, org, session):
    login(client, "dadmin1")
    form = {"display_name": "x", "org_unit_id": str(org["unit_a1"].id), "tier": "execution",
            "roles": ["trainee", "admin"]}
    assert post(client, f"/admin/users/{trainee.id}", form, form_page="/admin/users").status_code == 403
    assert fresh(session, User, trainee.id).roles == {"trainee"}
    response = post(client, "/admin/users/new", valid_form(org["unit_a1"], roles=["admin"]))
    assert response.status_code == 403
    assert session.exec(select(User).where(User.username == "sunli")).first() is None
    assert not audit_actions(session, "user.roles_changed")


def test_district_admin_can_manage_inside(client, district_admin, trainee, org, session):
    login(client, "dadmin1")
    form = {"display_name": "改名", "org_unit_id": str(org["district_a"].id), "tier": "execution",
            "roles": ["trainee", "coordinator"]}
    assert post(client, f"/admin/users/{trainee.id}", form, form_page="/admin/users").status_code == 303
    user = fresh(session, User, trainee.id)
    assert user.roles == {"trainee", "coordinator"} and user.org_unit_id == org["district_a"].id


# ---------------------------------------------------------------------------------------------
# Org units


def tree_ids(response) -> set[int]:  # type: ignore[no-untyped-def]
    return {int(r["id"].removeprefix("unit-")) for r in soup(response).select("#unit-tree tbody tr[id^=unit-]")}


def test_admin_sees_the_whole_tree_with_counts(client, admin, people, org):
    login(client, "admin1")
    response = client.get("/admin/units")
    assert response.status_code == 200
    assert tree_ids(response) == {u.id for u in org.values()}
    page = soup(response)
    levels = {int(r["id"].removeprefix("unit-")): int(r.select_one(".tree-name")["data-level"])
              for r in page.select("#unit-tree tbody tr")}
    assert levels[org["bureau"].id] == 0 and levels[org["district_a"].id] == 1 and levels[org["unit_a1"].id] == 2
    ids_in_order = [int(r["id"].removeprefix("unit-")) for r in page.select("#unit-tree tbody tr")]
    assert ids_in_order.index(org["district_a"].id) < ids_in_order.index(org["unit_a1"].id)
    counts = page.select_one(f"#unit-{org['district_a'].id} td.num").get_text(" ", strip=True)
    assert counts == "1 / 2"  # zhao directly, wang below


def test_district_admin_sees_only_their_units(client, district_admin, org):
    login(client, "dadmin1")
    response = client.get("/admin/units")
    assert tree_ids(response) == {org["district_a"].id, org["unit_a1"].id}
    parents = {o["value"] for o in soup(response).select("#f-parent_id option")}
    assert parents == {str(org["district_a"].id), str(org["unit_a1"].id)}  # no top-level choice
    assert client.get(f"/admin/units/{org['district_b'].id}").status_code == 404
    assert client.get(f"/admin/units/{org['bureau'].id}").status_code == 404


def test_create_child_unit(client, district_admin, org, session):
    login(client, "dadmin1")
    response = post(client, "/admin/units", {"parent_id": str(org["unit_a1"].id), "code": "tn-new", "name": "新科室",
                                             "kind": "unit"}, form_page="/admin/units")
    assert response.status_code == 303
    unit = session.exec(select(OrgUnit).where(OrgUnit.code == "tn-new")).one()
    assert unit.path == f"{org['unit_a1'].path}{unit.id:08d}/"
    assert response.headers["location"] == f"/admin/units#unit-{unit.id}"


@pytest.mark.parametrize(("parent", "status"), [("district_b", 404), ("", 403)])
def test_district_admin_cannot_create_outside(client, district_admin, org, session, parent, status):
    login(client, "dadmin1")
    form = {"parent_id": str(org[parent].id) if parent else "", "code": "evil", "name": "越权", "kind": "unit"}
    assert post(client, "/admin/units", form, form_page="/admin/units").status_code == status
    assert session.exec(select(OrgUnit).where(OrgUnit.code == "evil")).first() is None


def test_create_unit_errors(client, admin, org):
    login(client, "admin1")
    response = post(client, "/admin/units", {"parent_id": str(org["bureau"].id), "code": org["unit_a1"].code,
                                             "name": "重复", "kind": "unit"}, form_page="/admin/units")
    assert response.status_code == 422
    page = soup(response)
    assert "has-error" in page.select_one("#f-code").find_parent(class_="field")["class"]
    assert page.select_one("#f-name")["value"] == "重复"
    response = post(client, "/admin/units", {"parent_id": str(org["bureau"].id), "code": "has space", "name": "",
                                             "kind": "planet"}, form_page="/admin/units")
    assert response.status_code == 422


def test_rename_and_deactivate_unit(client, admin, org, session):
    login(client, "admin1")
    unit = org["unit_b1"]
    assert post(client, f"/admin/units/{unit.id}", {"name": "钟楼区新中心"}, form_page="/admin/units").status_code == 303
    assert fresh(session, OrgUnit, unit.id).name == "钟楼区新中心"
    assert post(client, f"/admin/units/{unit.id}", {"name": "  "}, form_page="/admin/units").status_code == 422
    page = soup(client.get(f"/admin/units/{unit.id}"))
    assert page.select_one("#deactivate-unit")["data-confirm"]
    assert post(client, f"/admin/units/{unit.id}/active", {"active": "false"}, form_page="/admin/units").status_code == 303
    assert not fresh(session, OrgUnit, unit.id).is_active
    assert audit_actions(session, "org_unit.update")
    # A deactivated unit is no longer offered for new users.
    options = {o["value"] for o in soup(client.get("/admin/users/new")).select("#f-org_unit_id option")}
    assert str(unit.id) not in options
    response = post(client, "/admin/users/new", valid_form(unit))
    assert response.status_code == 422
    assert session.exec(select(User).where(User.username == "sunli")).first() is None
    # ...but a user already there keeps it selected on their own form.
    member = make_user(session, unit=unit, username="member")
    session.commit()
    selected = soup(client.get(f"/admin/users/{member.id}")).select_one("#f-org_unit_id option[selected]")
    assert selected["value"] == str(unit.id)


def test_district_admin_cannot_deactivate_own_scope_root(client, district_admin, org, session):
    login(client, "dadmin1")
    assert soup(client.get(f"/admin/units/{org['district_a'].id}")).select_one("#deactivate-unit") is None
    response = post(client, f"/admin/units/{org['district_a'].id}/active", {"active": "false"}, form_page="/admin/units")
    assert response.status_code == 303
    assert fresh(session, OrgUnit, org["district_a"].id).is_active
    assert post(client, f"/admin/units/{org['district_b'].id}/active", {"active": "false"},
                form_page="/admin/units").status_code == 404
    assert post(client, f"/admin/units/{org['district_b'].id}", {"name": "x"}, form_page="/admin/units").status_code == 404
    assert fresh(session, OrgUnit, org["district_b"].id).name != "x"


def test_list_query_count_does_not_grow_with_rows(client, admin, session, org, engine):
    import sqlalchemy as sa

    for i in range(30):
        make_user(session, Role.trainee, Role.instructor, unit=org["unit_b1"], username=f"q{i:02d}")
    session.commit()
    login(client, "admin1")
    selects: list[str] = []

    def count(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith("SELECT"):
            selects.append(statement)

    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        assert client.get("/admin/users").status_code == 200
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
    assert 0 < len(selects) < 15, selects
