"""Matching (匹配题 / 连线题).

{"type": "matching", "v": 1, "left": [{"id": "L1", "text": "…"}, …], "right": [{"id": "R1", "text": "…"}, …],
 "pairs": {"L1": "R2", "L2": "R1"}, "partial_credit": true}
Response: {"<left id>": "<right id>", …}.

Every left item has exactly one right partner; the right side may hold extra distractors and a right
item may serve several left ones. Left and right ids are distinct. With partial credit the fraction is
the share of left items matched right; without, all or nothing. Both sides are shuffled when presented.
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


class MatchingConfig(Config):
    type: Literal["matching"] = "matching"
    left: list[Option] = Field(min_length=1, max_length=50)
    right: list[Option] = Field(min_length=1, max_length=60)
    pairs: dict[OptionId, OptionId]
    partial_credit: bool = True

    @model_validator(mode="after")
    def _key(self) -> MatchingConfig:
        left, right = check_unique_ids(self.left, "item"), check_unique_ids(self.right, "item")
        if left & right:
            raise ConfigError(N_("Left and right items need different ids."))
        if set(self.pairs) != left:
            raise ConfigError(N_("Every left item needs exactly one partner."))
        if not set(self.pairs.values()) <= right:
            raise ConfigError(N_("A pair names a right item that does not exist."))
        if len(self.right) < 2:
            raise ConfigError(N_("A matching question needs at least two items to choose from."))
        return self


class Matching(QuestionType[MatchingConfig]):
    name = "matching"
    label = N_("Matching")
    config_model = MatchingConfig
    answer_adapter = TypeAdapter(dict[OptionId, OptionId])

    def check_answer(self, config: MatchingConfig, answer: Any) -> None:
        if not set(answer) <= set(config.pairs) or not set(answer.values()) <= {r.id for r in config.right}:
            raise AnswerInvalid("unknown item")

    def score(self, config: MatchingConfig, answer: Any) -> float:
        right = sum(answer.get(left) == partner for left, partner in config.pairs.items())
        if right == len(config.pairs):
            return 1.0
        return right / len(config.pairs) if config.partial_credit else 0.0

    def shuffle(self, config: MatchingConfig, rng: random.Random) -> Shuffled:
        left, left_map = relabel(config.left, rng, "L")
        right, right_map = relabel(config.right, rng, "R")
        lb, rb = {v: k for k, v in left_map.items()}, {v: k for k, v in right_map.items()}
        pairs = {lb[k]: rb[v] for k, v in config.pairs.items()}
        return Shuffled(config.model_copy(update={"left": left, "right": right, "pairs": pairs}), {**left_map, **right_map})

    def original_answer(self, answer: Any, mapping: dict[str, str]) -> Any:
        return {mapping.get(k, k): mapping.get(v, v) for k, v in answer.items()} if isinstance(answer, dict) else answer

    def student_view(self, config: MatchingConfig) -> dict[str, Any]:
        return {"prompts": public_options(config.left), "options": public_options(config.right)}
