"""`Router` turns a request away by the static start of its routes' paths: answers must not change."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.routing import Match

from app.core.routing import make_router


def _app() -> FastAPI:
    first = make_router(prefix="/api/v1")

    @first.get("/things/{thing_id}")
    def thing(thing_id: int) -> dict[str, int]:
        return {"thing": thing_id}

    @first.post("/things")
    def make_thing() -> dict[str, str]:
        return {"made": "yes"}

    second = make_router()

    @second.get("/pages/")
    def pages() -> dict[str, str]:
        return {"page": "list"}

    @second.get("/")
    def home() -> dict[str, str]:
        return {"page": "home"}

    app = FastAPI()
    app.include_router(first)
    app.include_router(second)
    return app


def test_answers_are_those_of_fastapi() -> None:
    client = TestClient(_app(), follow_redirects=False)
    assert client.get("/api/v1/things/7").json() == {"thing": 7}
    assert client.get("/api/v1/things").status_code == 405  # the POST route's path: method not allowed
    assert client.get("/api/v1/things/x").status_code == 422
    assert client.get("/api/v1/other").status_code == 404
    assert client.get("/pages/").json() == {"page": "list"}
    redirect = client.get("/pages")
    assert redirect.status_code == 307 and redirect.headers["location"].endswith("/pages/")
    assert client.get("/").json() == {"page": "home"}


def test_a_router_with_no_route_for_the_path_says_so_without_trying_its_routes() -> None:
    router = make_router(prefix="/api/v1")

    @router.get("/things/{thing_id}")
    def thing(thing_id: int) -> dict[str, int]:
        return {"thing": thing_id}

    def explode(*_args: object) -> None:
        raise AssertionError("the routes were tried")

    router.routes[0].matches = explode  # type: ignore[method-assign,assignment]
    assert router.matches({"type": "http", "path": "/learn/lessons/1", "root_path": ""}) == (Match.NONE, {})
