"""Question types behind one registry. Each module documents its config shape (version 1) and response.

The config is stored as JSON with the question version; `parse_config` validates it (a discriminated
union on `type`, like app/courses/materials.py does for materials). Writing a question validates its
config strictly, through drafts.build_draft (every importer, the editor and the API): texts are checked
after sanitising, so an option of `<script>x</script>`, `<b> </b>` or `&nbsp;` is refused. Reading a
stored config (`parse_config`) skips those emptiness checks (the STORED context): a row written before
them keeps grading and showing, and exams.question_checks keeps it away from new draws and exports.
The attempt engine calls:

    shuffle(config, rng)          → Shuffled(config as presented, mapping presented id → authored id)
    student_view(config)          → what the trainee's page may show (no key)
    validate_answer(config, raw)  → canonical response, or AnswerInvalid (the save answers 422)
    grade(config, answer, points) → Grade(fraction, points, correct, needs_manual)
    original_answer(type, answer, mapping) → the response in authored ids (item analysis)

Grade the response against the presented (shuffled) config the attempt stored: its key follows the
shuffle. A later shape adds a model with `v: Literal[2]` and an upgrade step here.
"""

from __future__ import annotations

import random
from typing import Annotated, Any

from pydantic import Field, TypeAdapter, ValidationError

from app.core.i18n import N_
from app.exams.question_types.base import (
    STORED,
    AnswerInvalid,
    ConfigError,
    EmptyText,
    Grade,
    Option,
    QuestionType,
    Shuffled,
)
from app.exams.question_types.fill_blank import BLANK_MARK, Blank, FillBlank, FillBlankConfig, count_blanks
from app.exams.question_types.matching import Matching, MatchingConfig
from app.exams.question_types.multiple_choice import MultipleChoice, MultipleChoiceConfig
from app.exams.question_types.normalize import blank_html, fingerprint, normalize_answer, plain_text
from app.exams.question_types.numerical import Numerical, NumericalConfig, NumericAnswer
from app.exams.question_types.ordering import Ordering, OrderingConfig
from app.exams.question_types.short_answer import RubricItem, ShortAnswer, ShortAnswerConfig
from app.exams.question_types.single_choice import SingleChoice, SingleChoiceConfig
from app.exams.question_types.true_false import TrueFalse, TrueFalseConfig

QuestionConfig = Annotated[
    SingleChoiceConfig | MultipleChoiceConfig | TrueFalseConfig | FillBlankConfig | ShortAnswerConfig
    | OrderingConfig | MatchingConfig | NumericalConfig,
    Field(discriminator="type"),
]
config_adapter: TypeAdapter[QuestionConfig] = TypeAdapter(QuestionConfig)

REGISTRY: dict[str, QuestionType[Any]] = {t.name: t for t in (
    SingleChoice(), MultipleChoice(), TrueFalse(), FillBlank(), ShortAnswer(), Ordering(), Matching(), Numerical())}
TYPE_NAMES = tuple(REGISTRY)


def get_type(name: str) -> QuestionType[Any]:
    try:
        return REGISTRY[name]
    except KeyError:
        raise ConfigError(N_("Unknown question type %(type)s."), type=name) from None


def parse_config(data: dict[str, Any] | Any) -> QuestionConfig:
    """Read a stored config (a question version's, an attempt's presented one): its shape and key are
    validated, but a text left empty by sanitising does not fail it (see STORED). Raises pydantic's
    ValidationError; a ConfigError from a validator sits in each error's ctx["error"] with a translatable
    message (see drafts.describe_errors). A submitted config goes through drafts.build_draft instead."""
    return config_adapter.validate_python(data, context=STORED)


def dump_config(config: QuestionConfig) -> dict[str, Any]:
    return config.model_dump(mode="json")


def validate_answer(config: QuestionConfig, raw: Any) -> Any:
    return get_type(config.type).validate_answer(config, raw)


def grade(config: QuestionConfig, answer: Any, points: float = 1.0) -> Grade:
    return get_type(config.type).grade(config, answer, points)


def shuffle(config: QuestionConfig, rng: random.Random) -> Shuffled:
    return get_type(config.type).shuffle(config, rng)


def original_answer(config_type: str, answer: Any, mapping: dict[str, str]) -> Any:
    return get_type(config_type).original_answer(answer, mapping)


def student_view(config: QuestionConfig) -> dict[str, Any]:
    return get_type(config.type).student_view(config)


__all__ = [
    "BLANK_MARK", "REGISTRY", "STORED", "TYPE_NAMES", "AnswerInvalid", "Blank", "ConfigError", "EmptyText",
    "FillBlankConfig", "Grade", "MatchingConfig", "MultipleChoiceConfig", "NumericAnswer", "NumericalConfig", "Option",
    "OrderingConfig", "QuestionConfig", "QuestionType", "RubricItem", "ShortAnswerConfig", "Shuffled",
    "SingleChoiceConfig", "TrueFalseConfig", "ValidationError", "blank_html", "config_adapter", "count_blanks",
    "dump_config", "fingerprint", "get_type", "grade", "normalize_answer", "original_answer", "parse_config",
    "plain_text", "shuffle", "student_view", "validate_answer",
]
