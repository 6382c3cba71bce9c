"""The progress report's scope: administrators see everything, district administrators their subtree's
people, instructors only the enrolments of their own courses — in the service, the page, the Excel
export and the API."""

from __future__ import annotations

import io

import pytest
from bs4 import BeautifulSoup
from openpyxl import load_workbook

from app.accounts.models import Role, Tier
from app.core.errors import PermissionDenied
from app.courses import learning, reports
from tests.factories import make_user
from tests.helpers import api_token, login


@pytest.fixture
def two_instructors(session, org, admin, instructor, build_course):  # type: ignore[no-untyped-def]
    """instructor1 owns 会议服务 (2 trainees), instructor2 owns 安保服务 (2 trainees, one shared)."""
    other = make_user(session, Role.instructor, unit=org["dept"], username="instructor2")
    mine, theirs = build_course("会议服务"), build_course("安保服务", owner=other)
    a = make_user(session, Role.trainee, unit=org["unit_a1"], username="ta", tier=Tier.execution)
    b = make_user(session, Role.trainee, unit=org["unit_b1"], username="tb", tier=Tier.management)
    c = make_user(session, Role.trainee, unit=org["unit_b1"], username="tc")
    learning.enrol_many(session, admin, mine.course, [a, b])
    learning.enrol_many(session, admin, theirs.course, [b, c])
    session.commit()
    return {"mine": mine.id, "theirs": theirs.id, "other": other}


def test_service_scopes_instructors_to_their_own_courses(session, org, admin, district_admin, instructor, two_instructors) -> None:
    rows, total = reports.progress_report(session, instructor)
    assert total == 2 and {r.course.id for r in rows} == {two_instructors["mine"]}
    rows, total = reports.progress_report(session, two_instructors["other"])
    assert total == 2 and {r.course.id for r in rows} == {two_instructors["theirs"]}
    # Filtering by the other's course gives nothing, not their rows.
    assert reports.progress_report(session, instructor, reports.ReportFilter(course_id=two_instructors["theirs"]))[1] == 0
    rows, _total = reports.progress_report(session, instructor, reports.ReportFilter(org_unit_id=org["district_b"].id))
    assert [(r.user.username, r.course.id) for r in rows] == [("tb", two_instructors["mine"])]
    assert reports.progress_report(session, admin)[1] == 4
    rows, _total = reports.progress_report(session, district_admin)  # district A's people, whoever's course
    assert [r.user.username for r in rows] == ["ta"]


def test_instructor_who_is_also_district_admin_sees_the_union(session, org, instructor, two_instructors) -> None:
    both = make_user(session, Role.instructor, Role.district_admin, unit=org["district_b"], username="both")
    rows, _total = reports.progress_report(session, both)  # owns nothing; district B's people in any course
    assert sorted((r.user.username, r.course.id) for r in rows) == sorted(
        [("tb", two_instructors["mine"]), ("tb", two_instructors["theirs"]), ("tc", two_instructors["theirs"])])


def test_trainees_and_examiners_are_refused(session, org, trainee) -> None:
    examiner = make_user(session, Role.examiner, unit=org["dept"])
    for user in (trainee, examiner):
        with pytest.raises(PermissionDenied):
            reports.progress_report(session, user)


def test_instructor_page_export_and_api_show_only_their_courses(client, session, instructor, two_instructors) -> None:
    login(client, "instructor1")
    authoring = BeautifulSoup(client.get("/author/courses").text, "html.parser")
    assert authoring.find(id="progress-link")["href"] == "/author/reports/progress"
    editor = BeautifulSoup(client.get(f"/author/courses/{two_instructors['mine']}").text, "html.parser")
    assert editor.find(id="course-progress-link")["href"] == f"/author/reports/progress?course_id={two_instructors['mine']}"

    page = client.get("/author/reports/progress")
    assert page.status_code == 200
    html = BeautifulSoup(page.text, "html.parser")
    rows = html.select("#progress-table tbody tr")
    assert len(rows) == 2 and all("会议服务" in r.get_text() for r in rows)
    assert html.find(id="progress-scope") is not None
    assert [o["value"] for o in html.select("#f-course option") if o["value"]] == [str(two_instructors["mine"])]
    assert html.select("#f-unit option[value]")  # instructors filter by any unit

    other_course = client.get(f"/author/reports/progress?course_id={two_instructors['theirs']}", headers={"HX-Request": "true"})
    assert BeautifulSoup(other_course.text, "html.parser").find(id="no-rows") is not None

    export = client.get("/author/reports/progress.xlsx")
    assert export.status_code == 200
    sheet = load_workbook(io.BytesIO(export.content)).active
    courses = {row[4] for row in sheet.iter_rows(min_row=2, values_only=True)}
    assert courses == {"会议服务"} and sheet.max_row == 3

    client.cookies.clear()  # the API with a bearer token, not the page's session
    body = client.get("/api/v1/progress", headers=api_token(client, "instructor1")).json()
    assert body["total"] == 2 and {item["course"]["id"] for item in body["items"]} == {str(two_instructors["mine"])}
    theirs = client.get("/api/v1/progress", headers=api_token(client, "instructor2")).json()
    assert {item["course"]["id"] for item in theirs["items"]} == {str(two_instructors["theirs"])}


def test_trainee_gets_no_report(client, trainee) -> None:
    login(client, "trainee1")
    assert client.get("/author/reports/progress").status_code == 403
    assert client.get("/author/reports/progress.xlsx").status_code == 403
    client.cookies.clear()
    assert client.get("/api/v1/progress", headers=api_token(client, "trainee1")).status_code == 403
