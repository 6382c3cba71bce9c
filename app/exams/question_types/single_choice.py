"""Single choice (单选题).

{"type": "single_choice", "v": 1, "options": [{"id": "A", "text": "…", "feedback": ""}, …],
 "correct": "A", "shuffle": true}
Response: the chosen option id, "A".
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


class SingleChoiceConfig(Config):
    type: Literal["single_choice"] = "single_choice"
    options: list[Option] = Field(min_length=2, max_length=26)
    correct: OptionId
    shuffle: bool = True

    @model_validator(mode="after")
    def _key(self) -> SingleChoiceConfig:
        if self.correct not in check_unique_ids(self.options):
            raise ConfigError(N_("The right answer %(id)s is not one of the options."), id=self.correct)
        return self


class SingleChoice(QuestionType[SingleChoiceConfig]):
    name = "single_choice"
    label = N_("Single choice")
    config_model = SingleChoiceConfig
    answer_adapter = TypeAdapter(OptionId)

    def check_answer(self, config: SingleChoiceConfig, answer: Any) -> None:
        if answer not in {o.id for o in config.options}:
            raise AnswerInvalid("unknown option")

    def score(self, config: SingleChoiceConfig, answer: Any) -> float:
        return 1.0 if answer == config.correct else 0.0

    def shuffle(self, config: SingleChoiceConfig, rng: random.Random) -> Shuffled:
        options, mapping = relabel(config.options, rng if config.shuffle else None)
        back = {v: k for k, v in mapping.items()}
        return Shuffled(config.model_copy(update={"options": options, "correct": back[config.correct]}), mapping)

    def original_answer(self, answer: Any, mapping: dict[str, str]) -> Any:
        return mapping.get(answer, answer) if isinstance(answer, str) else answer

    def student_view(self, config: SingleChoiceConfig) -> dict[str, Any]:
        return {"options": public_options(config.options)}

    def key_summary(self, config: SingleChoiceConfig) -> str:
        return config.correct
