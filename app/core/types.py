"""Input types shared by every route and schema: what the edges accept, said once.

Ids and other whole numbers are bounded to what the database stores: the integer columns are INTEGER
(int4 on PostgreSQL), so an id is 1 … 2³¹−1 and a count or position at most 2³¹−1. A larger number
(2⁶³ and up) used to reach the driver and answer 500; now it never gets past validation. A path
parameter that is not a valid id answers 404 (no such thing, app/core/errors.py), a query or body
field 422.

Text refuses control characters and NUL: PostgreSQL cannot store NUL, Excel exports cannot hold C0
controls, and a lone surrogate cannot be encoded at all. `Line` is one line (names, titles, search
words), `Text` may span lines (tab, CR and LF allowed). `JsonValue` is free-form JSON (an answer, a
material's settings): bounded in depth, with every string and key held to `Text`.

    def page(exam_id: Id, offset: Offset = 0, q: Line = "") -> ...
    class ExamIn(BaseModel): title: Line; paper_id: Id; time_limit_s: Count | None = None
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any

from annotated_types import Ge, Le
from pydantic import AfterValidator, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError, from_json

from app.core.i18n import gettext as _

INT4_MAX = 2**31 - 1
INT4_MIN = -(2**31)

# Row ids (path, query and body alike): 1 … 2³¹−1.
Id = Annotated[int, Ge(1), Le(INT4_MAX)]
# A list's ?offset=, and any count, position, size or number of seconds stored in an int4 column.
Offset = Annotated[int, Ge(0), Le(INT4_MAX)]
Count = Annotated[int, Ge(0), Le(INT4_MAX)]
# A signed whole number stored in an int4 column (a sort order).
Int4 = Annotated[int, Ge(INT4_MIN), Le(INT4_MAX)]
# A size in bytes, stored in a bigint column (media files may pass 2 GB).
INT8_MAX = 2**63 - 1
BIGINT_COLUMN = "stored in a bigint column"
ByteSize = Annotated[int, Ge(0), Le(INT8_MAX), BIGINT_COLUMN]

# C0 controls but tab, LF and CR; DEL and the C1 controls; UTF-16 surrogates (unencodable on their own).
_CONTROL = "\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff"
_BAD_IN_TEXT = re.compile(f"[{_CONTROL}]")
_BAD_IN_LINE = re.compile(f"[{_CONTROL}\t\n\r]")
# The same rule for clients reading /openapi.json (ECMA-262 syntax).
_TEXT_PATTERN = r"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]*$"
_LINE_PATTERN = r"^[^\u0000-\u001f\u007f-\u009f]*$"


def has_controls(value: str, *, multiline: bool = False) -> bool:
    return bool((_BAD_IN_TEXT if multiline else _BAD_IN_LINE).search(value))


def refuse_controls(value: str, *, multiline: bool = True) -> str:
    if (_BAD_IN_TEXT if multiline else _BAD_IN_LINE).search(value):
        message = _("Must not contain control characters.") if multiline else _("Must be one line without control characters.")
        raise PydanticCustomError("control_characters", message)
    return value


def _text(value: str) -> str:
    return refuse_controls(value, multiline=True)


def _line(value: str) -> str:
    return refuse_controls(value, multiline=False)


@dataclass(frozen=True)
class _Pattern:
    """Adds the rule to the field's JSON schema (beside its other constraints) for clients and property-based tests."""

    pattern: str

    def __get_pydantic_json_schema__(self, core_schema: Any, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        schema = handler(core_schema)
        schema.setdefault("pattern", self.pattern)
        return schema


Text = Annotated[str, AfterValidator(_text), _Pattern(_TEXT_PATTERN)]
Line = Annotated[str, AfterValidator(_line), _Pattern(_LINE_PATTERN)]

# Free-form JSON from a client: deep enough for any answer or setting we store, shallow enough that
# nothing downstream (json.dumps, templates, grading) recurses out of the stack.
JSON_MAX_DEPTH = 32


def check_json(value: Any, *, max_depth: int = JSON_MAX_DEPTH) -> Any:
    """`value` if it is plain JSON within `max_depth` levels whose strings (and keys) are `Text`; a
    PydanticCustomError (422 with a Chinese message) otherwise. Walks without recursion."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            refuse_controls(item)
        elif isinstance(item, float):
            if item != item or item in (float("inf"), float("-inf")):
                raise PydanticCustomError("json_number", _("Numbers must be finite."))
        elif isinstance(item, dict | list):
            if depth > max_depth:
                raise PydanticCustomError("json_depth", _("Nested too deeply (at most %(depth)s levels).", depth=max_depth))
            if isinstance(item, dict):
                for key, child in item.items():
                    if not isinstance(key, str):
                        raise PydanticCustomError("json_key", _("Object keys must be text."))
                    refuse_controls(key)
                    stack.append((child, depth + 1))
            else:
                stack.extend((child, depth + 1) for child in item)
        elif item is not None and not isinstance(item, bool | int):
            raise PydanticCustomError("json_type", _("Only JSON values are accepted."))
    return value


JsonValue = Annotated[Any, AfterValidator(check_json)]
JsonObject = Annotated[dict[str, Any], AfterValidator(check_json)]


def parse_json(text: str | bytes, *, max_depth: int = JSON_MAX_DEPTH) -> Any:
    """JSON sent inside a form field, as `JsonValue` accepts it: ValueError when the text is not JSON,
    ValidationFailed (422, in Chinese) when it nests deeper than `max_depth` or holds control characters.
    Python's json module would recurse once per level and fail with RecursionError (a 500) on deep input;
    pydantic's parser stops at a fixed depth instead."""
    from app.core.errors import ValidationFailed

    try:
        value = from_json(text, allow_inf_nan=False)
    except ValueError as exc:
        if "recursion limit" in str(exc):
            raise ValidationFailed(_("Nested too deeply (at most %(depth)s levels).", depth=max_depth)) from None
        raise
    try:
        return check_json(value, max_depth=max_depth)
    except PydanticCustomError as exc:
        raise ValidationFailed(exc.message()) from None
