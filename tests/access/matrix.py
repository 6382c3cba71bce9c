"""The access matrix: one entry per route of the app, by route name (MATRIX, with BODY_IDS merged in).

Three kinds of `Entry`, each saying which kind of row (EXPECT's kinds) and which action:

- ids in the path (`{paper_id}`, `{bank_id}` + `{question_id}`, …): how to fill every path parameter from
  the relation's bundle, and a body that passes FastAPI's validation so that the request reaches the
  service's scoped load (a 409/422 answered after the load proves the row was reached). A role the
  route's own rule refuses gets 403; a relation the policy refuses gets `refused` (404: the row reads as
  missing), or `readable_refused` where a documented PermissionDenied applies to a row the caller may
  read but not act on; anything allowed answers neither 401, 403 nor 404, and below 500.
- ids in the body (`landed`): the path names the caller's own row, the body the relation's (an exam's
  paper and audience, a paper's questions, a course's curriculum, a person to enrol). Allowed: the write
  lands and the answer is below 400. Refused: nothing changes and the answer is the one for an id of no
  row at all, so that a refusal does not tell that the row exists.
- JSON lists (`listed`): the relation's row is in the page exactly when allowed.

A route with nothing to ask has a `NoId` that says why. `known` marks the cells where the app disagrees
with the declaration (findings for the lead): strict xfails with the reason.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection
from sqlmodel import col

from app.accounts.models import OrgUnit, User
from app.core.models import utcnow
from app.courses.models import Course, Curriculum, Enrolment, Material
from app.exams.models import Exam, ExamSchedule, Paper, PaperItem, Question
from tests.access.world import RENDITION, Bundle, StandardRows, World

NO_SUCH_ID = 2_000_000_000
GIFT = "::Q1:: 桌签应如何摆放？{=居中 ~靠左}\n".encode()


@dataclass(frozen=True)
class Ctx:
    """One cell: the world, the acting role and the relation, and the rows the relation names."""

    w: World
    role: str
    rel: str
    missing: bool = False  # body ids: name a row that does not exist instead (the answer a refusal must equal)

    @property
    def mine(self) -> Bundle:
        """The acting user's own bundle: the row a body-id entry's path names."""
        return self.w.bundle(self.role, "own")

    def ref(self, row_id: Any) -> Any:
        """A body id of the relation's row, or of no row at all in the `missing` request."""
        if not self.missing:
            return row_id
        return "nosuchrow" if isinstance(row_id, str) else NO_SUCH_ID

    @property
    def b(self) -> Bundle:
        return self.w.bundle(self.role, self.rel)

    @property
    def std(self) -> StandardRows:
        return self.w.standards[self.rel]

    @property
    def unit_id(self) -> int:
        return self.w.unit(self.role, self.rel).id or 0

    @property
    def user_id(self) -> int:
        return (self.w.actors[self.role] if self.rel == "own" else self.b.owner).id or 0

    @property
    def curriculum_id(self) -> int:
        return (self.w.city_curriculum if self.rel == "city" else self.b.curriculum).id or 0


Params = Callable[[Ctx], Mapping[str, Any]]


@dataclass(frozen=True)
class Entry:
    kind: str
    action: str | tuple[str, ...]  # a tuple: any one of them grants
    path: Params
    form: Params | None = None  # pages: form fields (the CSRF token is sent as a header)
    json: Params | None = None  # API: a JSON body
    files: Params | None = None  # multipart files
    query: Params | None = None  # query parameters
    also: tuple[tuple[str, str], ...] = ()  # further (kind, action) the same relation must allow
    refused: int = 404
    readable_refused: int | None = None  # a documented PermissionDenied for a row the caller may read
    label: str = ""  # tells apart several entries of one route
    known: Mapping[tuple[str, str], str] = field(default_factory=dict)  # (role, relation) → finding: xfail
    # Body ids: the relation names a row in the body (the path names the caller's own). Allowed: the write
    # landed (this query on the connection says so) and the answer is below 400. Refused: it did not land
    # and the answer is the one for an id of no row at all (existence does not leak).
    landed: Callable[[Ctx, Connection], bool] | None = None
    # Lists (a JSON page of `items` with ids): allowed means the relation's row is listed, refused that it is not.
    listed: Callable[[Ctx], Any] | None = None
    listed_ids: Callable[[Any], set[str]] = lambda page: {str(item["id"]) for item in page["items"]}
    relations: tuple[str, ...] | None = None  # fewer relations than the kind's, when the route says why

    @property
    def actions(self) -> tuple[str, ...]:
        return self.action if isinstance(self.action, tuple) else (self.action,)


@dataclass(frozen=True)
class NoId:
    reason: str


def _p(**names: Callable[[Ctx], Any]) -> Params:
    return lambda c: {name: get(c) for name, get in names.items()}


def _const(**values: Any) -> Params:
    return lambda _c: values


LIST = "a page listing rows: filtered by the policy's WHERE clause (Policy.select); the JSON lists are checked here"
CREATE = "creates a row from its body alone (the ids bodies name are asked in BODY_IDS where a rule applies)"
OWN_ONLY = "the caller's own data only (no id in the path)"
STATIC = "no row: a static page, form or template"
IMPORT = "units named by code in the workbook: tests/accounts/test_import.py (out-of-scope units and roles)"

# Path parameter fillers.
USER = _p(user_id=lambda c: c.user_id)
UNIT = _p(unit_id=lambda c: c.unit_id)
STANDARD = _p(standard_id=lambda c: c.std.standard.id)
VERSION = _p(version_id=lambda c: c.std.version.id)
CLAUSE = _p(clause_id=lambda c: c.std.clause.id)
CURRICULUM = _p(curriculum_id=lambda c: c.curriculum_id)
COURSE = _p(course_id=lambda c: c.b.course.id)
MODULE = _p(module_id=lambda c: c.b.module.id)
LESSON = _p(lesson_id=lambda c: c.b.lesson.id)
MATERIAL = _p(material_id=lambda c: c.b.text.id)
ASSET = _p(asset_id=lambda c: c.b.asset.id)
MEDIA = _p(media_id=lambda c: c.b.asset.id)
UPLOAD = _p(upload_id=lambda c: c.b.upload.id)
BANK = _p(bank_id=lambda c: c.b.bank.id)
QUESTION = _p(question_id=lambda c: c.b.question.id)
BANK_QUESTION = _p(bank_id=lambda c: c.b.bank.id, question_id=lambda c: c.b.question.id)
EXAM = _p(exam_id=lambda c: c.b.exam.id)
PAPER = _p(paper_id=lambda c: c.b.paper.id)
BLUEPRINT = _p(paper_id=lambda c: c.b.blueprint.id)
ATTEMPT = _p(attempt_id=lambda c: c.b.attempt.id)
FINISHED = _p(attempt_id=lambda c: c.b.finished.id)


def _item(kind: str) -> Params:
    return {"module": _p(kind=lambda _c: "module", item_id=lambda c: c.b.module.id),
            "lesson": _p(kind=lambda _c: "lesson", item_id=lambda c: c.b.lesson.id),
            "material": _p(kind=lambda _c: "material", item_id=lambda c: c.b.text.id)}[kind]


def _user_form(c: Ctx) -> dict[str, Any]:
    target = c.w.actors[c.role] if c.rel == "own" else c.b.owner
    return {"display_name": "改过的名字", "org_unit_id": str(target.org_unit_id), "tier": target.tier, "roles": sorted(target.roles)}


def _exam_form(c: Ctx, *, kind: str = "competition", paper_id: Any = None, unit_id: Any = None) -> dict[str, Any]:
    now = utcnow() + timedelta(hours=8)  # the form's times are Shanghai's
    return {"title": MARK, "kind": kind, "paper_id": str(paper_id or c.b.paper.id),
            "opens_at": (now - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M"),
            "closes_at": (now + timedelta(days=60)).strftime("%Y-%m-%dT%H:%M"), "attempts_allowed": "",
            "pass_percent": "60", "results_policy": "immediately", "org_unit_id": str(unit_id or c.b.unit.id)}


MARK = "矩阵写入"  # the title of whatever a body-id entry creates, to find it afterwards


def _is(value: Any) -> Callable[[Ctx], Any]:
    return lambda _c: value


def _where(model: Any, **columns: Callable[[Ctx], Any]) -> Callable[[Ctx, Connection], bool]:
    """Landed: a row of `model` exists whose columns equal these values (ids the callables give)."""
    def landed(c: Ctx, conn: Connection) -> bool:
        conditions: list[Any] = [getattr(model, name) == get(c) for name, get in columns.items()]
        found: Any = sa.select(model.id).where(*conditions)
        return conn.execute(sa.select(found.exists())).scalar() is True
    return landed


TEXT_MATERIAL = {"kind": "text", "title": "要点（改）", "html": "<p>桌签应居中摆放。</p>"}
TF_QUESTION_FORM = {"type": "true_false", "stem": "桌签应居中摆放。", "tf_correct": "true", "points": "1", "difficulty": "3"}

# `[]`: the route's ids are in its body only; its entries are in BODY_IDS (below), merged in.
MATRIX: dict[str, list[Entry] | NoId] = {
    # -- operations, sign-in, the caller's own pages ------------------------------------------------
    "ops:healthz": NoId(STATIC), "ops:readyz": NoId(STATIC), "ops:api_docs": NoId(STATIC),
    "ops:audit": NoId(LIST), "ops:jobs": NoId(LIST),
    "accounts:login": NoId(STATIC), "accounts:login_submit": NoId("signing in: tests/accounts/test_auth.py"),
    "accounts:logout": NoId(OWN_ONLY), "accounts:password": NoId(OWN_ONLY), "accounts:password_submit": NoId(OWN_ONLY),
    "accounts:set_locale": NoId(OWN_ONLY), "accounts:sessions": NoId(OWN_ONLY),
    "accounts:sessions_revoke_others": NoId(OWN_ONLY),
    "accounts:kiosk": NoId(STATIC), "accounts:kiosk_submit": NoId("registers this browser as a kiosk: admin only, no row"),
    "home:index": NoId(OWN_ONLY), "home:admin_overview": NoId(LIST),
    "api:auth_token": NoId("signing in: tests/accounts/test_auth.py"), "api:me": NoId(OWN_ONLY),

    # -- users and org units ------------------------------------------------------------------------
    "accounts:admin_users": NoId(LIST), "accounts:admin_user_new": NoId(STATIC),
    "accounts:admin_user_create": [],
    "api:users": [Entry("user", "read", _const(), query=_const(limit=500), listed=lambda c: c.user_id)],
    "api:users_create": [],
    "accounts:admin_user": [Entry("user", "read", USER)],
    "accounts:admin_user_update": [Entry("user", "change", USER, form=_user_form)],
    "accounts:admin_user_active": [Entry("user", "change", USER, form=_const(active="true"))],
    "accounts:admin_user_password": [Entry("user", "change", USER)],
    "api:user": [Entry("user", "read", USER)],
    "api:user_update": [Entry("user", "change", USER, json=_const(display_name="改过的名字"))],
    "accounts:admin_units": NoId(LIST), "accounts:admin_unit_create": [],
    "api:org_units": [Entry("org_unit", "read", _const(), listed=lambda c: c.unit_id)], "api:org_units_create": [],
    "accounts:admin_unit": [Entry("org_unit", "read", UNIT)],
    "accounts:admin_unit_update": [Entry("org_unit", "change", UNIT, form=_const(name="改过的单位名"))],
    "accounts:admin_unit_active": [Entry("org_unit", "change", UNIT, form=_const(active="true"))],
    "accounts:admin_import": NoId(STATIC), "accounts:admin_import_template": NoId(STATIC),
    "accounts:admin_import_submit": NoId(IMPORT), "api:users_import": NoId(IMPORT),
    "accounts:admin_import_job": [Entry("job", "read", _p(job_id=lambda c: c.b.account_job.id))],
    "api:users_import_job": [Entry("job", "read", _p(job_id=lambda c: c.b.account_job.id))],

    # -- standards ----------------------------------------------------------------------------------
    "standards:list": NoId(LIST), "standards:new": NoId(STATIC), "standards:create": NoId(CREATE),
    "standards:reviews": NoId(LIST),
    "api:standards": [Entry("standard", "read", _const(), listed=lambda c: c.std.standard.id)],
    # search hits name the version a clause belongs to; abolished versions are never searched (by design, not access)
    "api:standards_search": [Entry("version", "read", _const(), query=_const(q="桌签", limit=100), listed=lambda c: c.std.version.id,
                                   listed_ids=lambda page: {str(hit["version_id"]) for hit in page["items"]},
                                   relations=("in_force", "draft"))],
    "api:standards_create": NoId(CREATE),
    "api:standards_reviews": [Entry("review_item", "read", _const(), query=_const(everyone="true", limit=200),
                                    listed=lambda c: c.b.review.id)],
    "standards:edit": [Entry("standard", "change", STANDARD)],
    "standards:update": [Entry("standard", "change", STANDARD, form=lambda c: {
        "code": c.std.standard.code, "title": "改过的标题", "category": c.std.standard.category, "level": c.std.standard.level})],
    "standards:review_done": [Entry("review_item", "change", _p(item_id=lambda c: c.b.review.id), form=_const(note="已核对"))],
    "standards:detail": [Entry("standard", "read", STANDARD)],
    "standards:version_create": [Entry("standard", "change", STANDARD, form=_const(label="矩阵版", code="Q/MATRIX 999—2026"))],
    "standards:transition": [Entry("version", "change", VERSION, form=_const(action="revise"))],
    "standards:version_edit": [Entry("version", "change", VERSION)],
    "standards:import": [Entry("version", "change", VERSION, form=_const(text="9 附则\n本文件自发布之日起实施。\n"))],
    "standards:clause_add": [Entry("version", "change", VERSION, form=_const(number="9", title="附则", body="自发布之日起实施。"))],
    "standards:clause_update": [Entry("clause", "change", CLAUSE, form=_const(title="范围（改）", body="改过的条文。"))],
    "standards:clause_delete": [Entry("clause", "change", CLAUSE)],
    "api:standard": [Entry("standard", "read", STANDARD)],
    "api:standards_version_create": [Entry("standard", "change", STANDARD, json=_const(label="矩阵版", code="Q/MATRIX 999—2026"))],
    "api:standards_clauses": [Entry("version", "read", VERSION)],
    "api:standards_import": [Entry("version", "change", VERSION, json=_const(text="9 附则\n本文件自发布之日起实施。\n"))],
    "api:standards_transition": [Entry("version", "change", VERSION, json=_const(action="revise"))],

    # -- learning (the trainee's side of a course: their enrolment) ----------------------------------
    "courses:my_learning_fragment": NoId(OWN_ONLY), "api:my_learning": NoId(OWN_ONLY),
    "courses:course": [Entry("enrolment", "take", COURSE)],
    "courses:start": [Entry("enrolment", "take", COURSE)],
    "courses:lesson": [Entry("enrolment", "take", LESSON)],
    "courses:mark_read": [Entry("enrolment", "take", _p(lesson_id=lambda c: c.b.lesson.id, material_id=lambda c: c.b.text.id))],
    "courses:page_seen": [Entry("enrolment", "take", _p(lesson_id=lambda c: c.b.lesson.id, material_id=lambda c: c.b.book.id,
                                                        page=lambda _c: 0))],
    "courses:video_heartbeat": [Entry("enrolment", "take", _p(lesson_id=lambda c: c.b.video_lesson.id,
                                                              material_id=lambda c: c.b.video.id),
                                      json=_const(session="matrix-session", seq=1, position=0, intervals=[], event="play"))],
    "courses:subtitles": [Entry("enrolment", "take", _p(lesson_id=lambda c: c.b.video_lesson.id, material_id=lambda c: c.b.video.id,
                                                        index=lambda _c: 0))],

    # -- authoring courses and curricula -------------------------------------------------------------
    "author:courses": NoId(LIST), "author:course_create": [],
    "author:curriculum_create": NoId(
        "a unit in the body: api:curriculum_create's rule (BODY_IDS); an instructor may open the form, the service refuses"),
    # an asset id in the query; a video is refused (422) after the load
    "author:picture_book_rows": [Entry("media", "read", _const(), query=lambda c: {"asset_id": c.b.asset.id})],
    "author:clause_search": NoId(LIST), "author:progress": NoId(LIST), "author:progress_export": NoId(LIST),
    "api:curricula": [Entry("curriculum", "read", _const(), listed=lambda c: c.curriculum_id)],
    "api:curriculum_create": [],
    "api:courses": [Entry("course", "read", _const(), query=_const(limit=200), listed=lambda c: c.b.course.id)],
    "api:course_create": [],
    "api:enrolments": [Entry("enrolment", "read", _const(), query=_const(limit=500), listed=lambda c: c.b.enrolment.id)],
    "api:progress": NoId(LIST),
    "author:curriculum_update": [Entry("curriculum", "change", CURRICULUM, form=lambda c: {
        "title": "课程体系（改）", "tier": "execution", "description": "",
        "org_unit_id": "" if c.rel == "city" else str(c.b.curriculum.org_unit_id)})],
    "author:curriculum_archive": [Entry("curriculum", "change", CURRICULUM, form=_const(active="0"))],
    "api:curriculum_update": [Entry("curriculum", "change", CURRICULUM, json=_const(title="课程体系（改）"))],
    "api:curriculum_archive": [Entry("curriculum", "change", CURRICULUM)],
    "api:curriculum_restore": [Entry("curriculum", "change", CURRICULUM)],
    "author:editor": [Entry("course", "change", COURSE)],
    "author:course_update": [Entry("course", "change", COURSE, form=lambda c: {
        "title": "会议服务（改）", "hours": "1", "is_required": "1", "curriculum_id": str(c.b.course.curriculum_id)})],
    "author:module_add": [Entry("course", "change", COURSE, form=_const(title="新模块"))],
    "author:lesson_add": [Entry("module", "change", MODULE, form=lambda c: {"course_id": str(c.b.course.id), "title": "新课"})],
    "author:material_add": [Entry("lesson", "change", LESSON, form=lambda c: {**TEXT_MATERIAL, "course_id": str(c.b.course.id)})],
    "author:material_new": [Entry("lesson", "change", LESSON)],
    "author:material_edit": [Entry("material", "change", MATERIAL)],
    "author:material_update": [Entry("material", "change", MATERIAL, form=lambda c: {**TEXT_MATERIAL, "course_id": str(c.b.course.id)})],
    "author:title": [Entry(kind, "change", _item(kind), label=kind) for kind in ("module", "lesson", "material")],
    "author:title_save": [Entry(kind, "change", _item(kind), form=_const(title="新标题"), label=kind)
                          for kind in ("module", "lesson", "material")],
    "author:remove": [Entry(kind, "change", _item(kind), label=kind) for kind in ("module", "lesson", "material")],
    "author:reorder": [Entry("course", "change", COURSE, form=lambda c: {"scope": "modules", "ids": [str(c.b.module.id)]})],
    "author:move": [Entry("course", "change", COURSE, form=lambda c: {"scope": "modules", "item_id": str(c.b.module.id),
                                                                      "direction": "up"})],
    "author:move_to": [Entry("lesson", "change", _item("lesson"), form=lambda c: {"parent_id": str(c.b.module.id)}, label="lesson"),
                       Entry("material", "change", _item("material"), form=lambda c: {"parent_id": str(c.b.video_lesson.id)},
                             label="material")],
    "author:preview": [Entry("course", "change", COURSE)],
    "author:publish": [Entry("course", "change", COURSE, form=_const(note="矩阵"))],
    "api:course": [Entry("course", "read", COURSE)],
    "api:course_publish": [Entry("course", "change", COURSE, json=_const(note="矩阵"))],
    "api:lesson_move": [Entry("lesson", "change", LESSON, json=lambda c: {"module_id": c.b.module.id})],
    "api:material_move": [Entry("material", "change", MATERIAL, json=lambda c: {"lesson_id": c.b.video_lesson.id})],
    # whom to enrol is a second question (USER's rule): nobody is named, so the answer after the load is 422
    "api:course_enrol": [Entry("course", "use", COURSE, json=_const(user_ids=[]))],

    # -- media ----------------------------------------------------------------------------------------
    "media:list": NoId(LIST), "media:uploader": NoId(STATIC), "api:media_create": NoId(CREATE),
    "api:media_list": [Entry("media", "read", _const(), query=_const(mine="false", limit=200),
                             listed=lambda c: c.b.asset.id)], "api:media_upload_create": NoId(CREATE),
    "media:detail": [Entry("media", "read", ASSET)],
    "media:status": [Entry("media", "read", ASSET)],
    # media.service.get_changeable: staff who may see an asset but not change it get PermissionDenied
    "media:retry": [Entry("media", "change", ASSET, readable_refused=403)],
    "media:cancel": [Entry("media", "change", ASSET, readable_refused=403)],
    "media:original": [Entry("media", "read", ASSET)],
    "media:file": [Entry("media", "read", _p(asset_id=lambda c: c.b.asset.id, path=lambda _c: RENDITION))],
    "api:media": [Entry("media", "read", MEDIA)],
    "api:media_retry": [Entry("media", "change", MEDIA, readable_refused=403)],
    "api:media_cancel": [Entry("media", "change", MEDIA, readable_refused=403)],
    "api:media_upload": [Entry("upload", "change", UPLOAD)],
    "api:media_upload_chunk": [Entry("upload", "change", UPLOAD)],
    "api:media_upload_complete": [Entry("upload", "change", UPLOAD)],

    # -- question banks -------------------------------------------------------------------------------
    "api:question_bank_template": NoId(STATIC),
    "api:question_banks": [Entry("bank", "read", _const(), listed=lambda c: c.b.bank.id)],
    "api:question_bank_create": NoId(CREATE),
    "bank:list": NoId(LIST), "bank:create": NoId(CREATE), "bank:template": NoId(STATIC),
    "api:question_bank": [Entry("bank", "read", BANK)],
    "api:question_bank_update": [Entry("bank", "change", BANK, json=_const(name="题库（改）"))],
    "api:question_bank_archive": [Entry("bank", "change", BANK)],
    "api:question_bank_restore": [Entry("bank", "change", BANK)],
    "api:bank_questions": [Entry("bank", "read", BANK)],
    "api:bank_question_create": [Entry("bank", "change", BANK, json=_const(
        type="true_false", stem="桌签应居中摆放。", config={"type": "true_false", "correct": True}))],
    "api:question": [Entry("question", "read", QUESTION)],
    "api:question_update": [Entry("question", "change", QUESTION, json=_const(stem="桌签应如何摆放？（改）"))],
    "api:bank_import": [Entry("bank", "change", BANK, form=_const(format="gift", dry_run="true"),
                              files=_const(file=("q.gift", GIFT, "text/plain")))],
    "api:bank_import_job": [Entry("job", "read", _p(bank_id=lambda c: c.b.bank.id, job_id=lambda c: c.b.bank_job.id),
                                  also=(("bank", "read"),))],
    "api:bank_export": [Entry("bank", "read", BANK)],
    "bank:detail": [Entry("bank", "read", BANK)],
    "bank:update": [Entry("bank", "change", BANK, form=_const(name="题库（改）", description=""))],
    "bank:archive": [Entry("bank", "change", BANK, form=_const(archived="1"))],
    "bank:export": [Entry("bank", "read", BANK)],
    "bank:question_new": [Entry("bank", "change", BANK)],
    "bank:question_create": [Entry("bank", "change", BANK, form=_const(**TF_QUESTION_FORM))],
    "bank:question_edit": [Entry("question", "change", BANK_QUESTION)],
    "bank:question_update": [Entry("question", "change", BANK_QUESTION, form=_const(
        type="single_choice", stem="桌签应如何摆放？（改）", points="1", difficulty="3", opt_id=["a", "b", "c"],
        opt_text=["居中", "靠左", "靠右"], opt_correct=["a"]))],
    "bank:question_status": [Entry("question", "change", BANK_QUESTION, form=_const(status="retired"))],
    "bank:import": [Entry("bank", "change", BANK)],
    "bank:import_preview": [Entry("bank", "change", BANK, form=_const(format="gift"), files=_const(file=("q.gift", GIFT, "text/plain")))],
    "bank:import_confirm": [Entry("bank", "change", BANK, form=_const(token="A" * 22, format="gift", filename="q.gift"))],
    "bank:import_job": [Entry("job", "read", _p(bank_id=lambda c: c.b.bank.id, job_id=lambda c: c.b.bank_job.id),
                              also=(("bank", "read"),))],

    # -- exams: taking them -----------------------------------------------------------------------
    "exams:api_list": [Entry("exam", "take", _const(), query=_const(limit=200), listed=lambda c: c.b.exam.id)],
    "exams:my": NoId(OWN_ONLY),
    "exams:notebook": NoId(OWN_ONLY),
    "exams:api_start": [Entry("exam", "take", EXAM)],
    "exams:intro": [Entry("exam", "take", EXAM)],
    "exams:start": [Entry("exam", "take", EXAM)],
    "exams:api_attempt": [Entry("attempt", "read", ATTEMPT)],
    "exams:api_attempt_status": [Entry("attempt", "read", ATTEMPT)],
    "exams:api_save": [Entry("attempt", "take", _p(attempt_id=lambda c: c.b.attempt.id, question_id=lambda c: c.b.question_key),
                             json=_const(response="a", seq=1000))],
    "exams:api_submit": [Entry("attempt", "take", ATTEMPT)],
    "exams:take": [Entry("attempt", "take", ATTEMPT)],
    "exams:result": [Entry("attempt", "read", FINISHED)],
    "exams:notebook_answer": [Entry("notebook", "take", _p(entry_id=lambda c: c.b.entry.id), form=_const(response='"a"'))],
    # a leaderboard: staff who may read the exam, or a trainee who may take it
    "exams:leaderboard": [Entry("exam", ("read", "take"), EXAM)],

    # -- exams: staff ---------------------------------------------------------------------------------
    "exams:grading": NoId(LIST), "exams:regrade": NoId("a question id in the query: QUESTION's GRADE rule, tests/exams"),
    "exams:regrade_run": [],
    "exams:author_list": NoId(LIST), "exams:author_new": NoId(STATIC), "exams:author_create": [],
    "exams:paper_create": [], "exams:schedules": NoId(LIST), "exams:schedule_create": [],
    "exams:grade": [Entry("answer", "grade", _p(answer_id=lambda c: c.b.answer.id), form=_const(points="1", note="矩阵"))],
    "exams:attempts": [Entry("exam", "read", EXAM)],
    "exams:attempt_log": [Entry("attempt", "read", FINISHED)],
    "exams:author_edit": [Entry("exam", "change", EXAM)],
    "exams:author_update": [Entry("exam", "change", EXAM, form=_exam_form)],
    "exams:author_publish": [Entry("exam", "change", EXAM)],
    "exams:author_archive": [Entry("exam", "change", EXAM)],
    "exams:paper": [Entry("paper", "read", PAPER)],
    "exams:paper_items": [Entry("paper", "change", PAPER, form=lambda c: {"question_ids": f"{c.b.question.id},{c.b.essay.id}"})],
    "exams:paper_rule_add": [Entry("paper", "change", BLUEPRINT, form=_const(count="1", points="1"))],
    "exams:paper_rule_delete": [Entry("paper", "change", _p(paper_id=lambda c: c.b.blueprint.id, rule_id=lambda c: c.b.rule.id))],
    "exams:statistics": [Entry("exam", "read", EXAM)],
    "exams:statistics_export": [Entry("exam", "read", EXAM)],
    "exams:schedule_active": [Entry("schedule", "change", _p(schedule_id=lambda c: c.b.schedule.id), form=_const(active="0"))],
}


# ---------------------------------------------------------------------------------------------
# Ids named in the body: the path (if any) names the caller's own row, the body the relation's. These are
# where the holes were (a paper built on another owner's questions, an exam on another owner's
# paper, an audience outside the district).

def _unit_id(c: Ctx) -> int:
    return c.w.unit(c.role, c.rel).id or 0


def _target_unit(c: Ctx) -> Any:
    return c.ref(_unit_id(c))


def _one_more_question(c: Ctx, conn: Connection) -> bool:
    counted = sa.select(sa.func.count()).select_from(Question).where(col(Question.bank_id) == c.mine.bank.id)
    return conn.execute(counted).scalar() == 3  # the bundle's two and the new one


def _user_of(c: Ctx) -> int:
    return (c.w.actors[c.role] if c.rel == "own" else c.b.owner).id or 0


BODY_IDS: dict[str, list[Entry]] = {
    "exams:author_create": [
        Entry("paper", "use", _const(), form=lambda c: _exam_form(c, kind="regular", paper_id=c.ref(c.b.paper.id), unit_id=c.mine.unit.id),
              landed=_where(Exam, title=_is(MARK), paper_id=lambda c: c.b.paper.id), label="paper in the body"),
        Entry("org_unit", "target", _const(), form=lambda c: _exam_form(c, kind="regular", paper_id=c.mine.paper.id,
                                                                        unit_id=_target_unit(c)),
              landed=_where(Exam, title=_is(MARK), org_unit_id=_unit_id), label="audience in the body"),
    ],
    "exams:author_update": [
        Entry("paper", "use", _p(exam_id=lambda c: c.mine.draft.id),
              form=lambda c: _exam_form(c, kind="regular", paper_id=c.ref(c.b.paper.id), unit_id=c.mine.unit.id),
              landed=_where(Exam, id=lambda c: c.mine.draft.id, paper_id=lambda c: c.b.paper.id), label="paper in the body"),
        Entry("org_unit", "target", _p(exam_id=lambda c: c.mine.draft.id),
              form=lambda c: _exam_form(c, kind="regular", paper_id=c.mine.paper.id, unit_id=_target_unit(c)),
              landed=_where(Exam, id=lambda c: c.mine.draft.id, org_unit_id=_unit_id), label="audience in the body"),
    ],
    "exams:schedule_create": [
        Entry("paper", "use", _const(), form=lambda c: {"title": MARK, "kind": "daily", "paper_id": str(c.ref(c.b.blueprint.id)),
                                                         "org_unit_id": str(c.mine.unit.id)},
              landed=_where(ExamSchedule, title=_is(MARK), paper_id=lambda c: c.b.blueprint.id), label="paper in the body"),
        Entry("org_unit", "target", _const(), form=lambda c: {"title": MARK, "kind": "daily", "paper_id": str(c.mine.blueprint.id),
                                                               "org_unit_id": str(_target_unit(c))},
              landed=_where(ExamSchedule, title=_is(MARK), org_unit_id=_unit_id), label="audience in the body"),
    ],
    "exams:paper_create": [
        Entry("bank", "use", _const(), form=lambda c: {"title": MARK, "kind": "blueprint", "bank_id": str(c.ref(c.b.bank.id))},
              landed=_where(Paper, title=_is(MARK), bank_id=lambda c: c.b.bank.id), label="bank in the body"),
    ],
    "exams:paper_items": [
        Entry("question", "use", _p(paper_id=lambda c: c.mine.paper.id), form=lambda c: {"question_ids": str(c.ref(c.b.question.id))},
              landed=_where(PaperItem, paper_id=lambda c: c.mine.paper.id, question_id=lambda c: c.b.question.id),
              label="question in the body"),
    ],
    "exams:regrade_run": [
        Entry("question", "grade", _const(), form=lambda c: {"question_id": str(c.ref(c.b.question.id))}, label="question in the body"),
    ],
    "author:course_create": [
        Entry("curriculum", "use", _const(), form=lambda c: {"title": MARK, "curriculum_id": str(c.ref(c.curriculum_id)), "hours": "1"},
              landed=_where(Course, title=_is(MARK), curriculum_id=lambda c: c.curriculum_id), label="curriculum in the body"),
    ],
    "api:course_create": [
        Entry("curriculum", "use", _const(), json=lambda c: {"title": MARK, "curriculum_id": c.ref(c.curriculum_id)},
              landed=_where(Course, title=_is(MARK), curriculum_id=lambda c: c.curriculum_id), label="curriculum in the body"),
    ],
    "author:course_update": [
        Entry("curriculum", "use", _p(course_id=lambda c: c.mine.course.id), form=lambda c: {
            "title": "会议服务（改）", "hours": "1", "is_required": "1", "curriculum_id": str(c.ref(c.curriculum_id))},
              landed=_where(Course, id=lambda c: c.mine.course.id, curriculum_id=lambda c: c.curriculum_id),
              label="curriculum in the body"),
    ],
    "api:course_enrol": [
        Entry("user", "read", _p(course_id=lambda c: c.mine.course.id), json=lambda c: {"user_ids": [c.ref(_user_of(c))]},
              landed=_where(Enrolment, course_id=lambda c: c.mine.course.id, user_id=_user_of),
              label="person in the body"),
    ],
    "author:material_add": [
        Entry("clause", "read", _p(lesson_id=lambda c: c.mine.lesson.id), form=lambda c: {
            "kind": "text", "title": MARK, "html": "<p>要点</p>", "course_id": str(c.mine.course.id),
            "clause_ids": [str(c.ref(c.std.clause.id))]},
              landed=_where(Material, title=_is(MARK), lesson_id=lambda c: c.mine.lesson.id), label="clause in the body"),
        Entry("media", "read", _p(lesson_id=lambda c: c.mine.lesson.id), form=lambda c: {
            "kind": "video", "title": MARK, "course_id": str(c.mine.course.id), "asset_id": c.ref(c.b.asset.id)},
              landed=_where(Material, title=_is(MARK), lesson_id=lambda c: c.mine.lesson.id), label="video in the body"),
    ],
    "author:material_update": [
        Entry("media", "read", _p(material_id=lambda c: c.mine.video.id), form=lambda c: {
            "kind": "video", "title": MARK, "course_id": str(c.mine.course.id), "asset_id": c.ref(c.b.asset.id)},
              landed=_where(Material, id=lambda c: c.mine.video.id, title=lambda _c: MARK), label="video in the body"),
    ],
    "accounts:admin_user_update": [
        Entry("org_unit", "change", _p(user_id=lambda c: c.w.bundle(c.role, "other").owner.id),
              form=lambda c: {**_user_form(Ctx(c.w, c.role, "other")), "org_unit_id": str(_target_unit(c))},
              landed=_where(User, id=lambda c: c.w.bundle(c.role, "other").owner.id, org_unit_id=_unit_id), label="unit in the body"),
    ],
    "api:bank_question_create": [
        Entry("clause", "read", _p(bank_id=lambda c: c.mine.bank.id), json=lambda c: {
            "type": "true_false", "stem": MARK, "config": {"type": "true_false", "correct": True}, "clause_ids": [c.ref(c.std.clause.id)]},
              landed=_one_more_question,
              label="clause in the body"),
    ],
    "api:curriculum_create": [
        Entry("org_unit", "target", _const(), json=lambda c: {"title": MARK, "tier": "execution", "org_unit_id": _target_unit(c)},
              landed=_where(Curriculum, title=_is(MARK), org_unit_id=_unit_id), label="unit in the body"),
    ],
    "api:curriculum_update": [
        Entry("org_unit", "target", _p(curriculum_id=lambda c: c.mine.curriculum.id), json=lambda c: {"org_unit_id": _target_unit(c)},
              landed=_where(Curriculum, id=lambda c: c.mine.curriculum.id, org_unit_id=_unit_id), label="unit in the body"),
    ],
    "api:users_create": [
        Entry("org_unit", "change", _const(), json=lambda c: {"username": "matrix_new", "display_name": MARK,
                                                                 "org_unit_id": _target_unit(c), "password": "Matrix-Passw0rd"},
              landed=_where(User, username=_is("matrix_new"), org_unit_id=_unit_id),
              label="unit in the body"),
    ],
    "accounts:admin_user_create": [
        Entry("org_unit", "change", _const(), form=lambda c: {"username": "matrix_new", "display_name": MARK, "tier": "execution",
                                                                 "roles": ["trainee"], "org_unit_id": str(_target_unit(c)),
                                                                 "password": "Matrix-Passw0rd"},
              landed=_where(User, username=_is("matrix_new"), org_unit_id=_unit_id),
              label="unit in the body"),
    ],
    "api:user_update": [
        Entry("org_unit", "change", _p(user_id=lambda c: c.w.bundle(c.role, "other").owner.id),
              json=lambda c: {"org_unit_id": _target_unit(c)},
              landed=_where(User, id=lambda c: c.w.bundle(c.role, "other").owner.id, org_unit_id=_unit_id), label="unit in the body"),
    ],
    "api:org_units_create": [
        Entry("org_unit", "change", _const(), json=lambda c: {"code": "matrix-new", "name": MARK, "kind": "unit",
                                                                 "parent_id": _target_unit(c)},
              landed=_where(OrgUnit, name=_is(MARK), parent_id=_unit_id),
              label="parent in the body"),
    ],
    "accounts:admin_unit_create": [
        Entry("org_unit", "change", _const(), form=lambda c: {"code": "matrix-new", "name": MARK, "kind": "unit",
                                                                 "parent_id": str(_target_unit(c))},
              landed=_where(OrgUnit, name=_is(MARK), parent_id=_unit_id),
              label="parent in the body"),
    ],
}

for _name, _entries in BODY_IDS.items():
    _current = MATRIX[_name]
    MATRIX[_name] = [*(_current if isinstance(_current, list) else []), *_entries]
