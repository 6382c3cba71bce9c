"""The request commits before the response is sent; an error never returns success or leaves writes."""

from __future__ import annotations

from fastapi import Response
from fastapi.testclient import TestClient
from sqlmodel import select

from app.accounts.access import public
from app.accounts.models import AuditLog, OrgUnit
from app.core.errors import Conflict
from app.core.routing import DbSession, make_router


def _app_with_probe_routes(app):  # type: ignore[no-untyped-def]
    router = make_router()

    @router.post("/api/_probe/ok", dependencies=[public()])
    def ok(db: DbSession) -> dict[str, str]:
        db.add(AuditLog(action="probe.ok"))
        db.flush()
        return {"status": "ok"}

    @router.post("/api/_probe/domain-error", dependencies=[public()])
    def domain_error(db: DbSession) -> None:
        db.add(AuditLog(action="probe.domain_error"))
        db.flush()
        raise Conflict("no")

    @router.post("/api/_probe/error-response", dependencies=[public()])
    def error_response(db: DbSession) -> Response:
        db.add(AuditLog(action="probe.error_response"))
        db.flush()
        return Response("bad", status_code=422)

    @router.post("/api/_probe/commit-fails", dependencies=[public()])
    def commit_fails(db: DbSession) -> dict[str, str]:
        # Two units with one code: nothing fails until the commit flushes them.
        db.add(OrgUnit(code="dup", name="a", kind="unit"))
        db.add(OrgUnit(code="dup", name="b", kind="unit"))
        return {"status": "looks fine"}

    app.include_router(router)
    return app


def _actions(session) -> list[str]:  # type: ignore[no-untyped-def]
    session.expire_all()
    return [a.action for a in session.exec(select(AuditLog)).all()]


def test_success_is_committed(app, session) -> None:  # type: ignore[no-untyped-def]
    client = TestClient(_app_with_probe_routes(app))
    assert client.post("/api/_probe/ok", headers={"Authorization": "Bearer x"}).status_code == 200
    assert "probe.ok" in _actions(session)


def test_domain_error_rolls_back(app, session) -> None:  # type: ignore[no-untyped-def]
    client = TestClient(_app_with_probe_routes(app))
    response = client.post("/api/_probe/domain-error", headers={"Authorization": "Bearer x"})
    assert response.status_code == 409
    assert "probe.domain_error" not in _actions(session)


def test_error_response_rolls_back(app, session) -> None:  # type: ignore[no-untyped-def]
    client = TestClient(_app_with_probe_routes(app))
    assert client.post("/api/_probe/error-response", headers={"Authorization": "Bearer x"}).status_code == 422
    assert "probe.error_response" not in _actions(session)


def test_failed_commit_never_returns_success(app, session) -> None:  # type: ignore[no-untyped-def]
    client = TestClient(_app_with_probe_routes(app), raise_server_exceptions=False)
    response = client.post("/api/_probe/commit-fails", headers={"Authorization": "Bearer x"})
    assert response.status_code == 500
    assert response.headers["content-type"].startswith("application/json") or "出错了" in response.text
    session.expire_all()
    assert session.exec(select(OrgUnit).where(OrgUnit.code == "dup")).all() == []
