"""Multiple choice (多选题) with configurable partial credit.

{"type": "multiple_choice", "v": 1, "options": [{"id": "A", "text": "…"}, …], "correct": ["A", "C"],
 "partial_credit": "none" | "proportional" | "half" | "weights", "weights": {"A": 0.5, "B": -1, …},
 "shuffle": true}
Response: the chosen ids, ["A", "C"] (order does not matter).

partial_credit
  none          all or nothing (the default; 全对才得分)
  proportional  no wrong option chosen: the share of right options chosen; any wrong one: 0 (少选按比例得分)
  half          no wrong option chosen and at least one right: half; all right: full (少选得一半分)
  weights       Moodle/QTI style: the sum of the chosen options' weights (fractions, negative allowed),
                clamped to 0..1. Options without a weight count 0. The right options' weights must add up
                to 1 (Moodle's 100 %).
"""

from __future__ import annotations

import random
from typing import Any, Literal

from pydantic import Field, TypeAdapter, model_validator

from app.core.i18n import N_
from app.exams.question_types.base import (
    EPSILON,
    AnswerInvalid,
    Config,
    ConfigError,
    Option,
    OptionId,
    QuestionType,
    Shuffled,
    check_unique_ids,
    public_options,
    relabel,
)

PartialCredit = Literal["none", "proportional", "half", "weights"]


class MultipleChoiceConfig(Config):
    type: Literal["multiple_choice"] = "multiple_choice"
    options: list[Option] = Field(min_length=2, max_length=26)
    correct: list[OptionId] = Field(min_length=1, max_length=26)
    partial_credit: PartialCredit = "none"
    weights: dict[OptionId, float] = Field(default_factory=dict)
    shuffle: bool = True

    @model_validator(mode="after")
    def _key(self) -> MultipleChoiceConfig:
        ids = check_unique_ids(self.options)
        unknown = sorted((set(self.correct) | set(self.weights)) - ids)
        if unknown:
            raise ConfigError(N_("The answer names options that do not exist: %(ids)s"), ids=", ".join(unknown))
        if len(set(self.correct)) != len(self.correct):
            raise ConfigError(N_("A right option is listed twice."))
        if self.partial_credit == "weights":
            if any(not -1 - EPSILON <= w <= 1 + EPSILON for w in self.weights.values()):
                raise ConfigError(N_("Option weights must be fractions between -1 and 1."))
            if abs(sum(w for w in self.weights.values() if w > 0) - 1) > 1e-3:
                raise ConfigError(N_("The weights of the right options must add up to 1 (one hundred percent)."))
            if {k for k, w in self.weights.items() if w > 0} != set(self.correct):
                raise ConfigError(N_("The right options must be exactly those with a positive weight."))
        elif self.weights:
            raise ConfigError(N_("Option weights apply only to weighted partial credit."))
        return self


class MultipleChoice(QuestionType[MultipleChoiceConfig]):
    name = "multiple_choice"
    label = N_("Multiple choice")
    config_model = MultipleChoiceConfig
    answer_adapter = TypeAdapter(list[OptionId])

    def check_answer(self, config: MultipleChoiceConfig, answer: Any) -> None:
        ids = {o.id for o in config.options}
        if not set(answer) <= ids or len(set(answer)) != len(answer):
            raise AnswerInvalid("unknown or repeated option")

    def score(self, config: MultipleChoiceConfig, answer: Any) -> float:
        chosen, right = set(answer), set(config.correct)
        if config.partial_credit == "weights":
            return sum(config.weights.get(i, 0.0) for i in chosen)
        if chosen == right:
            return 1.0
        if config.partial_credit == "none" or not chosen or chosen - right:
            return 0.0
        return 0.5 if config.partial_credit == "half" else len(chosen) / len(right)

    def shuffle(self, config: MultipleChoiceConfig, rng: random.Random) -> Shuffled:
        options, mapping = relabel(config.options, rng if config.shuffle else None)
        back = {v: k for k, v in mapping.items()}
        presented = config.model_copy(update={
            "options": options, "correct": sorted(back[i] for i in config.correct),
            "weights": {back[k]: w for k, w in config.weights.items()}})
        return Shuffled(presented, mapping)

    def original_answer(self, answer: Any, mapping: dict[str, str]) -> Any:
        return [mapping.get(i, i) for i in answer] if isinstance(answer, list) else answer

    def student_view(self, config: MultipleChoiceConfig) -> dict[str, Any]:
        return {"options": public_options(config.options)}

    def key_summary(self, config: MultipleChoiceConfig) -> str:
        return "".join(config.correct) if all(len(i) == 1 for i in config.correct) else ",".join(config.correct)
