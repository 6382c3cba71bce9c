"""Question importers. Every parser takes the uploaded bytes and returns an `ImportResult`: the drafts,
the errors (each with its line/row or item; any error means nothing is imported) and warnings. A file
that cannot be read at all (encoding, not well-formed, unsafe zip) comes back as a result with one
whole-file error, so callers handle a single shape.

    result = parse_import(data, "gift")            # gift, aiken, moodle-xml, qti, xlsx
    if not result.ok: 422 with [e.as_error() for e in result.errors]
    for draft in result.drafts: store (draft.fingerprint finds duplicates in the bank)

Parsing is pure and bounded (file size, question count, zip limits), so a request can preview a
small file directly; big files go through a job like any bulk import.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from app.core.i18n import gettext as _
from app.exams.drafts import QuestionDraft
from app.exams.importers.aiken import parse_aiken
from app.exams.importers.base import ImportIssue, ImportRefused, ImportResult
from app.exams.importers.gift import parse_gift
from app.exams.importers.moodle_xml import parse_moodle_xml
from app.exams.importers.qti import parse_qti
from app.exams.importers.xlsx import parse_xlsx
from app.exams.importers.xlsx_template import xlsx_template

PARSERS: dict[str, Callable[[bytes], ImportResult]] = {
    "gift": parse_gift, "aiken": parse_aiken, "moodle-xml": parse_moodle_xml, "qti": parse_qti, "xlsx": parse_xlsx,
}
FORMATS = tuple(PARSERS)
_EXTENSIONS = {".gift": "gift", ".txt": "aiken", ".xml": "moodle-xml", ".zip": "qti", ".xlsx": "xlsx"}


def guess_format(filename: str, data: bytes) -> str | None:
    """A format from the file name and first bytes, for forms that do not ask (None: cannot tell)."""
    name = filename.lower()
    if data.startswith(b"PK"):
        return "qti" if name.endswith(".zip") else "xlsx" if name.endswith(".xlsx") else None
    head = data[:2000].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"<"):
        return "moodle-xml" if b"<quiz" in head else "qti"
    for ext, fmt in _EXTENSIONS.items():
        if name.endswith(ext):
            return fmt
    return None


def parse_import(data: bytes, fmt: str, *, filename: str = "") -> ImportResult:
    if fmt not in PARSERS:
        result = ImportResult(fmt)
        result.error("", _("Unknown import format %(format)s.", format=fmt))
        return result
    try:
        return parse_qti(data, filename) if fmt == "qti" else PARSERS[fmt](data)
    except ImportRefused as refused:
        result = ImportResult(fmt)
        result.error(refused.loc, refused.msg)
        return result


def find_duplicates(drafts: Iterable[QuestionDraft], existing: Iterable[str] = ()) -> dict[int, str]:
    """Index of each draft that repeats a question already in the bank (`existing` fingerprints) or an
    earlier draft of the same file → "bank" or "file"."""
    known = set(existing)
    seen: set[str] = set()
    found: dict[int, str] = {}
    for index, draft in enumerate(drafts):
        fp = draft.fingerprint
        if fp in known:
            found[index] = "bank"
        elif fp in seen:
            found[index] = "file"
        seen.add(fp)
    return found


__all__ = ["FORMATS", "PARSERS", "ImportIssue", "ImportRefused", "ImportResult", "find_duplicates", "guess_format",
           "parse_aiken", "parse_gift", "parse_import", "parse_moodle_xml", "parse_qti", "parse_xlsx", "xlsx_template"]
