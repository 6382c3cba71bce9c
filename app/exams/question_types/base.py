"""What every question type shares: the config base, options, grades, shuffles, and the errors.

A type module defines a Pydantic config (extra fields forbidden, `v: Literal[1]`, `type` literal for the
discriminated union) and a `QuestionType` subclass with the behaviour. Option ids are the stable names
answers refer to; a shuffle gives the trainee fresh ids in presented order ("A", "B", … / "L1", "R1"),
so nothing in the page leaks the authored order, and rewrites the key to those ids. The mapping from a
presented id back to the authored id travels with the attempt (item analysis counts authored options).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Annotated, Any, ClassVar, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, ValidationInfo, field_validator, model_validator

from app.core.i18n import N_
from app.core.i18n import gettext as _
from app.courses.materials import sanitize_html
from app.exams.question_types.normalize import blank_html

CONFIG_VERSION = 1
EPSILON = 1e-4
MAX_TEXT = 20_000

OptionId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]

# Validation context for reading a stored config (question_types.parse_config): the checks that a text
# is not empty once sanitised are skipped, because rows written before those checks existed must stay
# readable (gradable, showable, editable). Everything that writes a question validates without it.
STORED: dict[str, Any] = {"stored": True}


def reading_stored(info: ValidationInfo) -> bool:
    return bool(info.context and info.context.get("stored"))


class ConfigError(ValueError):
    """A problem with a question's config or key. `msgid` is English and translatable; `variables` fill it."""

    def __init__(self, msgid: str, **variables: Any) -> None:
        super().__init__(msgid % variables if variables else msgid)
        self.msgid = msgid
        self.variables = variables

    def translated(self) -> str:
        return _(self.msgid, **self.variables)


class EmptyText(ConfigError):
    """A required text (an option, an item, a side of a pair, the stem, a blank's answer) is empty once
    sanitised. drafts.describe_errors names which one from the error's location."""


class AnswerInvalid(ValueError):
    """The response does not have the shape the question type takes (see ../shared/API.md)."""


def rich_text(value: str) -> str:
    return sanitize_html(value or "")


class Config(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    v: Literal[1] = 1  # CONFIG_VERSION


class Option(BaseModel):
    """A choice, an item to order, or one side of a pair. `text` is sanitised rich text and must show
    something once sanitised (`=<script>x</script>` in GIFT, `<b> </b>` or `&nbsp;` are empty), except
    when reading a stored config (see STORED)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    id: OptionId
    text: str = Field(max_length=MAX_TEXT)
    feedback: str = Field(default="", max_length=MAX_TEXT)

    @field_validator("text", "feedback")
    @classmethod
    def _sanitize(cls, value: str) -> str:
        return rich_text(value)

    @model_validator(mode="after")
    def _not_blank(self, info: ValidationInfo) -> Option:
        if not reading_stored(info) and blank_html(self.text):
            raise EmptyText(N_("An option or item is empty once unsafe markup and spaces are removed."))
        return self


def check_unique_ids(options: list[Option], what: str = "option") -> set[str]:
    ids = [o.id for o in options]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        msgid = N_("Two options have the same id: %(ids)s") if what == "option" else N_("Two items have the same id: %(ids)s")
        raise ConfigError(msgid, ids=", ".join(dupes))
    return set(ids)


def public_options(options: list[Option]) -> list[dict[str, str]]:
    return [{"id": o.id, "text": o.text} for o in options]


@dataclass(frozen=True)
class Grade:
    fraction: float  # of the question's points, 0..1
    points: float
    correct: bool
    needs_manual: bool = False


@dataclass
class Shuffled:
    """The config as one trainee sees it (key rewritten to presented ids) and presented id → authored id."""

    config: Any
    mapping: dict[str, str] = field(default_factory=dict)


def relabel(options: list[Option], rng: random.Random | None, prefix: str = "") -> tuple[list[Option], dict[str, str]]:
    """Shuffle (when rng is given) and rename options to A, B, C … (or prefix1, prefix2 …) in presented order."""
    order = list(options)
    if rng is not None:
        rng.shuffle(order)
    presented: list[Option] = []
    mapping: dict[str, str] = {}
    for index, option in enumerate(order):
        new_id = f"{prefix}{index + 1}" if prefix else _letter(index)
        presented.append(option.model_copy(update={"id": new_id}))
        mapping[new_id] = option.id
    return presented, mapping


def _letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def clamp(value: float) -> float:
    if value >= 1 - EPSILON:
        return 1.0
    return max(0.0, min(1.0, value))


C = TypeVar("C", bound=Config)


class QuestionType(Generic[C]):
    """Behaviour of one type. Subclasses set `name`, `label`, `config_model`, `answer_adapter`."""

    name: ClassVar[str]
    label: ClassVar[str]  # English msgid, shown through gettext
    config_model: ClassVar[type[Config]]
    answer_adapter: ClassVar[TypeAdapter[Any]]
    manual: ClassVar[bool] = False

    def validate_answer(self, config: C, raw: Any) -> Any:
        """The response in its canonical form; AnswerInvalid when its shape or ids are wrong."""
        try:
            answer = self.answer_adapter.validate_python(raw)
        except ValidationError as exc:
            raise AnswerInvalid(str(exc.errors()[0]["msg"])) from exc
        self.check_answer(config, answer)
        return answer

    def check_answer(self, config: C, answer: Any) -> None:  # ids belong to the question, lengths fit
        return None

    def score(self, config: C, answer: Any) -> float:  # fraction 0..1 for a valid answer
        raise NotImplementedError

    def grade(self, config: C, raw: Any, points: float = 1.0) -> Grade:
        if raw is None:
            return Grade(0.0, 0.0, False, False)
        try:
            answer = self.validate_answer(config, raw)
        except AnswerInvalid:
            return Grade(0.0, 0.0, False, False)
        if self.manual:
            return Grade(0.0, 0.0, False, True)
        fraction = clamp(self.score(config, answer))
        return Grade(fraction, round(fraction * points, 4), fraction >= 1.0, False)

    def shuffle(self, config: C, rng: random.Random) -> Shuffled:
        return Shuffled(config, {})

    def original_answer(self, answer: Any, mapping: dict[str, str]) -> Any:
        """A response given to the shuffled config, in authored ids."""
        return answer

    def student_view(self, config: C) -> dict[str, Any]:
        """What the trainee may see: no key, no feedback."""
        return {}

    def key_summary(self, config: C) -> str:
        """The key as short plain text for authors and exports (e.g. "A", "ACD", "正确")."""
        return ""
