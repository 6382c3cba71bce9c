"""Fixtures and helpers shared by the test modules (imported by conftest)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.accounts.models import OrgUnit, Role, User
from tests.factories import PASSWORD, make_org_tree, make_unit, make_user

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_TRANSACTION_CONTROL = ("SAVEPOINT", "RELEASE", "ROLLBACK", "BEGIN", "COMMIT")


@contextmanager
def counting(engine: sa.Engine) -> Iterator[list[str]]:
    """The SQL statements run on the engine inside the block, without transaction control."""
    statements: list[str] = []

    def record(_conn, _cursor, statement, _params, _context, _executemany) -> None:  # type: ignore[no-untyped-def]
        if not statement.lstrip().upper().startswith(_TRANSACTION_CONTROL):
            statements.append(statement)

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)


def csrf_from(client: TestClient, path: str = "/login") -> str:
    response = client.get(path)
    match = _CSRF.search(response.text)
    assert match, f"no CSRF token on {path} ({response.status_code})"
    return match.group(1)


def login(client: TestClient, username: str, password: str = PASSWORD, **extra: str) -> TestClient:
    token = csrf_from(client)
    response = client.post("/login", data={"username": username, "password": password, "csrf_token": token, **extra})
    assert response.status_code == 303, response.text[:500]
    return client


def api_token(client: TestClient, username: str, password: str = PASSWORD) -> dict[str, str]:
    response = client.post("/api/v1/auth/token", data={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


@pytest.fixture
def org(session: Session) -> dict[str, OrgUnit]:
    """A small tree: bureau > department; bureau > district A > unit A1; bureau > district B > unit B1."""
    units = make_org_tree(session)
    session.commit()
    return units


@pytest.fixture
def user_factory(session: Session) -> Callable[..., User]:
    def make(*roles: Role | str, **kwargs: object) -> User:
        user = make_user(session, *roles, **kwargs)  # type: ignore[arg-type]
        session.commit()
        return user

    return make


@pytest.fixture
def admin(session: Session, org: dict[str, OrgUnit]) -> User:
    user = make_user(session, Role.admin, unit=org["dept"], username="admin1")
    session.commit()
    return user


@pytest.fixture
def trainee(session: Session, org: dict[str, OrgUnit]) -> User:
    user = make_user(session, Role.trainee, unit=org["unit_a1"], username="trainee1")
    session.commit()
    return user


@pytest.fixture
def district_admin(session: Session, org: dict[str, OrgUnit]) -> User:
    user = make_user(session, Role.district_admin, unit=org["district_a"], username="dadmin1")
    session.commit()
    return user


__all__ = ["PASSWORD", "admin", "api_token", "csrf_from", "district_admin", "login", "make_unit", "make_user", "org",
           "trainee", "user_factory"]
