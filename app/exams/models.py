"""Question banks, questions and their versions, papers, exams (one-off, recurring, practice,
competitions), attempts with their answers and log, and the wrong-answer notebook.

Definitions and records apart (STYLE §3):

- A `Question` is the stable identity; what it says lives in `QuestionVersion` rows. Editing an
  active question writes a new version (`Question.current_version_id` moves on); versions are never
  updated, so an attempt that drew version 3 keeps grading and showing version 3.
- A `Paper` is either fixed (ordered `PaperItem`s pointing at questions) or a blueprint (`BlueprintRule`s:
  type × difficulty × tag/clause × count × points). Publishing an `Exam` freezes the paper it uses into
  `Exam.paper_snapshot` (fixed items with their version ids, or the blueprint rules).
- An `Attempt` freezes what the trainee was given in `Attempt.questions` (a JSON list, one entry per
  question: key, question id, version id, points and the presented — shuffled — config with the
  mapping back to the authored ids). Answers are rows in `AttemptAnswer` keyed by (attempt, key) with a
  per-question sequence number; every save, submit and sweep is logged in `AttemptEvent`.
- One attempt in progress per (exam, user): a partial unique index on PostgreSQL and SQLite
  (`WHERE status = 'in_progress'`), so two concurrent starts cannot both win.
- The notebook (`NotebookEntry`) is one row per (user, question): wrong answers put it there, N right
  answers in a row take it out.

Type-specific configuration (options, keys, tolerances…) is JSON validated by
app.exams.question_types (a versioned discriminated union on `type`).
"""

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import JSON, Column, Field, SQLModel

from app.core.i18n import lazy_gettext as _l
from app.core.models import TimestampMixin, created_field, datetime_field

TIER_CHECK = "tier IS NULL OR tier IN ('decision','management','execution')"


def _check(column: str, values: type[StrEnum]) -> str:
    return f"{column} IN (" + ",".join(f"'{v.value}'" for v in values) + ")"


class QuestionStatus(StrEnum):
    draft = "draft"
    active = "active"
    retired = "retired"


QUESTION_STATUS_LABELS = {QuestionStatus.draft: _l("Draft"), QuestionStatus.active: _l("Active"),
                          QuestionStatus.retired: _l("Retired")}


class QuestionBank(TimestampMixin, table=True):
    __tablename__ = "exams_bank"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    description: str = Field(default="", max_length=2000)
    owner_id: int = Field(foreign_key="accounts_user.id", ondelete="RESTRICT", index=True)
    org_unit_id: int | None = Field(default=None, foreign_key="accounts_org_unit.id", ondelete="SET NULL")
    archived_at: datetime | None = datetime_field(nullable=True)


class Question(TimestampMixin, table=True):
    """The stable identity of a question; its content is in the current QuestionVersion."""

    __tablename__ = "exams_question"
    __table_args__ = (
        sa.CheckConstraint(_check("status", QuestionStatus), name="status_valid"),
        sa.CheckConstraint("difficulty BETWEEN 1 AND 5", name="difficulty_range"),
        sa.CheckConstraint(TIER_CHECK, name="tier_valid"),
        sa.Index("ix_exams_question_bank_fingerprint", "bank_id", "fingerprint"),
    )

    id: int | None = Field(default=None, primary_key=True)
    bank_id: int = Field(foreign_key="exams_bank.id", ondelete="CASCADE", index=True)
    # Copied from the current version for filtering and blueprint draws without reading JSON.
    type: str = Field(max_length=30, index=True)
    difficulty: int = 3
    tier: str | None = Field(default=None, max_length=20)
    category: str = Field(default="", max_length=300)  # "会议服务/会前准备"
    tags: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    status: str = Field(default=QuestionStatus.active.value, max_length=16, index=True)
    fingerprint: str = Field(max_length=64)  # question_types.fingerprint(type, stem): duplicate detection
    current_version_id: int | None = Field(default=None)  # exams_question_version.id (no FK: a cycle)
    version_count: int = 0
    external_id: str = Field(default="", max_length=200)  # GIFT [id:], QTI identifier
    created_by_id: int | None = Field(default=None, foreign_key="accounts_user.id", ondelete="SET NULL")


class QuestionVersion(SQLModel, table=True):
    """What a question said at one time. Never updated after insert."""

    __tablename__ = "exams_question_version"
    __table_args__ = (sa.UniqueConstraint("question_id", "number"), sa.CheckConstraint("points >= 0", name="points_not_negative"))

    id: int | None = Field(default=None, primary_key=True)
    question_id: int = Field(foreign_key="exams_question.id", ondelete="CASCADE", index=True)
    number: int
    type: str = Field(max_length=30)
    stem: str = Field(sa_type=sa.Text)  # sanitized HTML
    config: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    points: Decimal = Field(default=Decimal("1"), sa_type=sa.Numeric(6, 2))
    difficulty: int = 3
    explanation: str = Field(default="", sa_type=sa.Text)  # 解析, sanitized HTML
    clause_ids: list[int] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_at: datetime = created_field()
    created_by_id: int | None = Field(default=None, foreign_key="accounts_user.id", ondelete="SET NULL")


class PaperKind(StrEnum):
    fixed = "fixed"
    blueprint = "blueprint"


class Paper(TimestampMixin, table=True):
    __tablename__ = "exams_paper"
    __table_args__ = (sa.CheckConstraint(_check("kind", PaperKind), name="kind_valid"),)

    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(max_length=200)
    kind: str = Field(default=PaperKind.fixed.value, max_length=16)
    bank_id: int | None = Field(default=None, foreign_key="exams_bank.id", ondelete="SET NULL")  # blueprints draw here
    owner_id: int = Field(foreign_key="accounts_user.id", ondelete="RESTRICT", index=True)
    shuffle_questions: bool = True
    shuffle_options: bool = True
    archived_at: datetime | None = datetime_field(nullable=True)


class PaperItem(SQLModel, table=True):
    """A question of a fixed paper, in order, with the points it is worth on this paper."""

    __tablename__ = "exams_paper_item"
    __table_args__ = (sa.UniqueConstraint("paper_id", "question_id"),)

    id: int | None = Field(default=None, primary_key=True)
    paper_id: int = Field(foreign_key="exams_paper.id", ondelete="CASCADE", index=True)
    question_id: int = Field(foreign_key="exams_question.id", ondelete="RESTRICT", index=True)
    position: int = 0
    points: Decimal | None = Field(default=None, sa_type=sa.Numeric(6, 2))  # None: the question's own


class BlueprintRule(SQLModel, table=True):
    """Draw `count` active questions of the bank matching type/difficulty/tag/clause, worth `points` each."""

    __tablename__ = "exams_blueprint_rule"
    __table_args__ = (sa.CheckConstraint("count >= 1", name="count_positive"),
                      sa.CheckConstraint("difficulty_min BETWEEN 1 AND 5 AND difficulty_max BETWEEN difficulty_min AND 5",
                                         name="difficulty_range"))

    id: int | None = Field(default=None, primary_key=True)
    paper_id: int = Field(foreign_key="exams_paper.id", ondelete="CASCADE", index=True)
    position: int = 0
    type: str | None = Field(default=None, max_length=30)
    difficulty_min: int = 1
    difficulty_max: int = 5
    tag: str | None = Field(default=None, max_length=100)
    clause_id: int | None = Field(default=None)  # standards_clause.id the question must cite
    category: str | None = Field(default=None, max_length=300)  # prefix match
    count: int = 1
    points: Decimal = Field(default=Decimal("1"), sa_type=sa.Numeric(6, 2))


class ExamKind(StrEnum):
    regular = "regular"
    daily = "daily"  # 日考
    weekly = "weekly"  # 周考
    monthly = "monthly"  # 月考
    practice = "practice"  # 每日一练: unlimited, not recorded as results
    competition = "competition"  # 技能竞赛/业务比武: live leaderboard


EXAM_KIND_LABELS = {ExamKind.regular: _l("Exam"), ExamKind.daily: _l("Daily exam"), ExamKind.weekly: _l("Weekly exam"),
                    ExamKind.monthly: _l("Monthly exam"), ExamKind.practice: _l("Practice"),
                    ExamKind.competition: _l("Competition")}


class ResultsPolicy(StrEnum):
    immediately = "immediately"  # score and explanations once submitted
    after_close = "after_close"  # once the window closes
    score_only = "score_only"  # the score, never the key
    never = "never"


class ExamStatus(StrEnum):
    draft = "draft"
    published = "published"
    archived = "archived"


class ExamSchedule(TimestampMixin, table=True):
    """A recurring exam (日考/周考/月考): publishes one Exam per period from a blueprint paper."""

    __tablename__ = "exams_schedule"
    __table_args__ = (sa.CheckConstraint("kind IN ('daily','weekly','monthly')", name="kind_valid"),
                      sa.CheckConstraint(TIER_CHECK, name="tier_valid"))

    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(max_length=200)
    kind: str = Field(max_length=16)
    paper_id: int = Field(foreign_key="exams_paper.id", ondelete="RESTRICT")
    tier: str | None = Field(default=None, max_length=20)
    org_unit_id: int | None = Field(default=None, foreign_key="accounts_org_unit.id", ondelete="SET NULL")
    opens_at_local: str = Field(default="08:00", max_length=5)  # HH:MM, Asia/Shanghai
    window_hours: int = 24  # how long each edition stays open
    weekday: int = 1  # weekly: ISO weekday
    month_day: int = 1  # monthly
    time_limit_s: int = 1200
    pass_percent: int = 60
    is_active: bool = True
    last_edition_key: str = Field(default="", max_length=20)  # "2026-11-26", "2026-W48", "2026-11"
    owner_id: int = Field(foreign_key="accounts_user.id", ondelete="RESTRICT")


class Exam(TimestampMixin, table=True):
    __tablename__ = "exams_exam"
    __table_args__ = (
        sa.CheckConstraint(_check("kind", ExamKind), name="kind_valid"),
        sa.CheckConstraint(_check("status", ExamStatus), name="status_valid"),
        sa.CheckConstraint(_check("results_policy", ResultsPolicy), name="results_policy_valid"),
        sa.CheckConstraint(TIER_CHECK, name="tier_valid"),
        sa.CheckConstraint("pass_percent BETWEEN 0 AND 100", name="pass_percent_range"),
        sa.CheckConstraint("time_limit_s IS NULL OR time_limit_s > 0", name="time_limit_positive"),
        sa.CheckConstraint("attempts_allowed IS NULL OR attempts_allowed > 0", name="attempts_positive"),
        sa.UniqueConstraint("schedule_id", "edition_key"),
    )

    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(max_length=200)
    description: str = Field(default="", max_length=4000)
    kind: str = Field(default=ExamKind.regular.value, max_length=16, index=True)
    status: str = Field(default=ExamStatus.draft.value, max_length=16, index=True)
    paper_id: int = Field(foreign_key="exams_paper.id", ondelete="RESTRICT")
    paper_snapshot: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))  # frozen at publish
    opens_at: datetime | None = datetime_field(nullable=True)
    closes_at: datetime | None = datetime_field(nullable=True)
    time_limit_s: int | None = None
    attempts_allowed: int | None = 1  # None: unlimited
    pass_percent: int = 60
    results_policy: str = Field(default=ResultsPolicy.immediately.value, max_length=16)
    # Who may take it (all that are set must match): tier, org-unit subtree, enrolment in a course.
    tier: str | None = Field(default=None, max_length=20)
    org_unit_id: int | None = Field(default=None, foreign_key="accounts_org_unit.id", ondelete="SET NULL")
    course_id: int | None = Field(default=None, foreign_key="courses_course.id", ondelete="SET NULL")
    schedule_id: int | None = Field(default=None, foreign_key="exams_schedule.id", ondelete="SET NULL", index=True)
    edition_key: str | None = Field(default=None, max_length=20)
    owner_id: int = Field(foreign_key="accounts_user.id", ondelete="RESTRICT", index=True)
    published_at: datetime | None = datetime_field(nullable=True)


class AttemptStatus(StrEnum):
    in_progress = "in_progress"
    overdue = "overdue"  # past the deadline, not yet closed by the sweep or a submit
    finished = "finished"
    abandoned = "abandoned"


class Attempt(SQLModel, table=True):
    __tablename__ = "exams_attempt"
    __table_args__ = (
        sa.CheckConstraint(_check("status", AttemptStatus), name="status_valid"),
        sa.UniqueConstraint("exam_id", "user_id", "number"),
        # At most one attempt in progress per trainee and exam, even with two concurrent starts.
        sa.Index("uq_exams_attempt_one_open", "exam_id", "user_id", unique=True,
                 sqlite_where=sa.text("status = 'in_progress'"), postgresql_where=sa.text("status = 'in_progress'")),
        sa.Index("ix_exams_attempt_sweep", "status", "deadline"),
    )

    id: int | None = Field(default=None, primary_key=True)
    exam_id: int = Field(foreign_key="exams_exam.id", ondelete="CASCADE", index=True)
    user_id: int = Field(foreign_key="accounts_user.id", ondelete="CASCADE", index=True)
    number: int = 1
    status: str = Field(default=AttemptStatus.in_progress.value, max_length=16)
    seed: int = 0
    questions: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    started_at: datetime = created_field()
    deadline: datetime | None = datetime_field(nullable=True)  # min(start + limit, window close)
    last_seen_at: datetime | None = datetime_field(nullable=True)
    submitted_at: datetime | None = datetime_field(nullable=True)
    finish_reason: str = Field(default="", max_length=20)  # submitted | deadline | swept | abandoned
    score: Decimal | None = Field(default=None, sa_type=sa.Numeric(8, 2))
    max_score: Decimal | None = Field(default=None, sa_type=sa.Numeric(8, 2))
    passed: bool | None = None
    needs_grading: bool = False  # short answers wait in the manual grading queue
    graded_at: datetime | None = datetime_field(nullable=True)


class AttemptAnswer(SQLModel, table=True):
    """The latest saved response to one question of an attempt. `seq` only grows: a save with a seq not
    above the stored one is stale (409) or a retry of the same save (idempotent)."""

    __tablename__ = "exams_attempt_answer"
    __table_args__ = (sa.UniqueConstraint("attempt_id", "question_key"),)

    id: int | None = Field(default=None, primary_key=True)
    attempt_id: int = Field(foreign_key="exams_attempt.id", ondelete="CASCADE", index=True)
    question_key: str = Field(max_length=40)
    response: Any = Field(default=None, sa_column=Column(JSON, nullable=True))
    seq: int = 0
    saved_at: datetime = created_field()
    score: Decimal | None = Field(default=None, sa_type=sa.Numeric(6, 2))
    correct: bool | None = None
    needs_manual: bool = False
    graded_by_id: int | None = Field(default=None, foreign_key="accounts_user.id", ondelete="SET NULL")
    grader_note: str = Field(default="", max_length=2000)


class AttemptEvent(SQLModel, table=True):
    """The attempt log for disputes: start, resume, save, stale save, submit, sweep, regrade."""

    __tablename__ = "exams_attempt_event"

    id: int | None = Field(default=None, primary_key=True)
    attempt_id: int = Field(foreign_key="exams_attempt.id", ondelete="CASCADE", index=True)
    at: datetime = created_field()
    kind: str = Field(max_length=20)
    question_key: str | None = Field(default=None, max_length=40)
    seq: int | None = None
    session_id: int | None = None  # accounts_session.id: which device/session
    ip: str | None = Field(default=None, max_length=64)
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class NotebookEntry(SQLModel, table=True):
    """错题本: a question the trainee answered wrongly, until answered right `streak_to_clear` times running."""

    __tablename__ = "exams_notebook_entry"
    __table_args__ = (sa.UniqueConstraint("user_id", "question_id"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="accounts_user.id", ondelete="CASCADE", index=True)
    question_id: int = Field(foreign_key="exams_question.id", ondelete="CASCADE", index=True)
    wrong_count: int = 0
    right_streak: int = 0
    last_response: Any = Field(default=None, sa_column=Column(JSON, nullable=True))
    first_wrong_at: datetime = created_field()
    last_seen_at: datetime = created_field()
    cleared_at: datetime | None = datetime_field(nullable=True)
