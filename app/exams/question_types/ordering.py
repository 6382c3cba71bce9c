"""Ordering (排序题), e.g. the steps of an SOP.

{"type": "ordering", "v": 1, "items": [{"id": "A", "text": "…"}, …], "correct": ["B", "A", "C"],
 "partial_credit": "none" | "position" | "adjacent"}
Response: every item id in the trainee's order, ["B", "A", "C"].

`items` is the authored list; `correct` the right order (every id once). Items are always shuffled
when presented. partial_credit: none = all or nothing; position = share of items in their right place;
adjacent = share of neighbouring pairs that are right (Moodle's "relative to the next item").
"""

from __future__ import annotations

import random
from typing import Any, Literal

from pydantic import Field, TypeAdapter, model_validator

from app.core.i18n import N_
from app.exams.question_types.base import (
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


class OrderingConfig(Config):
    type: Literal["ordering"] = "ordering"
    items: list[Option] = Field(min_length=2, max_length=50)
    correct: list[OptionId] = Field(default_factory=list, max_length=50)
    partial_credit: Literal["none", "position", "adjacent"] = "none"

    @model_validator(mode="after")
    def _key(self) -> OrderingConfig:
        ids = check_unique_ids(self.items, "item")
        if not self.correct:
            self.correct = [i.id for i in self.items]
        if sorted(self.correct) != sorted(ids):
            raise ConfigError(N_("The right order must list every item exactly once."))
        return self


class Ordering(QuestionType[OrderingConfig]):
    name = "ordering"
    label = N_("Ordering")
    config_model = OrderingConfig
    answer_adapter = TypeAdapter(list[OptionId])

    def check_answer(self, config: OrderingConfig, answer: Any) -> None:
        if sorted(answer) != sorted(i.id for i in config.items):
            raise AnswerInvalid("not every item exactly once")

    def score(self, config: OrderingConfig, answer: Any) -> float:
        if answer == config.correct:
            return 1.0
        if config.partial_credit == "position":
            return sum(a == c for a, c in zip(answer, config.correct, strict=True)) / len(config.correct)
        if config.partial_credit == "adjacent":
            right = set(zip(config.correct, config.correct[1:], strict=False))
            return sum(p in right for p in zip(answer, answer[1:], strict=False)) / len(right)
        return 0.0

    def shuffle(self, config: OrderingConfig, rng: random.Random) -> Shuffled:
        items, mapping = relabel(config.items, rng)
        back = {v: k for k, v in mapping.items()}
        return Shuffled(config.model_copy(update={"items": items, "correct": [back[i] for i in config.correct]}), mapping)

    def original_answer(self, answer: Any, mapping: dict[str, str]) -> Any:
        return [mapping.get(i, i) for i in answer] if isinstance(answer, list) else answer

    def student_view(self, config: OrderingConfig) -> dict[str, Any]:
        return {"options": public_options(config.items)}

    def key_summary(self, config: OrderingConfig) -> str:
        return "".join(config.correct) if all(len(i) == 1 for i in config.correct) else ",".join(config.correct)
