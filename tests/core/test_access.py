"""Authorization as data: every route declares a rule, and the rules are enforced as declared."""

from __future__ import annotations

import re

import pytest
from fastapi.routing import APIRoute

from app.accounts.access import AccessRule
from app.core.routing import RouteInfo, TransactionalRoute, api_routes
from app.main import create_app
from tests.helpers import api_token, csrf_from, login

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


def _rule(route: APIRoute) -> AccessRule | None:  # the rule declared on the route itself
    for dep in route.dependant.dependencies:
        if isinstance(dep.call, AccessRule):
            return dep.call
    return None


def _routes() -> list[RouteInfo]:
    return api_routes(create_app())


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)


def test_every_route_declares_access_has_a_name_and_commits_transactionally() -> None:
    problems = []
    infos = _routes()
    assert len(infos) > 10
    for info in infos:
        if info.path in ("/openapi.json",):
            continue
        if _rule(info.route) is None:
            problems.append(f"{info.path} {sorted(info.methods)}: no access rule (use public(), signed_in() or allow(...))")
        if not isinstance(info.route, TransactionalRoute):
            problems.append(f"{info.path}: not a TransactionalRoute (build routers with make_router)")
        if not info.name or info.name == info.route.endpoint.__name__ or ":" not in info.name:
            problems.append(f"{info.path}: route has no explicit 'domain:action' name")
    assert not problems, "\n".join(problems)


def _cases(predicate):  # type: ignore[no-untyped-def]
    cases = []
    for info in _routes():
        rule = _rule(info.route)
        if rule is None or not predicate(rule):
            continue
        for method in sorted(info.methods - {"HEAD", "OPTIONS"}):
            cases.append(pytest.param(method, info.path, id=f"{method} {info.path}"))
    return cases


@pytest.mark.parametrize(("method", "path"), _cases(lambda rule: rule.kind != "public"))
def test_anonymous_is_refused(client, method: str, path: str) -> None:  # type: ignore[no-untyped-def]
    headers = {}
    if method in UNSAFE:
        headers["X-CSRF-Token"] = csrf_from(client)
    response = client.request(method, _concrete(path), headers=headers)
    if path.startswith("/api/"):
        assert response.status_code == 401, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["title"] == "请先登录"
    else:
        assert response.status_code == 303, response.text
        assert response.headers["location"].startswith("/login?next=")


@pytest.mark.parametrize(("method", "path"), _cases(lambda rule: not rule.permits_roles({"trainee"})))
def test_trainee_is_refused(client, trainee, method: str, path: str) -> None:  # type: ignore[no-untyped-def]
    if path.startswith("/api/"):
        headers = api_token(client, "trainee1")
    else:
        login(client, "trainee1")
        headers = {"X-CSRF-Token": csrf_from(client, "/")} if method in UNSAFE else {}
    response = client.request(method, _concrete(path), headers=headers)
    assert response.status_code == 403, response.text
    if path.startswith("/api/"):
        assert response.headers["content-type"].startswith("application/problem+json")
    else:
        assert "您没有执行此操作的权限" in response.text
