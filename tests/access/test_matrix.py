"""The access matrix (issue 13): every route × role × relation, the answer asserted against the hand-written
expectations (tests/access/expectations.py, from the printed policy declaration).

The routes come from the app itself: a route without a matrix entry fails `test_every_route_has_an_entry`,
and so does an entry for a route that no longer exists. The world (tests/access/world.py) is built once
per module in an outer transaction on a connection of its own; every request runs in a SAVEPOINT rolled
back afterwards, so no request sees another's writes. Sessions and API tokens are made directly
(no password hashing).

A cell fails with one line: `GET /exams/staff/papers/{paper_id} as district_admin on outside: expected
404, got 200`. A cell listed in `known` (matrix.py) is a finding against the app: expected to fail
(strict), with the reason.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from app.accounts.access import AccessRule
from app.core.config import get_settings
from app.core.db import Database
from app.core.routing import RouteInfo, api_routes
from app.core.security import SESSION_COOKIE
from app.main import create_app
from tests.access.expectations import EXPECT, OWNABLE, RELATIONS_OF
from tests.access.matrix import MATRIX, Ctx, Entry, NoId
from tests.access.world import ROLES, World, build_world

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
NOT_REACHED = {401, 403, 404}
_PARAM = re.compile(r"\{([A-Za-z_]+)(?::[a-z]+)?\}")


def _rule(route: APIRoute) -> AccessRule:
    for dep in route.dependant.dependencies:
        if isinstance(dep.call, AccessRule):
            return dep.call
    raise AssertionError(f"{route.path}: no access rule")  # tests/core/test_access.py says so first


def _routes() -> list[RouteInfo]:
    return [info for info in api_routes(create_app()) if info.path != "/openapi.json"]


ROUTES = _routes()


def _method(info: RouteInfo) -> str:
    methods = sorted(info.methods - {"HEAD", "OPTIONS"})
    assert len(methods) == 1, info
    return methods[0]


def test_every_route_has_an_entry() -> None:
    names = {info.name for info in ROUTES}
    missing = sorted(f"{_method(i)} {i.path} ({i.name})" for i in ROUTES if i.name not in MATRIX)
    stale = sorted(set(MATRIX) - names)
    id_without_entry = sorted(f"{_method(i)} {i.path} ({i.name})" for i in ROUTES
                              if _PARAM.search(i.path) and isinstance(MATRIX.get(i.name), NoId))
    empty = sorted(name for name, entries in MATRIX.items() if entries == [])
    problems = ([f"no matrix entry: {m}" for m in missing]
                + [f"an empty list of entries: {e}" for e in empty] + [f"entry for a route that does not exist: {s}" for s in stale]
                + [f"ids in the path but no Entry: {m}" for m in id_without_entry])
    assert not problems, "\n".join(problems)


def test_entries_fill_every_path_parameter_and_name_known_kinds() -> None:
    problems = []
    for info in ROUTES:
        entries = MATRIX.get(info.name)
        if not isinstance(entries, list):
            continue
        for entry in entries:
            for kind, action in ((entry.kind, a) for a in entry.actions):
                if action not in EXPECT.get(kind, {}):
                    problems.append(f"{info.name}: no expectation for {kind}/{action}")
            for kind, action in entry.also:
                if action not in EXPECT.get(kind, {}):
                    problems.append(f"{info.name}: no expectation for {kind}/{action}")
    assert not problems, "\n".join(problems)


# ---------------------------------------------------------------------------------------------
# The cells


@dataclass(frozen=True)
class Cell:
    info: RouteInfo
    entry: Entry
    role: str
    rel: str

    @property
    def method(self) -> str:
        return _method(self.info)

    @property
    def name(self) -> str:
        label = f" [{self.entry.label}]" if self.entry.label else ""
        return f"{self.method} {self.info.path}{label} as {self.role} on {self.rel}"


def _cells() -> list[Any]:
    params = []
    for info in ROUTES:
        entries = MATRIX.get(info.name)
        if not isinstance(entries, list):
            continue
        for entry in entries:
            for role in ROLES:
                for rel in entry.relations or RELATIONS_OF[entry.kind]:
                    if rel == "own" and role not in OWNABLE[entry.kind]:
                        continue  # no such row in practice (expectations.OWNABLE)
                    cell = Cell(info, entry, role, rel)
                    reason = entry.known.get((role, rel))
                    marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
                    params.append(pytest.param(cell, id=cell.name, marks=marks))
    return params


def expected(cell: Cell) -> int | None:
    """None when the cell is allowed, else the status the refusal answers with."""
    entry, role, rel = cell.entry, cell.role, cell.rel
    if not _rule(cell.info.route).permits_roles({role}):
        return 403  # the route's own role rule
    grants = any(rel in EXPECT[entry.kind][action][role] for action in entry.actions)
    grants = grants and all(rel in EXPECT[kind][action][role] for kind, action in entry.also)
    if grants:
        return None
    if entry.readable_refused is not None and rel in EXPECT[entry.kind].get("read", {}).get(role, frozenset()):
        return entry.readable_refused
    return entry.refused


@dataclass
class Env:
    world: World
    client: TestClient
    connection: sa.Connection


@pytest.fixture(scope="module")
def env(engine: sa.Engine) -> Iterator[Env]:
    from app.accounts.principal_cache import CACHE
    from app.core.cache import clear_all
    from app.core.group_commit import committer_for

    connection = engine.connect()
    outer = connection.begin()
    database = Database(connection, join_transaction_mode="create_savepoint")
    try:
        session = database.new_session(write=True)
        try:
            world = build_world(session)
            session.commit()
        finally:
            session.close()
        app = create_app(get_settings(), database=database)
        _mark_request_validation(app)
        with TestClient(app, base_url="http://testserver", follow_redirects=False, raise_server_exceptions=False) as client:
            yield Env(world, client, connection)
        committer_for(database).stop()
    finally:
        outer.rollback()
        connection.close()
        clear_all()  # row ids are reused after the rollback (SQLite)
        CACHE.clear()


INVALID = "X-Access-Matrix-Invalid-Request"


def _mark_request_validation(app: Any) -> None:
    """Tag answers of FastAPI's own request validation (test instrumentation): a body refused before the
    route ran proves nothing about the row, so such a cell fails whatever its status."""
    original = app.exception_handlers[RequestValidationError]

    def tagged(request: Any, exc: RequestValidationError) -> Any:
        response = original(request, exc)
        response.headers[INVALID] = "1"
        return response

    app.exception_handlers[RequestValidationError] = tagged


def _fill(path: str, params: dict[str, Any]) -> str:
    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        assert name in params, f"{path}: no value for {{{name}}}"
        return str(params[name])

    return _PARAM.sub(one, path)


def request(env: Env, cell: Cell, *, missing: bool = False) -> tuple[Any, tuple[bool, bool] | None]:
    """The cell's request in a SAVEPOINT rolled back afterwards; and, for a body-id entry, whether what it
    writes held before and after it. `missing`: the same request naming a row that does not exist."""
    from app.accounts.principal_cache import CACHE
    from app.core.cache import clear_all

    ctx = Ctx(env.world, cell.role, cell.rel, missing=missing)
    entry, method = cell.entry, cell.method
    path = _fill(cell.info.path, dict(entry.path(ctx)))
    headers: dict[str, str] = {}
    if path.startswith("/api/"):
        headers["Authorization"] = f"Bearer {env.world.bearer[cell.role]}"
    else:
        headers["Cookie"] = f"{SESSION_COOKIE}={env.world.cookies[cell.role]}"
        if method in UNSAFE:
            headers["X-CSRF-Token"] = env.world.csrf[cell.role]
    kwargs: dict[str, Any] = {}
    if entry.form is not None:
        kwargs["data"] = dict(entry.form(ctx))
    if entry.json is not None:
        kwargs["json"] = dict(entry.json(ctx))
    if entry.query is not None:
        kwargs["params"] = dict(entry.query(ctx))
    if entry.files is not None:
        kwargs["files"] = dict(entry.files(ctx))
    nested = env.connection.begin_nested()
    try:
        before = entry.landed(ctx, env.connection) if entry.landed is not None else False
        response = env.client.request(method, path, headers=headers, **kwargs)
        return response, ((before, entry.landed(ctx, env.connection)) if entry.landed is not None else None)
    finally:
        nested.rollback()
        env.client.cookies.clear()
        clear_all()
        CACHE.clear()


def _status(response: Any) -> int:
    got = int(response.status_code)
    if got in (302, 303, 307) and response.headers.get("location", "").startswith(("/login", "/account/password")):
        return 401  # sent to sign in (or to change a password first): the request never reached the route
    return got


@pytest.mark.parametrize("cell", _cells())
def test_access(env: Env, cell: Cell) -> None:
    response, held = request(env, cell)
    want, got = expected(cell), _status(response)
    assert INVALID not in response.headers, f"{cell.name}: the request did not pass validation: {response.text[:300]}"
    detail = f" ({response.text[:300]})" if got >= 500 or got == 422 else ""
    if want == 403 or (want is not None and cell.entry.listed is None and held is None):
        assert got == want, f"{cell.name}: expected {want}, got {got}{detail}"  # the role rule, or a refused load by id
    elif cell.entry.listed is not None:
        _check_list(env, cell, want is None, got, response, detail)
    elif held is not None:
        _check_body(env, cell, want is None, got, held, detail)
    else:
        assert got not in NOT_REACHED and got < 500, f"{cell.name}: expected access (not 401/403/404, < 500), got {got}{detail}"


def _check_list(env: Env, cell: Cell, allowed: bool, got: int, response: Any, detail: str) -> None:
    """A list: the relation's row is in it exactly when allowed."""
    assert got == 200, f"{cell.name}: expected the list (200), got {got}{detail}"
    listed = str(cell.entry.listed(Ctx(env.world, cell.role, cell.rel))) in cell.entry.listed_ids(response.json())  # type: ignore[misc]
    wanted = "listed" if allowed else "not listed"
    assert listed == allowed, f"{cell.name}: expected the row {wanted}, it is {'' if listed else 'not '}listed"


def _check_body(env: Env, cell: Cell, allowed: bool, got: int, held: tuple[bool, bool], detail: str) -> None:
    """An id in the body: allowed, what it writes holds afterwards (it may have held before: enrolling oneself
    again); refused, nothing changed and the answer is the one for an id of no row."""
    landed = held[1] and not held[0]
    if allowed:
        assert held[1] and got < 400, f"{cell.name}: expected the write to land (< 400), got {got}, landed: {landed}{detail}"
        return
    unknown, _held = request(env, cell, missing=True)
    want = _status(unknown)
    assert want < 500, f"{cell.name}: an id of no row answers {want} ({unknown.text[:300]})"
    assert not landed and got == want, f"{cell.name}: expected {want} as for an id of no row, got {got}, landed: {landed}{detail}"
