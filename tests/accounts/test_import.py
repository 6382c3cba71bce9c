"""Bulk user import from Excel: template, validation, all-or-nothing creation, the job and the API."""

from __future__ import annotations

import base64
import io
import json
import zipfile

import pytest
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient
from openpyxl import Workbook, load_workbook
from sqlmodel import func, select

from app.accounts import importer
from app.accounts.models import AuditLog, Role, User
from app.core.jobs import Job, JobStatus
from tests.factories import make_user
from tests.helpers import api_token, csrf_from, login

XLSX = importer.XLSX_MEDIA_TYPE
HEADERS = ["用户名", "姓名", "单位编码", "层级", "角色", "手机", "邮箱", "工号", "初始密码"]


def soup(response) -> BeautifulSoup:  # type: ignore[no-untyped-def]
    return BeautifulSoup(response.text, "html.parser")


def template(client: TestClient) -> bytes:
    response = client.get("/admin/users/import/template.xlsx")
    assert response.status_code == 200, response.text[:300]
    assert response.headers["content-type"] == XLSX
    assert "attachment" in response.headers["content-disposition"]
    return response.content


def fill(template_bytes: bytes, rows: list[list[object]]) -> bytes:
    """Fill the downloaded template like a person would: data under the header of the first sheet."""
    wb = load_workbook(io.BytesIO(template_bytes))
    ws = wb.worksheets[0]
    for r, row in enumerate(rows, start=2):
        for c, value in enumerate(row, start=1):
            ws.cell(row=r, column=c, value=value)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def workbook(rows: list[list[object]], headers: list[str] | None = HEADERS) -> bytes:
    wb = Workbook()
    ws = wb.active
    if headers is not None:
        ws.append(headers)
    for row in rows:
        ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def upload(client: TestClient, data: bytes, filename: str = "users.xlsx"):  # type: ignore[no-untyped-def]
    token = csrf_from(client, "/admin/users/import")
    return client.post("/admin/users/import", data={"csrf_token": token}, files={"file": (filename, data, XLSX)})


def user_count(session) -> int:  # type: ignore[no-untyped-def]
    session.expire_all()
    return session.exec(select(func.count()).select_from(User)).one()


def error_cells(response) -> list[tuple[int, str, str]]:  # type: ignore[no-untyped-def]
    rows = soup(response).select("#import-error-table tbody tr")
    return [(int(r["data-row"]), *[td.get_text(strip=True) for td in r.find_all("td")[1:]]) for r in rows]


class FakeContext:
    def __init__(self, job_id: int) -> None:
        self.job_id = job_id
        self.attempt = 1
        self.reports: list[tuple[int, str | None]] = []

    def progress(self, percent: int, message: str | None = None) -> None:
        self.reports.append((percent, message))


# ---------------------------------------------------------------------------------------------
# The template


def test_template_has_chinese_headers_and_a_reference_sheet(client, admin, org):
    login(client, "admin1")
    wb = load_workbook(io.BytesIO(template(client)))
    first, second = wb.worksheets[0], wb.worksheets[1]
    assert [c.value for c in first[1]] == HEADERS
    codes = {row[0] for row in second.iter_rows(min_row=2, values_only=True) if row[0]}
    assert codes == {u.code for u in org.values()}
    tiers = [row[3] for row in second.iter_rows(min_row=2, values_only=True) if row[3]]
    assert tiers == ["决策层", "管理层", "执行层"]
    roles = {row[6] for row in second.iter_rows(min_row=2, values_only=True) if row[6]}
    assert roles == {r.value for r in Role}


def test_district_admin_template_lists_only_their_units_and_roles(client, district_admin, org):
    login(client, "dadmin1")
    second = load_workbook(io.BytesIO(template(client))).worksheets[1]
    codes = {row[0] for row in second.iter_rows(min_row=2, values_only=True) if row[0]}
    assert codes == {org["district_a"].code, org["unit_a1"].code}
    roles = {row[6] for row in second.iter_rows(min_row=2, values_only=True) if row[6]}
    assert "admin" not in roles


def test_import_page(client, admin):
    login(client, "admin1")
    page = soup(client.get("/admin/users/import"))
    assert page.select_one("#download-template")["href"] == "/admin/users/import/template.xlsx"
    form = page.select_one("form#import-form")
    assert form["enctype"] == "multipart/form-data" and form.select_one("input[type=file][name=file]") is not None


# ---------------------------------------------------------------------------------------------
# Round trip


def test_template_round_trip_creates_users(client, admin, org, session, app):
    login(client, "admin1")
    data = fill(template(client), [
        ["zhangsan", "张三", org["unit_a1"].code, "决策层", "学员、讲师", 13912345678, "zs@example.cn", "001", None],
        ["lisi", "李四", org["unit_b1"].code, "management", "trainee, examiner", "0519-85681234", None, None, "Given2024pw"],
        ["wangwu", "王五", org["dept"].code, None, None, None, None, None, None],
    ])
    before = user_count(session)
    response = upload(client, data)
    assert response.status_code == 201, response.text[:2000]
    page = soup(response)
    listed = {r["data-username"] for r in page.select("#credential-table tbody tr")}
    assert listed == {"zhangsan", "lisi", "wangwu"}
    assert page.select_one("tr[data-username=lisi] .password") is None  # the given password is not repeated
    generated = page.select_one("tr[data-username=zhangsan] .password").get_text(strip=True)
    # The one-time list as an .xlsx inside the page itself.
    href = page.select_one("#download-credentials")["href"]
    assert href.startswith(f"data:{XLSX};base64,")
    sheet = load_workbook(io.BytesIO(base64.b64decode(href.split(",", 1)[1]))).worksheets[0]
    values = {row[1]: row[4] for row in sheet.iter_rows(min_row=2, values_only=True)}
    assert values["zhangsan"] == generated

    assert user_count(session) == before + 3
    zhang = session.exec(select(User).where(User.username == "zhangsan")).one()
    assert zhang.must_change_password and zhang.tier == "decision" and zhang.roles == {"trainee", "instructor"}
    assert zhang.phone == "13912345678" and zhang.employee_no == "001" and zhang.org_unit_id == org["unit_a1"].id
    wang = session.exec(select(User).where(User.username == "wangwu")).one()
    assert wang.tier == "execution" and wang.roles == {"trainee"}
    entry = session.exec(select(AuditLog).where(AuditLog.action == "user.import")).one()
    assert entry.details["count"] == 3 and entry.actor_id == admin.id
    # Nothing readable is stored: only hashes.
    assert generated not in (zhang.password_hash or "")
    for username, password in (("zhangsan", generated), ("lisi", "Given2024pw")):
        with TestClient(app, follow_redirects=False) as other:
            token = csrf_from(other)
            signed = other.post("/login", data={"username": username, "password": password, "csrf_token": token})
            assert signed.status_code == 303 and signed.headers["location"] == "/account/password"


def test_english_headers_and_codes_are_accepted(client, admin, org, session):
    login(client, "admin1")
    data = workbook([["alpha", "阿尔法", org["unit_a1"].code, "execution", "coordinator", None, None, None, None]],
                    headers=["username", "Name", "Unit code", "tier", "roles", "phone", "email", "employee_no", "password"])
    assert upload(client, data).status_code == 201
    assert session.exec(select(User).where(User.username == "alpha")).one().roles == {"coordinator"}


# ---------------------------------------------------------------------------------------------
# Errors: nothing stored, every row reported


def test_rows_with_errors_store_nothing_and_are_all_reported(client, admin, org, session, trainee):
    login(client, "admin1")
    rows = [
        ["good1", "好人", org["unit_a1"].code, "执行层", "学员", None, None, None, None],  # 2: fine
        ["", "无名", org["unit_a1"].code, None, None, None, None, None, None],  # 3: username missing
        ["nounit", "甲", "no-such-unit", None, None, None, None, None, None],  # 4: unknown unit
        ["badtier", "乙", org["unit_a1"].code, "高层", None, None, None, None, None],  # 5: tier
        ["badrole", "丙", org["unit_a1"].code, None, "学员、厨师", None, None, None, None],  # 6: role
        ["badphone", "丁", org["unit_a1"].code, None, None, "12-ab", "x@", None, None],  # 7: phone and email
        ["weakpw", "戊", org["unit_a1"].code, None, None, None, None, None, "12345678"],  # 8: weak password
        ["GOOD1", "己", org["unit_a1"].code, None, None, None, None, None, None],  # 9: duplicate of row 2
        ["trainee1", "庚", org["unit_a1"].code, None, None, None, None, None, None],  # 10: exists already
        ["noname", None, None, None, None, None, None, None, None],  # 11: name and unit missing
    ]
    before = user_count(session)
    response = upload(client, workbook(rows))
    assert response.status_code == 422
    assert user_count(session) == before
    assert session.exec(select(AuditLog).where(AuditLog.action == "user.import")).first() is None
    cells = error_cells(response)
    by_row: dict[int, set[str]] = {}
    for row, column, _message in cells:
        by_row.setdefault(row, set()).add(column)
    assert by_row == {3: {"用户名"}, 4: {"单位编码"}, 5: {"层级"}, 6: {"角色"}, 7: {"手机", "邮箱"}, 8: {"初始密码"},
                      9: {"用户名"}, 10: {"用户名"}, 11: {"姓名", "单位编码"}}
    duplicate = next(m for r, c, m in cells if r == 9)
    assert "2" in duplicate
    assert all(message for _r, _c, message in cells)
    summary = soup(response).select_one("#import-errors").get_text(" ", strip=True)
    assert "11" in summary and "9" in summary and "10" in summary  # 11 problems in 9 of 10 rows


def test_district_admin_out_of_scope_unit_and_role(client, district_admin, org, session):
    login(client, "dadmin1")
    rows = [
        ["inside", "内", org["unit_a1"].code, None, None, None, None, None, None],
        ["outside", "外", org["unit_b1"].code, None, None, None, None, None, None],
        ["boss", "管", org["unit_a1"].code, None, "管理员", None, None, None, None],
    ]
    before = user_count(session)
    response = upload(client, workbook(rows))
    assert response.status_code == 422
    assert {(r, c) for r, c, _m in error_cells(response)} == {(3, "单位编码"), (4, "角色")}
    assert user_count(session) == before


@pytest.mark.parametrize(("content", "filename"), [
    ("username,name\nzhang,张\n".encode(), "users.xlsx"),  # text renamed .xlsx
    (b"", "users.xlsx"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, "users.xls"),  # old binary Excel
    (None, "report.docx.xlsx"),  # a zip that is no workbook
    (b"PK\x03\x04garbage", "broken.xlsx"),
])
def test_not_an_xlsx_is_a_clear_error(client, admin, session, content, filename):
    if content is None:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as z:
            z.writestr("word/document.xml", "<w/>")
        content = buffer.getvalue()
    login(client, "admin1")
    before = user_count(session)
    response = upload(client, content, filename)
    assert response.status_code == 422
    assert soup(response).select_one("#import-file-error[role=alert]").get_text(strip=True)
    assert user_count(session) == before


@pytest.mark.parametrize("data", [
    workbook([], headers=None),  # empty sheet
    workbook([], headers=HEADERS),  # header but no rows
    workbook([["zhang", "张三", "x"]], headers=["账户", "名字", "部门"]),  # header missing
])
def test_unusable_sheets_are_clear_errors(client, admin, data):
    login(client, "admin1")
    response = upload(client, data)
    assert response.status_code == 422
    assert soup(response).select_one("#import-file-error").get_text(strip=True)


def test_no_file_chosen(client, admin):
    login(client, "admin1")
    token = csrf_from(client, "/admin/users/import")
    response = client.post("/admin/users/import", data={"csrf_token": token})
    assert response.status_code == 422
    assert soup(response).select_one("#import-file-error") is not None


def test_too_large_and_too_many_rows(client, admin, org, monkeypatch):
    login(client, "admin1")
    monkeypatch.setattr(importer, "MAX_BYTES", 1000)
    response = upload(client, b"PK\x03\x04" + b"x" * 2000)
    assert response.status_code == 413
    assert soup(response).select_one("#import-file-error") is not None
    monkeypatch.setattr(importer, "MAX_BYTES", 5 * 2**20)
    monkeypatch.setattr(importer, "MAX_ROWS", 2)
    rows = [[f"u{i}", "某", org["unit_a1"].code] for i in range(3)]
    assert upload(client, workbook(rows, headers=HEADERS[:3])).status_code == 413


def test_zip_bomb_is_refused_before_parsing(client, admin, monkeypatch):
    login(client, "admin1")
    monkeypatch.setattr(importer, "MAX_UNZIPPED_BYTES", 1000)
    assert upload(client, workbook([["a" * 50, "b" * 50, "c" * 50]] * 50)).status_code == 413


def test_blank_rows_are_skipped_and_row_numbers_match_excel(client, admin, org, session):
    login(client, "admin1")
    rows = [["ok1", "甲", org["unit_a1"].code], [None, None, None], ["", "乙", org["unit_a1"].code]]
    response = upload(client, workbook(rows, headers=HEADERS[:3]))
    assert [(r, c) for r, c, _m in error_cells(response)] == [(4, "用户名")]


# ---------------------------------------------------------------------------------------------
# Larger files: the job


@pytest.fixture
def small_sync_limit(monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setattr(importer, "SYNC_MAX_ROWS", 1)


def queue_import(client, org) -> tuple[int, str]:  # type: ignore[no-untyped-def]
    rows = [
        ["job1", "任务一", org["unit_a1"].code, None, None, None, None, None, None],
        ["job2", "任务二", org["unit_b1"].code, None, "讲师", None, None, None, "Given2024pw"],
        ["job3", "任务三", org["dept"].code, None, None, None, None, None, None],
    ]
    response = upload(client, workbook(rows))
    assert response.status_code == 202, response.text[:2000]
    page = soup(response)
    progress = page.select_one("#import-progress")
    assert progress["hx-trigger"] == "every 2s" and progress["hx-swap"] == "outerHTML"
    job_id = int(progress["hx-get"].rsplit("/", 1)[1])
    password = page.select_one("tr[data-username=job1] .password").get_text(strip=True)
    assert page.select_one("#download-credentials")["href"].startswith("data:")
    return job_id, password


def test_large_file_goes_to_a_job_without_plaintext_passwords(client, admin, org, session, small_sync_limit):
    login(client, "admin1")
    before = user_count(session)
    job_id, password = queue_import(client, org)
    assert user_count(session) == before  # nothing created yet
    job = session.get(Job, job_id)
    assert job.kind == importer.JOB_KIND and job.status == JobStatus.queued and job.created_by_id == admin.id
    stored = json.dumps(job.payload)
    assert password not in stored and "Given2024pw" not in stored

    # While queued, the fragment keeps polling.
    fragment = client.get(f"/admin/users/import/jobs/{job_id}", headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and "<html" not in fragment.text
    assert soup(fragment).select_one("#import-progress[hx-get]") is not None

    ctx = FakeContext(job_id)
    result = importer.import_users_job(session, dict(job.payload), ctx)
    session.commit()
    assert result["ok"] and result["created"] == 3
    assert ctx.reports and ctx.reports[-1][0] >= 90
    assert user_count(session) == before + 3
    session.expire_all()
    job = session.get(Job, job_id)
    assert "sealed" not in job.payload and job.payload["done"]
    # The worker would record this; then the fragment stops polling and reports.
    job.status, job.result, job.progress = JobStatus.succeeded.value, result, 100
    session.add(job)
    session.commit()
    done = soup(client.get(f"/admin/users/import/jobs/{job_id}", headers={"HX-Request": "true"}))
    assert done.select_one("#import-progress").get("hx-get") is None
    assert done.select_one("#import-done") is not None
    # A second run (its outcome was lost) does not create anything again.
    assert importer.import_users_job(session, dict(job.payload), FakeContext(job_id))["created"] == 3
    entry = session.exec(select(AuditLog).where(AuditLog.action == "user.import")).one()
    assert entry.details == {"count": 3, "job_id": job_id}
    with TestClient(client.app, follow_redirects=False) as other:
        token = csrf_from(other)
        signed = other.post("/login", data={"username": "job1", "password": password, "csrf_token": token})
        assert signed.status_code == 303


def test_job_revalidates_and_stores_nothing_when_data_changed(client, admin, org, session, small_sync_limit):
    login(client, "admin1")
    job_id, _password = queue_import(client, org)
    make_user(session, unit=org["unit_a1"], username="job2")  # taken while the file waited
    session.commit()
    before = user_count(session)
    job = session.get(Job, job_id)
    result = importer.import_users_job(session, dict(job.payload), FakeContext(job_id))
    session.commit()
    assert not result["ok"] and result["errors"] == [{"row": 3, "column": "用户名", "message": result["errors"][0]["message"]}]
    assert user_count(session) == before
    session.expire_all()
    assert "sealed" not in session.get(Job, job_id).payload
    job = session.get(Job, job_id)
    job.status, job.result = JobStatus.succeeded.value, result
    session.add(job)
    session.commit()
    page = soup(client.get(f"/admin/users/import/jobs/{job_id}"))
    assert page.select_one("#import-refused") is not None and page.select_one("#main") is not None


def test_only_the_importer_sees_the_job(client, admin, org, session, small_sync_limit, app):
    login(client, "admin1")
    job_id, _password = queue_import(client, org)
    make_user(session, Role.admin, unit=org["dept"], username="admin2")
    session.commit()
    with TestClient(app, follow_redirects=False) as other:
        login(other, "admin2")
        assert other.get(f"/admin/users/import/jobs/{job_id}").status_code == 404


def test_sealed_values_detect_tampering():
    token = importer.seal({"2": "Secret123", "3": "密码abc123"})
    assert "Secret123" not in token
    assert importer.unseal(token) == {"2": "Secret123", "3": "密码abc123"}
    raw = bytearray(base64.urlsafe_b64decode(token))
    raw[20] ^= 1
    with pytest.raises(ValueError):
        importer.unseal(base64.urlsafe_b64encode(bytes(raw)).decode())


# ---------------------------------------------------------------------------------------------
# JSON API


def api_upload(client, headers, data: bytes, *, dry_run: bool = False):  # type: ignore[no-untyped-def]
    return client.post("/api/v1/users/import", headers=headers, data={"dry_run": "true" if dry_run else "false"},
                       files={"file": ("users.xlsx", data, XLSX)})


def test_api_dry_run_stores_nothing(client, admin, org, session):
    headers = api_token(client, "admin1")
    rows = [["api1", "接口一", org["unit_a1"].code, "管理层", "学员", None, None, None, None],
            ["api2", "接口二", org["unit_b1"].code, None, None, None, None, None, None]]
    before = user_count(session)
    response = api_upload(client, headers, workbook(rows), dry_run=True)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["created"] == 2 and body["dry_run"] and body["errors"] == []
    assert [u["username"] for u in body["users"]] == ["api1", "api2"]
    assert all(u["password"] is None for u in body["users"])
    assert user_count(session) == before


def test_api_import_creates_and_returns_passwords(client, admin, org, session):
    headers = api_token(client, "admin1")
    rows = [["api1", "接口一", org["unit_a1"].code, "管理层", "学员,考评员", None, None, None, None]]
    response = api_upload(client, headers, workbook(rows))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["created"] == 1 and body["users"][0]["roles"] == ["trainee", "examiner"]
    assert body["users"][0]["password"]
    user = session.exec(select(User).where(User.username == "api1")).one()
    assert user.must_change_password and user.tier == "management"


def test_api_errors_are_problem_json_with_locations(client, admin, org, session):
    headers = api_token(client, "admin1")
    rows = [["api1", "接口一", "nope", None, None, None, None, None, None],
            ["api1", "接口二", org["unit_a1"].code, None, None, None, None, None, None]]
    before = user_count(session)
    response = api_upload(client, headers, workbook(rows))
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert {tuple(e["loc"]) for e in body["errors"]} == {("file", 2, "单位编码"), ("file", 3, "用户名")}
    assert all(e["msg"] for e in body["errors"])
    assert user_count(session) == before


def test_api_not_an_xlsx(client, admin):
    headers = api_token(client, "admin1")
    response = api_upload(client, headers, b"just text")
    assert response.status_code == 422
    assert response.json()["errors"] == [{"loc": ["file"], "msg": response.json()["errors"][0]["msg"]}]


def test_api_large_file_is_queued(client, admin, org, session, small_sync_limit):
    headers = api_token(client, "admin1")
    rows = [[f"q{i}", "排队", org["unit_a1"].code] for i in range(3)]
    response = api_upload(client, headers, workbook(rows, headers=HEADERS[:3]))
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["created"] == 0 and body["queued"] == 3 and body["job_id"]
    assert all(u["password"] for u in body["users"])
    status = client.get(f"/api/v1/users/import/jobs/{body['job_id']}", headers=headers)
    assert status.status_code == 200 and status.json()["status"] == "queued" and not status.json()["finished"]


def test_api_refuses_trainee_and_district_scope(client, trainee, district_admin, org):
    assert client.post("/api/v1/users/import", headers=api_token(client, "trainee1"),
                       files={"file": ("u.xlsx", b"x", XLSX)}).status_code == 403
    rows = [["far", "远", org["unit_b1"].code]]
    response = api_upload(client, api_token(client, "dadmin1"), workbook(rows, headers=HEADERS[:3]))
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["file", 2, "单位编码"]
