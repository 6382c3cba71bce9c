"""True/false (判断题).

{"type": "true_false", "v": 1, "correct": true, "feedback_true": "", "feedback_false": ""}
Response: true or false (the strings "true"/"false" from a form are accepted too).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, StrictBool, TypeAdapter, field_validator

from app.core.i18n import N_
from app.exams.question_types.base import MAX_TEXT, Config, QuestionType, rich_text


def _form_bool(value: Any) -> Any:
    if isinstance(value, str) and value.strip().lower() in {"true", "false"}:
        return value.strip().lower() == "true"
    return value


class TrueFalseConfig(Config):
    type: Literal["true_false"] = "true_false"
    correct: bool
    feedback_true: str = Field(default="", max_length=MAX_TEXT)
    feedback_false: str = Field(default="", max_length=MAX_TEXT)

    @field_validator("feedback_true", "feedback_false")
    @classmethod
    def _sanitize(cls, value: str) -> str:
        return rich_text(value)


class TrueFalse(QuestionType[TrueFalseConfig]):
    name = "true_false"
    label = N_("True or false")
    config_model = TrueFalseConfig
    answer_adapter = TypeAdapter(Annotated[StrictBool, BeforeValidator(_form_bool)])

    def score(self, config: TrueFalseConfig, answer: Any) -> float:
        return 1.0 if answer is config.correct else 0.0

    def key_summary(self, config: TrueFalseConfig) -> str:
        return "true" if config.correct else "false"
