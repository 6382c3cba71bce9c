"""Input and output models of the exams services (forms and the API build these; API.md shapes)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field, field_validator, model_validator

from app.accounts.models import Tier
from app.core.types import Count, Id, JsonValue, Line, Text
from app.exams.models import ExamKind, ResultsPolicy


class ExamIn(BaseModel):
    title: Line = Field(min_length=1, max_length=200)
    description: Text = Field(default="", max_length=4000)
    kind: ExamKind = ExamKind.regular
    paper_id: Id
    opens_at: datetime | None = None
    closes_at: datetime | None = None
    time_limit_s: Count | None = Field(default=None, gt=0, le=24 * 3600)
    attempts_allowed: Count | None = Field(default=1, gt=0, le=100)
    pass_percent: Count = Field(default=60, ge=0, le=100)
    results_policy: ResultsPolicy = ResultsPolicy.immediately
    tier: Tier | None = None
    org_unit_id: Id | None = None
    course_id: Id | None = None
    # Practice (每日一练) only: up to this many questions come from the trainee's wrong-answer notebook first.
    practice_from_notebook: Count = Field(default=0, ge=0, le=100)

    @field_validator("title", "description", mode="before")
    @classmethod
    def _strip(cls, value: object) -> object:
        return value.strip() if isinstance(value, str) else value

    @field_validator("opens_at", "closes_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("give the time with its offset")
        return value

    @model_validator(mode="after")
    def _window(self) -> ExamIn:
        if self.opens_at and self.closes_at and self.closes_at <= self.opens_at:
            raise ValueError("the window must close after it opens")
        if self.kind == ExamKind.practice:
            self.attempts_allowed = None
        return self


class AnswerIn(BaseModel):
    response: JsonValue = None
    seq: Count | None = Field(default=None, ge=1, le=2**31 - 1, description=(
        "Orders the saves of one question: a save whose seq is not above the stored one is refused as stale "
        "(409, the newer answer stands); the same seq with the same response is a retry (200). Optional: "
        "without it the save is taken as the newest, so saves are ordered by receipt. A client that may "
        "replay or reorder saves (an offline queue, retries after a reconnect) must send it; the exam page "
        "always does."))


class OptionOut(BaseModel):
    id: str
    text: str


class QuestionOut(BaseModel):
    id: str
    type: str
    stem: str
    options: list[OptionOut]
    points: float
    prompts: list[OptionOut] | None = Field(default=None, description="matching: the left items to pair with options")
    blanks: int | None = Field(default=None, description="fill_blank: number of blanks")
    choices: list[list[str]] | None = Field(default=None, description="fill_blank: drop-down choices per blank")
    unit: str | None = Field(default=None, description="numerical: the unit")
    max_length: int | None = Field(default=None, description="short_answer: longest accepted answer")


class AttemptOut(BaseModel):
    id: str
    exam_id: str
    status: str
    deadline: datetime | None
    started_at: datetime
    questions: list[QuestionOut]
    answers: dict[str, Any]
    seqs: dict[str, int] = Field(description="the sequence number of each saved answer")


class AttemptStatusOut(BaseModel):
    status: str
    deadline: datetime | None
    server_now: datetime
    remaining_s: int | None


class SavedOut(BaseModel):
    saved_at: datetime
    seq: int


class ResultOut(BaseModel):
    status: str
    score: float | None
    max_score: float | None
    passed: bool | None
    needs_grading: bool = False


class OpenExamOut(BaseModel):
    id: str
    title: str
    kind: str
    opens_at: datetime | None
    closes_at: datetime | None
    time_limit_s: int | None
    attempts_left: int | None
    attempt_in_progress: str | None = None
