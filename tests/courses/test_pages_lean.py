"""A trainee's home and the lesson player are served by lean routes (core/lean) in front of FastAPI: they
must answer exactly as the declared routes do. The same script runs against the served app and one built
without lean routes, each with its own trainee session, and every answer is compared (status, content
type, redirect, flash cookie, body with the session's CSRF token set aside). What a lean route declines
(another role's home, a query it does not read) must reach the declared route."""

from __future__ import annotations

import re
from typing import Any

import fastapi.routing
import pytest
from fastapi.testclient import TestClient

from app.accounts.models import Role
from app.courses import learning
from tests.factories import make_user
from tests.helpers import csrf_from, login

HX = {"HX-Request": "true"}
_TOKEN = re.compile(r'(name="csrf_token" value="|"X-CSRF-Token": ")[^"]+"')


@pytest.fixture
def courses(session, build_course, admin, trainee, org):  # type: ignore[no-untyped-def]
    twin = make_user(session, Role.trainee, unit=org["unit_a1"], username="trainee1b", display_name=trainee.display_name)
    mine = build_course("会议服务", hours="2.5")
    for who in (trainee, twin):  # one for each app, the same in all they see
        learning.enrol(session, admin, mine.course, who)
    other = build_course("安全保卫")  # not enrolled
    session.commit()
    return mine, other


def _answer(response: Any) -> tuple[Any, ...]:
    body = _TOKEN.sub(r"\1<csrf>", response.text)
    return (response.status_code, response.headers.get("content-type"), response.headers.get("location"),
            "shixun_flash=" in response.headers.get("set-cookie", ""), body)


def _script(client: TestClient, username: str, mine: Any, other: Any) -> list[tuple[Any, ...]]:
    first, second = (m.lesson_id for m in mine.materials[:3:2])  # a lesson of each module's lessons
    lesson = f"/learn/lessons/{first}"
    steps = [client.get("/"), client.get(lesson)]  # not signed in: to the sign-in page
    login(client, username)
    steps += [client.get("/"), client.get(lesson)]  # not started: to the course, with a flash
    steps.append(client.get(f"/learn/courses/{mine.course.id}"))  # shows (and consumes) the flash
    started = client.post(f"/learn/courses/{mine.course.id}/start", data={"csrf_token": csrf_from(client, "/")})
    assert started.status_code == 303
    steps += [
        client.get("/"),
        client.get("/?tab=1"),  # declined: a query the lean home does not read
        client.get(lesson),
        client.get(f"{lesson}?item=1"),
        client.get(f"{lesson}?item=1&page=0"),
        client.get(f"{lesson}?item=1", headers=HX),  # the player fragment
        client.get(f"{lesson}?item=7"),  # beyond the last item: the last one
        client.get(f"{lesson}?item=-1"),  # 422 from the declared route
        client.get(f"{lesson}?item=abc"),
        client.get(f"{lesson}?item=501"),
        client.get(f"{lesson}?item=1&item=0"),
        client.get(f"{lesson}?other=1"),
        client.get(f"/learn/lessons/{second}"),
        client.get(f"/learn/lessons/{other.materials[0].lesson_id}"),  # not enrolled: 404
        client.get("/learn/lessons/999999"),
        client.get("/learn/lessons/abc"),
        client.get("/learn/lessons/9223372036854775808"),  # not an id (2^63): no such lesson
        client.get("/learn/lessons/0"),
    ]
    return [_answer(r) for r in steps]


def test_lean_pages_answer_as_the_declared_routes(client, declared, courses) -> None:  # type: ignore[no-untyped-def]
    mine, other = courses
    lean, reference = _script(client, "trainee1", mine, other), _script(declared, "trainee1b", mine, other)
    assert [a[0] for a in reference] == [303, 303, 200, 303, 200, 200, 200, 200, 200, 200, 200, 200, 422, 422, 422, 200, 200,
                                         200, 404, 404, 404, 404, 404]
    for number, (got, expected) in enumerate(zip(lean, reference, strict=True)):
        assert got == expected, f"step {number}"


@pytest.fixture
def dependency_solving(monkeypatch) -> list[str]:  # type: ignore[no-untyped-def]
    """The paths FastAPI solved dependencies for: a request served lean has none."""
    solved: list[str] = []
    original = fastapi.routing.solve_dependencies

    async def counting(*args: Any, **kwargs: Any) -> Any:
        solved.append(kwargs["request"].url.path)
        return await original(*args, **kwargs)

    monkeypatch.setattr(fastapi.routing, "solve_dependencies", counting)
    return solved


def test_a_trainee_home_is_served_lean_and_another_role_home_is_not(client, courses, dependency_solving) -> None:  # type: ignore[no-untyped-def]
    mine, _other = courses
    login(client, "trainee1")
    dependency_solving.clear()
    assert client.get("/").status_code == 200
    assert client.get(f"/learn/lessons/{mine.materials[0].lesson_id}").status_code == 303  # not started yet
    assert dependency_solving == []
    assert client.get("/?tab=1").status_code == 200
    assert dependency_solving == ["/"]
    client.cookies.clear()
    login(client, "admin1")
    dependency_solving.clear()
    page = client.get("/")
    assert page.status_code == 200 and dependency_solving == ["/"]
