"""Bulk user import from Excel (.xlsx): the template, reading, validation, creation and the job.

No FastAPI here: views and the API hand in the uploaded bytes and render what comes back.

The flow is all or nothing. `read_workbook` turns the first worksheet into rows of text (or raises
`ImportFileError` / `ImportTooLarge` with a message a person can act on); `validate_rows` checks every
row against the database and the actor's scope and returns per-row errors; only a file without a
single error is written, in one transaction, by `create_users` (small files, inside the request) or
by the `accounts.import_users` job (larger files: hashing a password with Argon2 takes 50–200 ms, and
on SQLite a request that writes holds the database's write lock for its whole duration).

One-time passwords. Plaintext passwords never reach the database. For a small file the passwords are
generated in the request and shown once on the result page, which also carries the list as an .xlsx
inside a `data:` link, built in memory for that response only. For a file handled by the job the
passwords are also generated in the request and shown at once, while the job payload carries them
*sealed* (encrypted and authenticated with a key derived from SHIXUN_SECRET_KEY, see `seal`), so that a
copy of the database or of a backup does not reveal them; the job hashes them and then drops the
sealed blob from its payload in the same transaction that creates the users.
"""

from __future__ import annotations

import io
import logging
import re
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

import sqlalchemy as sa
from openpyxl import load_workbook
from pydantic import ValidationError
from sqlmodel import Session, col

from app.accounts import permissions, service
from app.accounts.models import Role, Tier, User
from app.accounts.schemas import UserCreate
from app.accounts.scope import CHANGE, READ, related
from app.core import security
from app.core.errors import DomainError, NotFound, PermissionDenied, ValidationFailed
from app.core.i18n import gettext as _
from app.core.jobs import Job, JobContext, JobStatus, PermanentJobError, enqueue, job_handler
from app.core.security import generate_password, hash_password

log = logging.getLogger("shixun.accounts.import")

JOB_KIND = "accounts.import_users"
MAX_BYTES = 5 * 1024 * 1024
# What an import request may send (core/routing.body_limit): the file and the multipart around it.
BODY_LIMIT = MAX_BYTES + 64 * 1024
MAX_ROWS = 5000
# Files with more rows than this are created by the job worker. Hashing costs 50 ms (fast server) to
# 220 ms (a small VM) per password; 20 rows keep the request, and SQLite's write lock, to a few seconds.
SYNC_MAX_ROWS = 20
# A 5 MB .xlsx could unpack to gigabytes of XML (a "zip bomb"): refuse before parsing.
MAX_UNZIPPED_BYTES = 80 * 1024 * 1024
HEADER_SEARCH_ROWS = 5
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

USERNAME_RE = re.compile(r"^[A-Za-z0-9_.\-]{2,64}$")
PHONE_RE = re.compile(r"^\+?[0-9][0-9 \-]{5,28}[0-9]$")
EMAIL_RE = re.compile(r"^[^@\s,;<>\"']+@[^@\s,;<>\"']+\.[A-Za-z]{2,}$")
ROLE_SPLIT_RE = re.compile(r"[,，、;；/\s]+")


# ---------------------------------------------------------------------------------------------
# The file format. Headers, tier and role labels are part of the format (a filled-in file must be
# read the same whatever the language of the page), so they are fixed Chinese, not translated.


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    required: bool
    width: int
    aliases: tuple[str, ...] = ()


COLUMNS: tuple[Column, ...] = (
    Column("username", "用户名", True, 16, ("username", "user name", "login", "账号", "登录名")),
    Column("display_name", "姓名", True, 12, ("name", "display_name", "display name", "full name")),
    Column("unit_code", "单位编码", True, 16, ("unit_code", "unit code", "unit", "单位代码")),
    Column("tier", "层级", False, 10, ("tier",)),
    Column("roles", "角色", False, 20, ("roles", "role")),
    Column("phone", "手机", False, 16, ("phone", "mobile", "手机号", "手机号码", "电话")),
    Column("email", "邮箱", False, 26, ("email", "e-mail", "电子邮箱")),
    Column("employee_no", "工号", False, 12, ("employee_no", "employee no", "employee no.", "staff no")),
    Column("password", "初始密码", False, 16, ("password", "initial password", "密码")),
)
COLUMN_BY_KEY = {c.key: c for c in COLUMNS}

TIER_ZH = {Tier.decision: "决策层", Tier.management: "管理层", Tier.execution: "执行层"}
ROLE_ZH = {Role.trainee: "学员", Role.instructor: "讲师", Role.examiner: "考评员", Role.coordinator: "接待协调员",
           Role.district_admin: "区管理员", Role.admin: "管理员"}
TIER_VALUES: dict[str, Tier] = {**{v: k for k, v in TIER_ZH.items()}, **{t.value: t for t in Tier}}
ROLE_VALUES: dict[str, Role] = {**{v: k for k, v in ROLE_ZH.items()}, **{r.value: r for r in Role},
                                "协调员": Role.coordinator, "系统管理员": Role.admin, "district admin": Role.district_admin}


def _norm_header(text: str) -> str:
    return re.sub(r"[\s*＊:：]", "", text).lower()


_HEADER_LOOKUP = {_norm_header(alias): c.key for c in COLUMNS for alias in (c.header, *c.aliases)}


# ---------------------------------------------------------------------------------------------
# Errors and results


class ImportFileError(ValidationFailed):
    """The file as a whole cannot be used (not an .xlsx, no header, no rows...)."""


class ImportTooLarge(DomainError):
    status_code = 413
    code = "too-large"
    title = "The upload is too large"


@dataclass(frozen=True)
class RowError:
    row: int  # the row number Excel shows
    column: str  # the column's header as written in the file
    message: str

    def as_problem(self) -> dict[str, Any]:
        return {"loc": ["file", self.row, self.column], "msg": self.message}

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "message": self.message}


@dataclass
class Sheet:
    """The first worksheet as text: `rows` are (row number, {column key: value}), blank rows skipped."""

    rows: list[tuple[int, dict[str, str]]]
    headers: dict[str, str]  # column key -> header text found in the file

    def header(self, key: str) -> str:
        return self.headers.get(key, COLUMN_BY_KEY[key].header)


@dataclass
class ImportRow:
    row: int
    username: str
    display_name: str
    unit_code: str
    unit_name: str
    data: UserCreate  # what service.create_user receives (without the password)
    password: str | None  # given in the file

    @property
    def roles(self) -> list[str]:
        return [Role(r).value for r in self.data.roles]


@dataclass
class Validated:
    rows: list[ImportRow]
    errors: list[RowError]
    total: int

    @property
    def ok(self) -> bool:
        return not self.errors and bool(self.rows)


@dataclass
class Credential:
    """One created (or about to be created) account for the one-time list."""

    row: int
    username: str
    display_name: str
    unit_name: str
    password: str | None  # None: the password given in the file (not repeated)

    @property
    def generated(self) -> bool:
        return self.password is not None


# ---------------------------------------------------------------------------------------------
# Reading


def _text(value: Any) -> str:
    """A cell as the text a person typed: phone numbers typed as numbers lose no digits."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return str(value).replace("\u00a0", " ").replace("\u3000", " ").strip()


def _not_xlsx() -> ImportFileError:
    return ImportFileError(_("This is not an Excel workbook (.xlsx). Download the template, fill it in, "
                             "and upload it as an .xlsx file."), errors=[{"loc": ["file"], "msg": _("not an .xlsx file")}])


def read_workbook(data: bytes) -> Sheet:
    if not data:
        raise ImportFileError(_("The uploaded file is empty."), errors=[{"loc": ["file"], "msg": _("empty file")}])
    if len(data) > MAX_BYTES:
        raise ImportTooLarge(_("The file is larger than %(mb)s MB. Split it into several files.", mb=MAX_BYTES // 2**20),
                             errors=[{"loc": ["file"], "msg": _("too large")}])
    if data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        # OLE2: an old .xls workbook, or an .xlsx protected with a password.
        raise ImportFileError(_("This is an old-style .xls workbook or a password-protected file. Open it in Excel, "
                                "remove any password and save it as \"Excel Workbook (*.xlsx)\"."),
                              errors=[{"loc": ["file"], "msg": _("not an .xlsx file")}])
    if not data.startswith(b"PK\x03\x04"):
        raise _not_xlsx()
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
            names = {i.filename for i in infos}
    except (zipfile.BadZipFile, ValueError, OSError):
        raise _not_xlsx() from None
    if "xl/workbook.xml" not in names:
        raise _not_xlsx()  # a .docx or any other zip renamed to .xlsx
    if len(infos) > 2000 or sum(i.file_size for i in infos) > MAX_UNZIPPED_BYTES:
        raise ImportTooLarge(_("The workbook is too large once unpacked. Keep only the user list in it."),
                             errors=[{"loc": ["file"], "msg": _("too large")}])
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds of errors on damaged files
        log.info("unreadable workbook: %s: %s", type(exc).__name__, exc)
        raise ImportFileError(_("The workbook could not be read; it may be damaged. Save it again in Excel as .xlsx."),
                              errors=[{"loc": ["file"], "msg": _("unreadable workbook")}]) from None
    try:
        return _read_sheet(workbook)
    except DomainError:
        raise
    except Exception as exc:
        log.info("unreadable worksheet: %s: %s", type(exc).__name__, exc)
        raise ImportFileError(_("The workbook could not be read; it may be damaged. Save it again in Excel as .xlsx."),
                              errors=[{"loc": ["file"], "msg": _("unreadable workbook")}]) from None
    finally:
        workbook.close()


def _read_sheet(workbook: Any) -> Sheet:
    if not workbook.worksheets:
        raise ImportFileError(_("The workbook has no worksheet."), errors=[{"loc": ["file"], "msg": _("empty workbook")}])
    sheet = workbook.worksheets[0]
    positions: dict[str, int] = {}
    headers: dict[str, str] = {}
    rows: list[tuple[int, dict[str, str]]] = []
    header_row = 0
    for number, values in enumerate(sheet.iter_rows(min_row=1, values_only=True), start=1):
        texts = [_text(v) for v in values]
        if not header_row:
            if not any(texts):
                if number >= HEADER_SEARCH_ROWS:
                    break
                continue
            header_row = number
            for index, text in enumerate(texts):
                key = _HEADER_LOOKUP.get(_norm_header(text)) if text else None
                if key is None:
                    continue
                if key in positions:
                    raise ImportFileError(_("The column %(column)s appears twice in the header row.", column=text),
                                          errors=[{"loc": ["file", number, text], "msg": _("duplicate column")}])
                positions[key] = index
                headers[key] = text
            missing = [c.header for c in COLUMNS if c.required and c.key not in positions]
            if missing:
                raise ImportFileError(
                    _("The first row of the first worksheet must be the header row of the template. Missing columns: "
                      "%(columns)s.", columns="、".join(missing)),
                    errors=[{"loc": ["file", number, m], "msg": _("missing column")} for m in missing])
            continue
        record = {key: (texts[i] if i < len(texts) else "") for key, i in positions.items()}
        if not any(record.values()):
            continue
        rows.append((number, record))
        if len(rows) > MAX_ROWS:
            raise ImportTooLarge(_("The file has more than %(n)s users. Split it into several files.", n=MAX_ROWS),
                                 errors=[{"loc": ["file"], "msg": _("too many rows")}])
    if not header_row:
        raise ImportFileError(_("The first worksheet is empty. Fill in the template and upload it again."),
                              errors=[{"loc": ["file"], "msg": _("empty worksheet")}])
    if not rows:
        raise ImportFileError(_("The worksheet has a header row but no users below it."),
                              errors=[{"loc": ["file"], "msg": _("no rows")}])
    return Sheet(rows=rows, headers=headers)


# ---------------------------------------------------------------------------------------------
# Validation


def check_phone(value: str) -> str | None:
    """An error message, or None when the value is a plausible phone number (mobile or landline)."""
    digits = sum(ch.isdigit() for ch in value)
    if len(value) > 32 or not PHONE_RE.match(value) or not 7 <= digits <= 20:
        return _("Not a valid phone number: use digits only, for example 13912345678 or 0519-85681234.")
    return None


def check_email(value: str) -> str | None:
    if len(value) > 200 or not EMAIL_RE.match(value):
        return _("Not a valid email address.")
    return None


def parse_tier(value: str) -> Tier | None:
    return TIER_VALUES.get(value.strip().lower()) if value.strip() else Tier.execution


def parse_roles(value: str) -> tuple[list[Role], list[str]]:
    """(roles, unknown words). Blank means trainee."""
    words = [w for w in ROLE_SPLIT_RE.split(value.strip()) if w]
    if not words:
        return [Role.trainee], []
    roles: list[Role] = []
    unknown: list[str] = []
    for word in words:
        role = ROLE_VALUES.get(word.lower())
        if role is None:
            unknown.append(word)
        elif role not in roles:
            roles.append(role)
    return roles, unknown


def validate_rows(session: Session, actor: User, sheet: Sheet) -> Validated:
    """Every problem of every row, so that a person fixes the file once. Nothing is written."""
    if not permissions.manages_units(actor):
        raise PermissionDenied()
    units = service.org_units_by_codes(session, (r.get("unit_code", "") for _n, r in sheet.rows))
    in_scope = permissions.ORG_UNIT.allowed_ids(session, actor, [u.id or 0 for u in units.values()], CHANGE)
    taken = service.existing_usernames(session, (r.get("username", "") for _n, r in sheet.rows))
    assignable = permissions.assignable_roles(actor)
    first_seen: dict[str, int] = {}
    errors: list[RowError] = []
    rows: list[ImportRow] = []
    for number, record in sheet.rows:
        row_errors: list[RowError] = []

        def fail(key: str, message: str, number: int = number, row_errors: list[RowError] = row_errors) -> None:
            row_errors.append(RowError(number, sheet.header(key), message))

        username = record.get("username", "")
        if not username:
            fail("username", _("Required."))
        elif not USERNAME_RE.match(username):
            fail("username", _("2 to 64 characters: letters, digits, '.', '_' or '-' only."))
        else:
            lowered = username.lower()
            if lowered in first_seen:
                fail("username", _("The username %(username)s also appears in row %(row)s.", username=username,
                                   row=first_seen[lowered]))
            else:
                first_seen[lowered] = number
            if lowered in taken:
                fail("username", _("The username %(username)s is already taken.", username=username))

        display_name = record.get("display_name", "")
        if not display_name:
            fail("display_name", _("Required."))
        elif len(display_name) > 100:
            fail("display_name", _("At most %(n)s characters.", n=100))

        code = record.get("unit_code", "")
        unit = units.get(code) if code else None
        if not code:
            fail("unit_code", _("Required."))
        elif unit is None or unit.id not in in_scope:
            fail("unit_code", _("Unknown unit code, or a unit outside your scope: %(code)s. See the second worksheet "
                                "of the template for the codes you may use.", code=code))
        elif not unit.is_active:
            fail("unit_code", _("The unit %(code)s has been deactivated.", code=code))

        tier = parse_tier(record.get("tier", ""))
        if tier is None:
            fail("tier", _("Unknown tier %(value)s: use 决策层, 管理层 or 执行层.", value=record.get("tier", "")))

        roles, unknown = parse_roles(record.get("roles", ""))
        for word in unknown:
            fail("roles", _("Unknown role: %(value)s.", value=word))
        for role in roles:
            if role.value not in assignable:
                fail("roles", _("You may not assign the role %(role)s.", role=ROLE_ZH[role]))

        phone = record.get("phone", "")
        if phone and (message := check_phone(phone)):
            fail("phone", message)
        email = record.get("email", "")
        if email and (message := check_email(email)):
            fail("email", message)
        employee_no = record.get("employee_no", "")
        if len(employee_no) > 64:
            fail("employee_no", _("At most %(n)s characters.", n=64))

        password = record.get("password", "") or None
        if password is not None:
            if len(password) > 128:
                fail("password", _("At most %(n)s characters.", n=128))
            else:
                try:
                    service.validate_password(password, username=username or None)
                except ValidationFailed as exc:
                    fail("password", exc.translated_detail())

        if row_errors or unit is None or tier is None:
            errors.extend(row_errors)
            continue
        try:
            data = UserCreate(username=username, display_name=display_name, org_unit_id=unit.id or 0, tier=tier,
                              roles=roles, phone=phone or None, email=email or None, employee_no=employee_no or None)
        except ValidationError as exc:  # a rule above and the schema disagree: still a row error, never a 500
            for err in exc.errors():
                key = str(err["loc"][0]) if err["loc"] else "username"
                fail(key if key in COLUMN_BY_KEY else "username", str(err.get("msg", "")))
            errors.extend(row_errors)
            continue
        rows.append(ImportRow(row=number, username=username, display_name=display_name, unit_code=code,
                              unit_name=unit.name, data=data, password=password))
    return Validated(rows=rows, errors=errors, total=len(sheet.rows))


# ---------------------------------------------------------------------------------------------
# Creation


def assign_passwords(rows: Iterable[ImportRow]) -> tuple[dict[int, str], list[Credential]]:
    """The password of every row (given, or generated now) and the one-time list to show."""
    passwords: dict[int, str] = {}
    credentials: list[Credential] = []
    for row in rows:
        generated = None if row.password else generate_password()
        passwords[row.row] = row.password or generated or ""
        credentials.append(Credential(row=row.row, username=row.username, display_name=row.display_name,
                                      unit_name=row.unit_name, password=generated))
    return passwords, credentials


def create_users(session: Session, actor: User, rows: list[ImportRow], hashes: dict[int, str], *,
                 job_id: int | None = None) -> list[User]:
    """All rows or none: a row the service refuses (say a username taken a moment ago) undoes the others."""
    created: list[User] = []
    try:
        with session.begin_nested():
            for row in rows:
                try:
                    created.append(service.create_user(session, actor, row.data, must_change_password=True,
                                                       password_hash=hashes[row.row]))
                except DomainError as exc:
                    raise ValidationFailed(
                        _("Row %(row)s could not be created: %(reason)s Nothing was imported.", row=row.row,
                          reason=exc.translated_detail()),
                        errors=[{"loc": ["file", row.row, COLUMN_BY_KEY["username"].header],
                                 "msg": exc.translated_detail()}]) from exc
    except sa.exc.IntegrityError as exc:
        raise ValidationFailed(_("The users could not be created because the data changed meanwhile. Nothing was "
                                 "imported; please upload the file again.")) from exc
    details: dict[str, Any] = {"count": len(created)}
    if job_id is not None:
        details["job_id"] = job_id
    service.audit(session, "user.import", actor=actor, target_type="user", details=details)
    return created


def import_now(session: Session, actor: User, validated: Validated) -> list[Credential]:
    """Create the users of a valid file inside the caller's transaction; the one-time list comes back."""
    if validated.errors or not validated.rows:
        raise ValidationFailed(_("The file has errors; nothing was imported."))
    passwords, credentials = assign_passwords(validated.rows)
    hashes = {row: hash_password(pw) for row, pw in passwords.items()}
    create_users(session, actor, validated.rows, hashes)
    return credentials


def enqueue_import(session: Session, actor: User, validated: Validated, *, filename: str | None = None
                   ) -> tuple[Job, list[Credential]]:
    """Queue the creation of a valid file's users; the passwords are generated now and travel sealed."""
    if validated.errors or not validated.rows:
        raise ValidationFailed(_("The file has errors; nothing was imported."))
    passwords, credentials = assign_passwords(validated.rows)
    rows = [{"row": r.row, "username": r.username, "display_name": r.display_name, "unit_code": r.unit_code,
             "tier": r.data.tier.value, "roles": ",".join(r.roles), "phone": r.data.phone or "",
             "email": r.data.email or "", "employee_no": r.data.employee_no or ""} for r in validated.rows]
    payload = {"actor_id": actor.id, "filename": (filename or "")[:200], "count": len(rows), "rows": rows,
               "sealed": seal({str(k): v for k, v in passwords.items()})}
    job = enqueue(session, JOB_KIND, payload, created_by_id=actor.id)
    return job, credentials


@job_handler(JOB_KIND, max_attempts=3)
def import_users_job(session: Session, payload: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
    """Hash first (before touching the database: on SQLite an open write transaction blocks every other
    writer), then re-validate the rows against the database as it is now and create them all, or none."""
    if payload.get("done"):
        # An earlier attempt committed its users but its outcome was not recorded: report that outcome.
        return {"ok": True, "created": payload.get("count", 0), "usernames": payload.get("usernames", [])}
    try:
        passwords = {int(k): v for k, v in unseal(payload["sealed"]).items()}
    except (KeyError, ValueError) as exc:
        raise PermanentJobError("the sealed passwords of this import cannot be opened (was the secret key changed?)") from exc
    total = len(passwords)
    hashes: dict[int, str] = {}
    for i, (row, password) in enumerate(sorted(passwords.items()), start=1):
        hashes[row] = hash_password(password)
        if i % 10 == 0 or i == total:
            ctx.progress(int(90 * i / max(total, 1)), _("Preparing passwords: %(i)s of %(n)s", i=i, n=total))

    actor = related(session, User, int(payload.get("actor_id") or 0))  # who asked; their scope is applied again below
    if actor is None or not actor.is_active or not permissions.manages_units(actor):
        return _refused(session, ctx, payload, [RowError(0, "", _("The account that started this import may no longer "
                                                                 "manage users."))])
    raw = [(int(r["row"]), {**{k: str(v) for k, v in r.items() if k != "row"},
                            "password": passwords.get(int(r["row"]), "")}) for r in payload.get("rows", [])]
    validated = validate_rows(session, actor, Sheet(rows=raw, headers={}))
    if validated.errors:
        return _refused(session, ctx, payload, validated.errors)
    ctx.progress(92, _("Creating %(n)s users", n=len(validated.rows)))
    try:
        created = create_users(session, actor, validated.rows, hashes, job_id=ctx.job_id)
    except ValidationFailed as exc:
        return _refused(session, ctx, payload, [RowError(int(e["loc"][1]), str(e["loc"][2]), str(e["msg"]))
                                                for e in exc.errors if len(e.get("loc", [])) == 3]
                        or [RowError(0, "", exc.translated_detail())])
    usernames = [u.username for u in created]
    _forget_passwords(session, ctx, {"actor_id": actor.id, "filename": payload.get("filename", ""),
                                     "count": len(created), "done": True, "usernames": usernames})
    return {"ok": True, "created": len(created), "usernames": usernames}


def _refused(session: Session, ctx: JobContext, payload: dict[str, Any], errors: list[RowError]) -> dict[str, Any]:
    """The file became invalid while it waited (say a username was taken meanwhile): nothing is stored."""
    _forget_passwords(session, ctx, {"actor_id": payload.get("actor_id"), "filename": payload.get("filename", ""),
                                     "count": payload.get("count", 0), "refused": True})
    return {"ok": False, "created": 0, "errors": [e.as_dict() for e in errors[:500]], "error_count": len(errors)}


def _forget_passwords(session: Session, ctx: JobContext, payload: dict[str, Any]) -> None:
    session.execute(sa.update(Job).where(col(Job.id) == ctx.job_id).values(payload=payload)
                    .execution_options(synchronize_session=False))


def get_import_job(session: Session, actor: User, job_id: int) -> Job:
    """An import job of this actor's; anybody else's is NotFound (it names the users being created)."""
    job = permissions.JOB.find(session, actor, job_id, READ)
    if job is None or job.kind != JOB_KIND:
        raise NotFound(_("No such import."))
    return job


@dataclass
class JobView:
    job: Job
    finished: bool
    ok: bool
    created: int
    errors: list[RowError] = field(default_factory=list)
    error_count: int = 0


def describe_job(job: Job) -> JobView:
    result = job.result or {}
    errors = [RowError(int(e.get("row", 0)), str(e.get("column", "")), str(e.get("message", "")))
              for e in result.get("errors", [])]
    return JobView(job=job, finished=job.status in (JobStatus.succeeded, JobStatus.failed, JobStatus.cancelled),
                   ok=job.status == JobStatus.succeeded and bool(result.get("ok")), created=int(result.get("created", 0)),
                   errors=errors, error_count=int(result.get("error_count", len(errors))))


def seal(value: dict[str, Any]) -> str:
    return security.seal("accounts.import", value)


def unseal(token: str) -> dict[str, Any]:
    value = security.unseal("accounts.import", token)
    if not isinstance(value, dict):
        raise ValueError("not a sealed value")
    return value
