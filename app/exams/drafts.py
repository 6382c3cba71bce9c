"""A question as it comes out of an importer or goes into an exporter, before the bank stores it.

`QuestionDraft` holds what a bank question holds apart from ids and status: type, stem (sanitised rich
text), the type's config (see question_types), points, difficulty 1–5, explanation (解析), tags, a
category path ("安全/消防"), cited clauses as "<standard code> <clause number>" ("DB3204/T 1001—2021
5.2.1"; the bank resolves them against the standards library), plus where it came from (`source`:
line or item) and the id the other system gave it (GIFT `[id:]`, Moodle idnumber, QTI identifier).

`build_draft(**fields)` validates and returns (draft, []) or (None, [translated messages]). It is the one
place a question's content is validated before it is stored, whatever it came from (every importer, the
editor, the JSON API, an edit): texts are checked after sanitising, so a stem or option that sanitises
to nothing (`<script>x</script>`, `<b> </b>`, `&nbsp;`) is refused with a message naming it.
`build_draft(stored=True, …)` reads stored content leniently (see question_types.STORED).
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator

from app.core.i18n import N_
from app.core.i18n import gettext as _
from app.exams.question_types import (
    STORED,
    TYPE_NAMES,
    ConfigError,
    EmptyText,
    QuestionConfig,
    blank_html,
    count_blanks,
    fingerprint,
)
from app.exams.question_types.base import MAX_TEXT, reading_stored, rich_text
from app.standards.parsing import valid_number

# "DB3204/T 1001—2021 5.2.1", "GB/T 1.1—2020 A.2": a standard code, a space, a clause number.
CLAUSE_REF = re.compile(r"^(?P<code>\S.{0,62}\S)\s+(?P<number>(?:[A-Z]\.)?\d{1,3}(?:\.\d{1,3}){0,5})$")
MAX_TAGS = 20


def split_clause_ref(ref: str) -> tuple[str, str]:
    """("DB3204/T 1001—2021", "5.2.1"); ValueError when the text is not a clause reference."""
    match = CLAUSE_REF.match(" ".join(ref.replace("\u3000", " ").split()))
    number = match.group("number") if match else ""
    if not match or not valid_number(number.split(".", 1)[1] if number[:1].isalpha() else number):
        raise ConfigError(N_("%(ref)s is not a clause reference like “DB3204/T 1001—2021 5.2.1”."), ref=ref)
    return match.group("code"), number


class SourceRef(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    line: int | None = None  # 1-based line or spreadsheet row
    item: str | None = None  # file name in a package, or "3" for the third question of an XML file

    @property
    def loc(self) -> int | str:
        return self.line if self.line is not None else (self.item or "")


class Attachment(BaseModel):
    """A file the stem refers to by relative name (an image in a QTI package)."""

    name: str
    media_type: str
    data: bytes


class QuestionDraft(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    type: str
    stem: str = Field(max_length=MAX_TEXT)
    config: QuestionConfig
    points: float = Field(default=1.0, gt=0, le=1000)
    difficulty: int = Field(default=3, ge=1, le=5)
    explanation: str = Field(default="", max_length=MAX_TEXT)
    tags: list[str] = Field(default_factory=list)
    category: str = Field(default="", max_length=200)
    clauses: list[str] = Field(default_factory=list, max_length=50)
    title: str = Field(default="", max_length=255)
    external_id: str = Field(default="", max_length=100)
    source: SourceRef = Field(default_factory=SourceRef)
    attachments: list[Attachment] = Field(default_factory=list)

    @field_validator("stem", "explanation")
    @classmethod
    def _sanitize(cls, value: str) -> str:
        return rich_text(value)

    @field_validator("stem")
    @classmethod
    def _stem_shows_something(cls, value: str, info: ValidationInfo) -> str:
        if not reading_stored(info) and blank_html(value):
            raise EmptyText(N_("The stem is empty once unsafe markup and spaces are removed."))
        return value

    @field_validator("tags")
    @classmethod
    def _tags(cls, value: list[str]) -> list[str]:
        tags = list(dict.fromkeys(t.strip() for t in value if t and t.strip()))
        if len(tags) > MAX_TAGS or any(len(t) > 50 for t in tags):
            raise ConfigError(N_("At most %(n)s tags of at most 50 characters each."), n=MAX_TAGS)
        return tags

    @field_validator("category")
    @classmethod
    def _category(cls, value: str) -> str:
        return "/".join(p.strip() for p in value.split("/") if p.strip())

    @field_validator("clauses")
    @classmethod
    def _clauses(cls, value: list[str]) -> list[str]:
        refs = [" ".join(split_clause_ref(r)) for r in value if r.strip()]
        return list(dict.fromkeys(refs))

    @model_validator(mode="after")
    def _consistent(self) -> QuestionDraft:
        if self.type != self.config.type:
            raise ConfigError(N_("The configuration is for a different question type."))
        if self.config.type == "fill_blank":
            marks = count_blanks(self.stem)
            if marks not in (0, len(self.config.blanks)) or (marks == 0 and len(self.config.blanks) > 1):
                raise ConfigError(N_("The stem has %(marks)s blanks (____) but %(answers)s answers are given."),
                                  marks=marks, answers=len(self.config.blanks))
        return self

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.type, self.stem)


FIELD_LABELS = {
    "type": N_("type"), "stem": N_("stem"), "config": N_("answer"), "points": N_("points"),
    "difficulty": N_("difficulty"), "explanation": N_("explanation"), "tags": N_("tags"), "category": N_("category"),
    "clauses": N_("clauses"), "title": N_("title"), "external_id": N_("id"),
}


# Which text is empty, by the list it sits in (from the error's location) and its 1-based position.
EMPTY_TEXT = {
    "options": N_("Option %(n)s is empty once unsafe markup and spaces are removed."),
    "items": N_("Item %(n)s is empty once unsafe markup and spaces are removed."),
    "left": N_("Left-hand item %(n)s is empty once unsafe markup and spaces are removed."),
    "right": N_("Right-hand item %(n)s is empty once unsafe markup and spaces are removed."),
    "blanks": N_("Blank %(n)s has an answer that is empty once spaces and punctuation are ignored."),
}


def _empty_text(cause: EmptyText, loc: tuple[int | str, ...]) -> str:
    for name, index in zip(reversed(loc[:-1]), reversed(loc[1:]), strict=True):
        if isinstance(index, int) and name in EMPTY_TEXT:
            return _(EMPTY_TEXT[str(name)], n=index + 1)
    return cause.translated()


def describe_errors(exc: ValidationError) -> list[str]:
    """Pydantic errors → translated sentences. ConfigError messages are ours; the rest are generic."""
    messages: list[str] = []
    for err in exc.errors():
        cause = (err.get("ctx") or {}).get("error")
        field = next((str(p) for p in err["loc"] if str(p) in FIELD_LABELS), "config")
        label = _(FIELD_LABELS[field])
        if isinstance(cause, EmptyText):
            text = _empty_text(cause, tuple(err["loc"]))
        elif isinstance(cause, ConfigError):
            text = cause.translated()
        elif err["type"] == "missing":
            text = _("%(field)s is missing.", field=label)
        elif err["type"] in ("string_too_short", "too_short"):
            text = _("%(field)s is empty or too short.", field=label)
        elif err["type"] in ("string_too_long", "too_long"):
            text = _("%(field)s is too long.", field=label)
        elif err["type"] == "union_tag_invalid":
            text = _("Unknown question type %(type)s.", type=(err.get("ctx") or {}).get("tag", ""))
        elif field == "difficulty":
            text = _("Difficulty must be a whole number from 1 to 5.")
        elif field == "points":
            text = _("Points must be a number above 0 and at most 1000.")
        else:
            text = _("%(field)s is not valid.", field=label)
        if text not in messages:
            messages.append(text)
    return messages


def build_draft(*, stored: bool = False, **fields: Any) -> tuple[QuestionDraft | None, list[str]]:
    """Validate a question's content (see the module docstring). `stored`: content read back from the
    bank, whose texts may predate the emptiness checks (an edit that changes only tags or status)."""
    if fields.get("type") not in TYPE_NAMES:
        return None, [_("Unknown question type %(type)s.", type=fields.get("type") or "")]
    config = fields.get("config")
    if isinstance(config, dict):
        fields["config"] = {**config, "type": fields["type"]}
    try:
        return QuestionDraft.model_validate(fields, context=STORED if stored else None), []
    except ValidationError as exc:
        return None, describe_errors(exc)
    except ConfigError as exc:
        return None, [exc.translated()]
