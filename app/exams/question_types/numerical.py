"""Numerical (数值题 / 计算题) with a tolerance or a range.

{"type": "numerical", "v": 1, "unit": "mm",
 "answers": [{"value": 3.1415, "tolerance": 0.0005, "fraction": 1.0, "feedback": ""},
             {"min": 3.0, "max": 3.3, "fraction": 0.5, "feedback": ""}]}
Response: a number (a numeric string from a form, full-width digits included, is accepted).

Each answer is either value ± tolerance (absolute) or an inclusive min..max range, and earns its
fraction; the best matching answer counts. At least one answer earns full credit (GIFT's
`{#=1822:0 =%50%1822:2}`, Moodle's several numerical answers). Fraction 0 answers only carry feedback.
"""

from __future__ import annotations

import math
import unicodedata
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, TypeAdapter, field_validator, model_validator

from app.core.i18n import N_
from app.exams.question_types.base import EPSILON, MAX_TEXT, Config, ConfigError, QuestionType, rich_text


class NumericAnswer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    value: float | None = None
    tolerance: float = Field(default=0.0, ge=0)
    min: float | None = None
    max: float | None = None
    fraction: float = Field(default=1.0, ge=0, le=1)
    feedback: str = Field(default="", max_length=MAX_TEXT)

    @field_validator("feedback")
    @classmethod
    def _sanitize(cls, value: str) -> str:
        return rich_text(value)

    @model_validator(mode="after")
    def _shape(self) -> NumericAnswer:
        ranged = self.min is not None or self.max is not None
        if (self.value is None) == (not ranged) or (ranged and (self.min is None or self.max is None)):
            raise ConfigError(N_("A numerical answer is either a value with a tolerance or a range from min to max."))
        if ranged and self.min is not None and self.max is not None and self.min > self.max:
            raise ConfigError(N_("A range must not end below its start."))
        if any(x is not None and not math.isfinite(x) for x in (self.value, self.min, self.max, self.tolerance)):
            raise ConfigError(N_("Numbers must be finite."))
        return self

    def bounds(self) -> tuple[float, float]:
        if self.value is not None:
            return self.value - self.tolerance, self.value + self.tolerance
        assert self.min is not None and self.max is not None
        return self.min, self.max


class NumericalConfig(Config):
    type: Literal["numerical"] = "numerical"
    answers: list[NumericAnswer] = Field(min_length=1, max_length=20)
    unit: str = Field(default="", max_length=30)

    @model_validator(mode="after")
    def _full_credit(self) -> NumericalConfig:
        if not any(a.fraction >= 1 - EPSILON for a in self.answers):
            raise ConfigError(N_("At least one numerical answer must earn full credit."))
        return self


def _number(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("not a number")
    if isinstance(value, str):
        text = unicodedata.normalize("NFKC", value).strip().replace(",", "").replace("−", "-")
        return float(text)
    return value


Number = Annotated[float, BeforeValidator(_number), Field(allow_inf_nan=False)]


class Numerical(QuestionType[NumericalConfig]):
    name = "numerical"
    label = N_("Numerical")
    config_model = NumericalConfig
    answer_adapter = TypeAdapter(Number)

    def score(self, config: NumericalConfig, answer: Any) -> float:
        scale = max(1.0, abs(answer))
        hits = [a.fraction for a in config.answers
                if a.bounds()[0] - 1e-9 * scale <= answer <= a.bounds()[1] + 1e-9 * scale]
        return max(hits, default=0.0)

    def student_view(self, config: NumericalConfig) -> dict[str, Any]:
        return {"unit": config.unit}

    def key_summary(self, config: NumericalConfig) -> str:
        best = next(a for a in config.answers if a.fraction >= 1 - EPSILON)
        if best.value is not None:
            return f"{best.value:g}" + (f"±{best.tolerance:g}" if best.tolerance else "")
        return f"{best.min:g}..{best.max:g}"
