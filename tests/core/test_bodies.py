"""Request bodies are read within their route's limit, and only once the caller may use the route.

An anonymous 300 MB JSON body used to be read whole, parsed and validated before authentication (422,
the process grew by 1.2 GB and stayed there). These tests drive the app as an ASGI server would, with a
`receive` that counts what the app pulls, so they show what was read, not only what was answered."""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
from typing import Any

from app.core.bodies import DEFAULT_BODY_LIMIT
from app.exams.importers.base import IMPORT_BODY_LIMIT
from tests.helpers import api_token, csrf_from, login

CHUNK = 64 * 1024


class Sender:
    """An ASGI client of one request: `chunks` body chunks of CHUNK bytes (None: endless)."""

    def __init__(self, chunks: int | None) -> None:
        self.chunks = chunks
        self.pulled = 0
        self.status = 0
        self.headers: dict[str, str] = {}
        self.body = b""

    async def receive(self) -> dict[str, Any]:
        if self.chunks is not None and self.pulled >= self.chunks:
            return {"type": "http.disconnect"}
        self.pulled += 1
        more = self.chunks is None or self.pulled < self.chunks
        return {"type": "http.request", "body": b"[" + b"1," * (CHUNK // 2 - 1) + b"1", "more_body": more}

    async def send(self, message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            self.headers = {k.decode(): v.decode() for k, v in message.get("headers", [])}
        elif message["type"] == "http.response.body":
            self.body += message.get("body", b"")


def call(app: Any, method: str, path: str, *, chunks: int | None, headers: dict[str, str] | None = None,
         content_length: int | None = None) -> Sender:
    sender = Sender(chunks)
    raw = [(k.lower().encode(), v.encode()) for k, v in {"content-type": "application/json", **(headers or {})}.items()]
    if content_length is not None:
        raw.append((b"content-length", str(content_length).encode()))
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "", "headers": raw,
             "client": ("127.0.0.1", 5000), "server": ("testserver", 80)}
    # On a thread of its own: the browser tests' Playwright keeps an event loop running on this one.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, app(scope, sender.receive, sender.send)).result()
    return sender


def test_an_anonymous_body_is_never_read(app) -> None:  # type: ignore[no-untyped-def]
    huge = 300 * 1024**2
    sent = call(app, "POST", "/api/v1/question-banks", chunks=huge // CHUNK, content_length=huge)
    assert sent.status == 401 and sent.pulled == 0
    assert json.loads(sent.body)["title"] == "请先登录"
    endless = call(app, "PUT", "/api/v1/attempts/1/answers/1", chunks=None)  # the lean autosave
    assert endless.status == 401 and endless.pulled == 0


def test_a_declared_length_over_the_limit_is_refused_unread(client, app, admin) -> None:  # type: ignore[no-untyped-def]
    headers = api_token(client, "admin1")
    sent = call(app, "POST", "/api/v1/question-banks", chunks=4096, headers=headers, content_length=300 * 1024**2)
    assert sent.status == 413 and sent.pulled == 0
    assert sent.headers["content-type"].startswith("application/problem+json")
    problem = json.loads(sent.body)
    assert problem["title"] == "请求内容过大" and "1.0 MB" in problem["detail"]


def test_a_body_longer_than_it_said_stops_at_the_limit(client, app, admin) -> None:  # type: ignore[no-untyped-def]
    headers = api_token(client, "admin1")
    for path, method in (("/api/v1/question-banks", "POST"), ("/api/v1/attempts/1/answers/1", "PUT")):
        sent = call(app, method, path, chunks=None, headers=headers)  # chunked, endless
        assert sent.status == 413, (path, sent.body)
        assert sent.pulled <= DEFAULT_BODY_LIMIT // CHUNK + 1
        lying = call(app, method, path, chunks=None, headers=headers, content_length=100)
        assert lying.status == 413 and lying.pulled <= DEFAULT_BODY_LIMIT // CHUNK + 1


def test_a_page_form_over_the_limit_gets_a_chinese_page(client, admin) -> None:  # type: ignore[no-untyped-def]
    login(client, "admin1")
    token = csrf_from(client, "/author/question-banks")
    response = client.post("/author/question-banks", data={"csrf_token": token, "name": "题库", "description": "长" * DEFAULT_BODY_LIMIT})
    assert response.status_code == 413 and "请求内容过大" in response.text and "<html" in response.text


def test_imports_and_uploads_declare_larger_limits(client, app, admin) -> None:  # type: ignore[no-untyped-def]
    headers = api_token(client, "admin1")
    bank = client.post("/api/v1/question-banks", headers=headers, json={"name": "导入"}).json()
    body = b"x" * (2 * DEFAULT_BODY_LIMIT)  # past the default, well within an import's limit
    response = client.post(f"/api/v1/question-banks/{bank['id']}/imports", headers=headers, data={"format": "aiken"},
                           files={"file": ("big.txt", body, "text/plain")})
    assert response.status_code == 422, response.text  # read and judged: not an Aiken file
    multipart = {**headers, "content-type": "multipart/form-data; boundary=x"}
    too_big = call(app, "POST", f"/api/v1/question-banks/{bank['id']}/imports", chunks=1, headers=multipart,
                   content_length=IMPORT_BODY_LIMIT + 1)
    assert too_big.status == 413 and too_big.pulled == 0
