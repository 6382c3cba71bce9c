"""Fill in the blank (填空题).

{"type": "fill_blank", "v": 1,
 "blanks": [{"accepted": ["GB/T 1.1", "GB/T1.1"], "partial": {"GB 1.1": 0.5}, "options": []}, …],
 "case_sensitive": false, "any_order": false}
Response: one text per blank, ["…", "…"].

The stem marks each blank with a run of three or more underscores ("____"); a stem without one has a
single blank after it. Answers are compared after `normalize_answer` (full/half width, spaces, Chinese
punctuation, case). `partial` gives some credit for a near answer (QTI's mapped values, GIFT's %50%).
`options` turns a blank into a drop-down (QTI inline choice, Moodle Cloze MULTICHOICE); the accepted
answers must then be among them. With `any_order` the answers may fill the blanks in any order
("name two of …"); each blank still counts once.

Every accepted (and partial) answer must keep something once normalised: an answer of only spaces or
punctuation ("。") could never be matched, so it is refused when a question is written.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationInfo, model_validator

from app.core.i18n import N_
from app.exams.question_types.base import AnswerInvalid, Config, ConfigError, EmptyText, QuestionType, reading_stored
from app.exams.question_types.normalize import normalize_answer

BLANK_MARK = re.compile(r"_{3,}")
BlankText = Annotated[str, Field(min_length=1, max_length=500)]


def count_blanks(stem: str) -> int:
    return len(BLANK_MARK.findall(stem))


class Blank(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    accepted: list[BlankText] = Field(min_length=1, max_length=30)
    partial: dict[BlankText, float] = Field(default_factory=dict)
    options: list[BlankText] = Field(default_factory=list, max_length=30)

    @model_validator(mode="after")
    def _check(self, info: ValidationInfo) -> Blank:
        if not reading_stored(info) and any(not normalize_answer(a) for a in [*self.accepted, *self.partial]):
            # "。" or "…" alone: nothing is left to compare once punctuation and spaces are ignored, so
            # no response could ever match it.
            raise EmptyText(N_("A blank has an answer that is empty once spaces and punctuation are ignored."))
        if any(not 0 < f < 1 for f in self.partial.values()):
            raise ConfigError(N_("Partial credit for a blank must be between 0 and 1."))
        if self.options:
            missing = [a for a in [*self.accepted, *self.partial] if a not in self.options]
            if missing:
                raise ConfigError(N_("The answers %(answers)s are not among the blank's choices."), answers=", ".join(missing))
        return self


class FillBlankConfig(Config):
    type: Literal["fill_blank"] = "fill_blank"
    blanks: list[Blank] = Field(min_length=1, max_length=30)
    case_sensitive: bool = False
    any_order: bool = False


def _blank_score(blank: Blank, text: str, case_sensitive: bool) -> float:
    given = normalize_answer(text, case_sensitive=case_sensitive)
    if not given:
        return 0.0
    if any(normalize_answer(a, case_sensitive=case_sensitive) == given for a in blank.accepted):
        return 1.0
    return max((f for a, f in blank.partial.items() if normalize_answer(a, case_sensitive=case_sensitive) == given),
               default=0.0)


class FillBlank(QuestionType[FillBlankConfig]):
    name = "fill_blank"
    label = N_("Fill in the blank")
    config_model = FillBlankConfig
    answer_adapter = TypeAdapter(list[Annotated[str, Field(max_length=500)]])

    def check_answer(self, config: FillBlankConfig, answer: Any) -> None:
        if len(answer) > len(config.blanks):
            raise AnswerInvalid("more answers than blanks")

    def score(self, config: FillBlankConfig, answer: Any) -> float:
        texts = list(answer) + [""] * (len(config.blanks) - len(answer))
        cs = config.case_sensitive
        if not config.any_order:
            return sum(_blank_score(b, t, cs) for b, t in zip(config.blanks, texts, strict=True)) / len(config.blanks)
        # Greedy: each text takes the open blank that gives it the most credit.
        open_blanks = list(config.blanks)
        total = 0.0
        for text in texts:
            scores = [_blank_score(b, text, cs) for b in open_blanks]
            if scores and max(scores) > 0:
                best = scores.index(max(scores))
                total += scores[best]
                open_blanks.pop(best)
        return total / len(config.blanks)

    def student_view(self, config: FillBlankConfig) -> dict[str, Any]:
        return {"blanks": len(config.blanks), "choices": [list(b.options) for b in config.blanks]}

    def key_summary(self, config: FillBlankConfig) -> str:
        return "；".join("|".join(b.accepted) for b in config.blanks)
