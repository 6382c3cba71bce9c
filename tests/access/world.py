"""The data the access matrix runs against: one acting user per role, and for every relation a bundle of
rows of every kind, built once per module.

Org tree (as tests/helpers.py's `org`): bureau > department; bureau > district A > unit A1;
bureau > district B > unit B1. The district administrator administers district A; every other acting
user belongs to the bureau's department.

A bundle is one of each kind of row that has an owner, all belonging to one user and aimed at that
user's unit: a curriculum of the unit, a published course (a module, a lesson with a text and a
picture-book material, a lesson with a video material) the owner is enrolled in and has started, a
video asset with its files on disk and an open resumable upload, a question bank with a single-choice
and a short-answer question, a fixed and a blueprint paper, a published competition (attempts
unlimited, aimed at the owner's unit), a finished attempt whose short answer awaits grading and one in
progress, a notebook entry, a daily schedule, a review item, and an account import job and a bank
import job started by the owner.

Relations (who owns the bundle a request names, seen from the acting user):
- own: the acting user themselves (their unit for org units; themselves for users);
- other: another user of the acting user's own unit (the department, or district A for the district
  administrator);
- inside: a user of unit A1, inside district A;
- outside: a user of unit B1, in district B.

Every bundle is built by an administrator through the services and then handed to its owner (owner
columns set afterwards), so that an owner may hold a row their role could not have made themselves;
the expectation table skips those cells (expectations.OWNABLE).

Standards have no owner; their relations are the state of the row: `in_force` (a published standard),
`draft` (never published; for versions and clauses: the draft revision of a standard in force) and
`abolished`.
"""

from __future__ import annotations

import hashlib
import itertools
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from sqlmodel import Session, select

from app.accounts import signin
from app.accounts.importer import JOB_KIND as ACCOUNT_IMPORT_JOB
from app.accounts.models import OrgUnit, Role, Tier, User
from app.core.config import get_settings
from app.core.jobs import Job
from app.core.models import utcnow
from app.core.security import csrf_token_for
from app.courses import learning, publishing, structure
from app.courses import service as courses
from app.courses.models import Course, Curriculum, Enrolment, Lesson, Material, Module
from app.courses.schemas import CourseIn, CurriculumIn, LessonIn, MaterialIn, ModuleIn
from app.exams import attempts, exams, notebook, papers, schedules
from app.exams.bank import IMPORT_JOB as BANK_IMPORT_JOB
from app.exams.exam_schemas import ExamIn
from app.exams.models import (
    Attempt,
    AttemptAnswer,
    BlueprintRule,
    Exam,
    ExamKind,
    ExamSchedule,
    NotebookEntry,
    Paper,
    PaperKind,
    Question,
    QuestionBank,
)
from app.media.models import AssetKind, AssetStatus, MediaAsset, MediaUpload
from app.media.storage import MediaStore
from app.standards import citations
from app.standards import service as standards
from app.standards.models import Category, Clause, ReviewItem, Standard, StandardVersion
from app.standards.schemas import StandardCreate
from tests.exams.attempt_helpers import SHORT, SINGLE, make_bank, make_question
from tests.factories import make_org_tree, make_user

ROLES = ("trainee", "instructor", "examiner", "coordinator", "district_admin", "admin")
RELATIONS = ("own", "other", "inside", "outside")
STANDARD_RELATIONS = ("in_force", "draft", "abolished")

STANDARD_TEXT = "1 范围\n本文件规定了会议服务要求。\n2 要求\n2.1 桌签\n桌签应居中摆放。\n"
VTT = "WEBVTT\n\n00:00:00.000 --> 00:00:02.000\n欢迎\n"
RENDITION = "poster.jpg"  # a derived file every asset has on disk (media:file)

_n = itertools.count(1)


@dataclass
class Bundle:
    """One of each owned kind of row, all belonging to `owner` and aimed at `unit`."""

    owner: User
    unit: OrgUnit
    curriculum: Curriculum
    course: Course
    module: Module
    lesson: Lesson  # the text and picture-book lesson
    video_lesson: Lesson
    text: Material
    book: Material
    video: Material
    enrolment: Enrolment
    asset: MediaAsset
    upload: MediaUpload
    bank: QuestionBank
    question: Question  # single choice
    essay: Question  # short answer, graded by hand
    paper: Paper  # fixed
    blueprint: Paper
    rule: BlueprintRule
    exam: Exam  # published competition
    draft: Exam  # a draft on `paper`
    schedule: ExamSchedule
    attempt: Attempt  # in progress
    finished: Attempt  # submitted, the short answer awaiting a grader
    answer: AttemptAnswer  # the short answer of `finished`
    question_key: str  # the key of the single-choice question in `attempt`
    entry: NotebookEntry
    review: ReviewItem
    account_job: Job
    bank_job: Job


@dataclass
class StandardRows:
    standard: Standard
    version: StandardVersion
    clause: Clause


@dataclass
class World:
    units: dict[str, OrgUnit]
    actors: dict[str, User]  # role → the acting user
    peers: dict[str, User]  # unit key → another user of that unit
    bundles: dict[str, Bundle]  # "own:<role>", "peer:<unit key>", "inside", "outside"
    standards: dict[str, StandardRows]  # in_force, draft, abolished
    city_curriculum: Curriculum
    cookies: dict[str, str] = field(default_factory=dict)  # role → session cookie
    csrf: dict[str, str] = field(default_factory=dict)  # role → CSRF token of that session
    bearer: dict[str, str] = field(default_factory=dict)  # role → API token

    def unit_key(self, role: str) -> str:
        return "district_a" if role == "district_admin" else "dept"

    def owner(self, role: str, relation: str) -> User:
        return self.bundle(role, relation).owner

    def bundle(self, role: str, relation: str) -> Bundle:
        if relation == "own":
            return self.bundles[f"own:{role}"]
        if relation == "other":
            return self.bundles[f"peer:{self.unit_key(role)}"]
        return self.bundles[relation]

    def unit(self, role: str, relation: str) -> OrgUnit:
        """The org unit a relation names (org units themselves): own = the actor's unit."""
        return {"own": self.units[self.unit_key(role)], "inside": self.units["unit_a1"],
                "outside": self.units["unit_b1"]}[relation]


def _asset(session: Session, owner: User) -> MediaAsset:
    n = next(_n)
    sha = hashlib.sha256(f"access-matrix-asset-{n}".encode()).hexdigest()
    store = MediaStore.default()
    original = store.original_path(sha)
    original.parent.mkdir(parents=True, exist_ok=True)
    original.write_bytes(b"\x00\x00\x00\x18ftypmp42")
    derived = store.derived_dir(sha)
    derived.mkdir(parents=True, exist_ok=True)
    (derived / RENDITION).write_bytes(b"\xff\xd8\xff\xe0")
    asset = MediaAsset(id=f"matrix{n:04d}asset", kind=AssetKind.video.value, status=AssetStatus.failed.value, owner_id=owner.id or 0,
                       title=f"示范视频{n}", original_name="demo.mp4", sha256=sha, size_bytes=12, mime_type="video/mp4",
                       duration_s=60.0, error="matrix")
    session.add(asset)
    session.flush()
    return asset


def _bundle(session: Session, builder: User, owner: User, unit: OrgUnit, clause: Clause, version: StandardVersion) -> Bundle:
    now = utcnow()
    n = next(_n)
    curriculum = courses.create_curriculum(session, builder, CurriculumIn(title=f"课程体系{n}", tier=Tier.execution,
                                                                          org_unit_id=unit.id))
    course = courses.create_course(session, builder, curriculum, CourseIn(title=f"会议服务{n}", hours=Decimal("1")))
    module = structure.add_module(session, builder, course, ModuleIn(title="会前准备"))
    lesson = structure.add_lesson(session, builder, module.id or 0, LessonIn(title="桌签摆放"))
    video_lesson = structure.add_lesson(session, builder, module.id or 0, LessonIn(title="示范"))
    asset = _asset(session, owner)
    text = structure.add_material(session, builder, lesson.id or 0, MaterialIn(kind="text", title="要点",
                                                                                config={"html": "<p>桌签应居中摆放。</p>"}))
    book = structure.add_material(session, builder, lesson.id or 0, MaterialIn(
        kind="picture_book", title="图解", config={"pages": [{"image": "img-1", "caption": "第一步"},
                                                                {"image": "img-2", "caption": "第二步"}]}))
    video = structure.add_material(session, builder, video_lesson.id or 0, MaterialIn(
        kind="video", title="示范", config={"asset_id": asset.id, "duration_s": 60,
                                               "subtitles": [{"lang": "zh-CN", "label": "中文", "vtt": VTT}]}))
    publishing.publish_course(session, builder, course)
    enrolment = learning.enrol(session, builder, course, owner)

    bank = make_bank(session, builder, f"题库{n}")
    question = make_question(session, bank, SINGLE, stem=f"桌签应如何摆放？{n}")
    essay = make_question(session, bank, SHORT, stem=f"发现隐患怎么办？{n}", points="2")
    paper = papers.create_paper(session, builder, f"固定卷{n}", shuffle_questions=False, shuffle_options=False)
    papers.set_items(session, builder, paper, [(question.id or 0, None), (essay.id or 0, None)])
    blueprint = papers.create_paper(session, builder, f"抽题卷{n}", kind=PaperKind.blueprint, bank_id=bank.id)
    papers.add_rule(session, builder, blueprint, papers.RuleSpec(count=1, points=Decimal(1)))
    rule = papers.rules_of(session, blueprint)[0]
    exam = exams.create_exam(session, builder, ExamIn(
        title=f"业务比武{n}", kind=ExamKind.competition, paper_id=paper.id or 0, opens_at=now - timedelta(days=1),
        closes_at=now + timedelta(days=60), attempts_allowed=None, org_unit_id=unit.id))
    exams.publish_exam(session, builder, exam, now=now)
    draft = exams.create_exam(session, builder, ExamIn(title=f"草拟的考试{n}", paper_id=paper.id or 0, org_unit_id=unit.id))
    schedule = schedules.create_schedule(session, builder, schedules.ScheduleIn(
        title=f"日考{n}", kind="daily", paper_id=blueprint.id or 0, org_unit_id=unit.id))
    review = ReviewItem(citation_id=citations.cite(session, clause, target_type="access_matrix", target_id=n, owner=owner,
                                                   label=f"引用{n}").id or 0,
                        version_id=version.id or 0, transition="under_revision", owner_id=owner.id)
    session.add(review)
    upload = MediaUpload(id=f"matrix{n:04d}upload", owner_id=owner.id or 0, filename="demo.mp4", size_bytes=100, created_at=now,
                         expires_at=now + timedelta(days=1))
    session.add(upload)
    account_job = Job(kind=ACCOUNT_IMPORT_JOB, payload={}, created_by_id=owner.id, status="succeeded",
                      result={"ok": True, "created": 0})
    bank_job = Job(kind=BANK_IMPORT_JOB, payload={"bank_id": bank.id}, created_by_id=owner.id, status="succeeded",
                   result={"ok": True, "created": 0})
    session.add_all([account_job, bank_job])

    # Hand everything to its owner: owner columns the services set to the builder.
    for row in (course, bank, paper, blueprint, exam, draft, schedule):
        row.owner_id = owner.id or 0
        session.add(row)
    session.flush()

    learning.start(session, owner, course.id or 0, now=now)
    finished = attempts.start_attempt(session, owner, exam.id or 0, now=now - timedelta(minutes=30)).attempt
    keys = {int(e["question_id"]): str(e["key"]) for e in finished.questions}
    attempts.save_answer(session, owner, finished.id or 0, keys[question.id or 0], "b", 1, now=now - timedelta(minutes=29))
    attempts.save_answer(session, owner, finished.id or 0, keys[essay.id or 0], "立即停止作业并报告。", 2,
                         now=now - timedelta(minutes=28))
    attempts.submit(session, owner, finished.id or 0, now=now - timedelta(minutes=27))
    answer = session.exec(select(AttemptAnswer).where(AttemptAnswer.attempt_id == finished.id,
                                                      AttemptAnswer.question_key == keys[essay.id or 0])).one()
    running = attempts.start_attempt(session, owner, exam.id or 0, now=now - timedelta(minutes=5)).attempt
    entry = notebook.record(session, owner.id or 0, question.id or 0, False, "b", now)
    if entry is None:
        entry = session.exec(select(NotebookEntry).where(NotebookEntry.user_id == owner.id,
                                                         NotebookEntry.question_id == question.id)).one()
    session.flush()
    return Bundle(owner=owner, unit=unit, curriculum=curriculum, course=course, module=module, lesson=lesson,
                  video_lesson=video_lesson, text=text, book=book, video=video, enrolment=enrolment, asset=asset, upload=upload,
                  bank=bank, question=question, essay=essay, paper=paper, blueprint=blueprint, rule=rule, exam=exam, draft=draft,
                  schedule=schedule, attempt=running, finished=finished, answer=answer,
                  question_key=str(next(e["key"] for e in running.questions if int(e["question_id"]) == question.id)),
                  entry=entry, review=review, account_job=account_job, bank_job=bank_job)


def _standards(session: Session, builder: User) -> dict[str, StandardRows]:
    def make(code: str, title: str) -> Standard:
        standard = standards.create_standard(session, builder, StandardCreate(code=code, title=title, category=Category.meeting_service))
        standards.import_text(session, builder, standard.versions[0], STANDARD_TEXT)
        return standard

    def first_clause(version: StandardVersion) -> Clause:
        return standards.clauses_of(session, version)[0]

    in_force = make("Q/MATRIX 001—2024", "现行标准")
    published = in_force.versions[0]
    standards.publish(session, builder, published)
    revising = make("Q/MATRIX 002—2024", "修订中的标准")
    standards.publish(session, builder, revising.versions[0])
    draft_version = standards.start_revision(session, builder, revising.versions[0])
    draft = make("Q/MATRIX 003—2024", "草拟中的标准")
    abolished = make("Q/MATRIX 004—2024", "已废止的标准")
    standards.publish(session, builder, abolished.versions[0])
    standards.abolish(session, builder, abolished.versions[0])
    session.flush()
    for row in (in_force, revising, draft, abolished):
        session.refresh(row)
    return {
        "in_force": StandardRows(in_force, published, first_clause(published)),
        # a never-published standard; its version and clause: the draft revision of a standard in force
        "draft": StandardRows(draft, draft_version, first_clause(draft_version)),
        "abolished": StandardRows(abolished, abolished.versions[0], first_clause(abolished.versions[0])),
    }


def build_world(session: Session) -> World:
    units = make_org_tree(session)
    bureau, dept, district_a, unit_a1 = units["bureau"], units["dept"], units["district_a"], units["unit_a1"]
    unit_b1 = units["unit_b1"]
    builder = make_user(session, Role.admin, unit=bureau, username="matrix_builder")
    actors = {role: make_user(session, role, unit=district_a if role == "district_admin" else dept, username=f"matrix_{role}")
              for role in ROLES}
    peers = {"dept": make_user(session, Role.trainee, unit=dept, username="matrix_peer_dept"),
             "district_a": make_user(session, Role.trainee, unit=district_a, username="matrix_peer_district_a")}
    inside = make_user(session, Role.trainee, unit=unit_a1, username="matrix_inside")
    outside = make_user(session, Role.trainee, unit=unit_b1, username="matrix_outside")
    stds = _standards(session, builder)
    cited, cited_version = stds["in_force"].clause, stds["in_force"].version
    bundles = {f"own:{role}": _bundle(session, builder, user, user.org_unit, cited, cited_version) for role, user in actors.items()}
    for key, peer in peers.items():
        bundles[f"peer:{key}"] = _bundle(session, builder, peer, units[key], cited, cited_version)
    bundles["inside"] = _bundle(session, builder, inside, unit_a1, cited, cited_version)
    bundles["outside"] = _bundle(session, builder, outside, unit_b1, cited, cited_version)
    city = courses.create_curriculum(session, builder, CurriculumIn(title="全市课程体系", tier=Tier.execution))
    world = World(units=units, actors=actors, peers=peers, bundles=bundles, standards=stds, city_curriculum=city)
    for role, user in actors.items():
        cookie, _auth = signin.start_session(session, user, ip=None, user_agent="access-matrix", kiosk=False)
        world.cookies[role] = cookie
        world.csrf[role] = csrf_token_for(cookie)
        world.bearer[role], _ttl = signin.issue_api_token(session, user)
    session.flush()
    assert get_settings().media_dir.is_dir()
    return world


__all__ = ["RELATIONS", "RENDITION", "ROLES", "STANDARD_RELATIONS", "Bundle", "StandardRows", "World", "build_world"]
