"""Cheap guards: templates compile, mappers configure, health endpoints answer, hot pages stay lean."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.orm import configure_mappers

from app import PROJECT_ROOT
from app.core.jobs import WorkerHeartbeat
from app.core.models import utcnow
from app.core.templating import env
from tests.helpers import login


def test_every_template_compiles() -> None:
    names = [p.relative_to(PROJECT_ROOT / "templates").as_posix() for p in (PROJECT_ROOT / "templates").rglob("*.html")]
    assert names
    for name in names:
        env.get_template(name)


def test_mappers_configure() -> None:
    import app.all_models  # noqa: F401

    configure_mappers()


def test_healthz(client) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_readyz_wants_a_live_worker(client, session) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["migrations"] == "ok"
    assert response.json()["checks"]["database"] == "ok"
    session.add(WorkerHeartbeat(id="test:1", hostname="test", pid=1, last_seen_at=utcnow()))
    session.commit()
    assert client.get("/readyz").status_code == 200
    beat = session.get(WorkerHeartbeat, "test:1")
    beat.last_seen_at = utcnow() - timedelta(minutes=10)
    session.add(beat)
    session.commit()
    assert client.get("/readyz").status_code == 503


def test_openapi_is_served_and_documents_the_core(client) -> None:  # type: ignore[no-untyped-def]
    spec = client.get("/openapi.json").json()
    assert "/api/v1/auth/token" in spec["paths"] and "/api/v1/me" in spec["paths"]
    docs = client.get("/api/docs")
    assert docs.status_code == 200 and "cdn" not in docs.text.lower() and "/static/vendor/swagger-ui/" in docs.text


def test_pages_load_nothing_from_outside(client, admin) -> None:  # type: ignore[no-untyped-def]
    import re

    login(client, "admin1")
    for path in ("/", "/login", "/admin/audit", "/account/sessions"):
        html = client.get(path, follow_redirects=True).text
        for url in re.findall(r'(?:src|href)="([^"]+)"', html):
            assert not re.match(r"^(https?:)?//", url), f"{path} loads {url}"


def test_home_page_query_count(client, admin, engine, database) -> None:  # type: ignore[no-untyped-def]
    login(client, "admin1")
    client.get("/")
    statements: list[str] = []

    def count(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
        statements.append(statement)

    bind = database.bind
    sa.event.listen(bind, "before_cursor_execute", count)
    try:
        assert client.get("/").status_code == 200
    finally:
        sa.event.remove(bind, "before_cursor_execute", count)
    assert len(statements) <= 15, "\n".join(statements)


def test_security_headers(client) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/login")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "default-src 'self'" in response.headers["content-security-policy"]
    assert response.headers["x-request-id"]
    assert response.headers["vary"] == "HX-Request"
