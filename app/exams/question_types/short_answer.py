"""Short answer (简答题), graded by a person with a rubric.

{"type": "short_answer", "v": 1, "reference_answer": "<p>…</p>",
 "rubric": [{"criterion": "说明停止作业的条件", "points": 2}, …], "max_length": 2000}
Response: the text, "…". Grading says "needs manual grading"; the grader scores against the rubric.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, field_validator

from app.core.i18n import N_
from app.exams.question_types.base import MAX_TEXT, AnswerInvalid, Config, QuestionType, rich_text


class RubricItem(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    criterion: str = Field(min_length=1, max_length=500)
    points: float = Field(gt=0, le=1000)


class ShortAnswerConfig(Config):
    type: Literal["short_answer"] = "short_answer"
    reference_answer: str = Field(default="", max_length=MAX_TEXT)
    rubric: list[RubricItem] = Field(default_factory=list, max_length=30)
    max_length: int = Field(default=2000, ge=1, le=20_000)

    @field_validator("reference_answer")
    @classmethod
    def _sanitize(cls, value: str) -> str:
        return rich_text(value)


class ShortAnswer(QuestionType[ShortAnswerConfig]):
    name = "short_answer"
    label = N_("Short answer")
    config_model = ShortAnswerConfig
    answer_adapter = TypeAdapter(Annotated[str, Field(max_length=20_000)])
    manual = True

    def check_answer(self, config: ShortAnswerConfig, answer: Any) -> None:
        if len(answer) > config.max_length:
            raise AnswerInvalid("too long")

    def score(self, config: ShortAnswerConfig, answer: Any) -> float:
        return 0.0

    def student_view(self, config: ShortAnswerConfig) -> dict[str, Any]:
        return {"max_length": config.max_length}
