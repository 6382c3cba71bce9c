"""Administrators' audit log and jobs pages, whole and as htmx fragments."""

from __future__ import annotations

from bs4 import BeautifulSoup

from app.core.jobs import enqueue
from tests.helpers import login


def test_audit_page_lists_and_filters_sign_ins(client, admin, trainee) -> None:  # type: ignore[no-untyped-def]
    login(client, "trainee1")
    client.cookies.clear()
    login(client, "admin1")
    page = client.get("/admin/audit")
    assert page.status_code == 200
    soup = BeautifulSoup(page.text, "html.parser")
    rows = soup.select("#audit-results tbody tr")
    assert any("trainee1" in r.text and "登录" in r.text for r in rows)
    fragment = client.get("/admin/audit", params={"q": "trainee1", "action": "auth.login"}, headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and "<html" not in fragment.text
    assert fragment.headers["vary"] == "HX-Request"
    fragment_rows = BeautifulSoup(fragment.text, "html.parser").select("tbody tr")
    assert fragment_rows and all("trainee1" in r.text for r in fragment_rows)


def test_jobs_page_polls_itself(client, admin, session) -> None:  # type: ignore[no-untyped-def]
    enqueue(session, "accounts.purge_expired")
    session.commit()
    login(client, "admin1")
    fragment = client.get("/admin/jobs", headers={"HX-Request": "true"})
    soup = BeautifulSoup(fragment.text, "html.parser")
    poller = soup.select_one("#jobs")
    assert poller is not None and poller["hx-trigger"] == "every 5s" and poller["hx-swap"] == "outerHTML"
    assert "accounts.purge_expired" in fragment.text


def test_district_admin_cannot_read_the_audit_log(client, district_admin) -> None:  # type: ignore[no-untyped-def]
    login(client, "dadmin1")
    assert client.get("/admin/audit").status_code == 403
