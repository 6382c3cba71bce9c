"""Pasted standard text → a clause list, checked as a tree.

A numbered heading is a line that starts with a clause number and a space: "5 服务要求", "5.2.1 茶水
服务" (full-width digits, "．" and the ideographic space are accepted). A short rest of the line without
closing punctuation is the clause's title; a longer one, or one ending in 。；, is its first paragraph
(GB/T 1.1 numbers paragraphs that have no title). Other lines are body text of the clause above.

The numbers must form a tree in order: 5.2.1 needs 5.2 before it, siblings count up by one (5.1, 5.2,
…), and the first child is .1. Every problem is reported with its line number, all at once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from app.core.errors import ValidationFailed
from app.core.i18n import gettext as _

MAX_DEPTH = 6
MAX_CLAUSES = 2000
TITLE_MAX = 40
_HEADING = re.compile(r"^(\d{1,3}(?:\.\d{1,3}){0,5})\s+(\S.*)$")
# Full-width digits, the full-width full stop and the ideographic space, as typed in Chinese documents.
# (Not NFKC: that would also turn the text's Chinese punctuation into ASCII.)
_FOLD = str.maketrans({**{chr(0xFF10 + i): str(i) for i in range(10)}, "．": ".", "\u3000": " "})
_SENTENCE_END = ("。", "；", ";", "：", ":", "，", ",")


@dataclass
class ParsedClause:
    number: str
    title: str
    body: str
    line: int
    parts: tuple[int, ...] = field(default=())

    @property
    def parent_number(self) -> str | None:
        return ".".join(str(p) for p in self.parts[:-1]) or None

    @property
    def depth(self) -> int:
        return len(self.parts) - 1


def number_parts(number: str) -> tuple[int, ...]:
    return tuple(int(p) for p in number.split("."))


def sort_key(number: str) -> str:
    return ".".join(f"{p:04d}" for p in number_parts(number))


def valid_number(number: str) -> bool:
    return bool(re.fullmatch(r"\d{1,3}(?:\.\d{1,3}){0,5}", number)) and all(p > 0 for p in number_parts(number))


def _split_heading(rest: str) -> tuple[str, str]:
    rest = rest.strip()
    if len(rest) <= TITLE_MAX and not rest.endswith(_SENTENCE_END):
        return rest, ""
    return "", rest


def parse_clauses(text: str) -> list[ParsedClause]:
    clauses: list[ParsedClause] = []
    errors: list[dict[str, object]] = []
    body: list[str] = []
    seen: dict[str, int] = {}
    last_child: dict[str, int] = {}  # parent number ("" for the top) → last child's last part

    def error(line: int, message: str) -> None:
        errors.append({"loc": ["text", line], "msg": message})

    def close() -> None:
        if clauses:
            current = clauses[-1]
            extra = "\n".join(body).strip()
            current.body = "\n".join(p for p in (current.body, extra) if p)
        body.clear()

    for index, raw in enumerate((text or "").splitlines(), start=1):
        line = raw.translate(_FOLD).strip()
        match = _HEADING.match(line)
        if not match:
            if not clauses and line:
                error(index, _("Line %(line)s: text before the first numbered heading (such as \"1 范围\").", line=index))
            elif clauses:
                body.append(line)
            continue
        close()
        number, rest = match.group(1), match.group(2)
        parts = number_parts(number)
        title, first = _split_heading(rest)
        clause = ParsedClause(number=number, title=title, body=first, line=index, parts=parts)
        if 0 in parts:
            error(index, _("Line %(line)s: clause numbers count from 1 (%(number)s).", line=index, number=number))
        elif number in seen:
            error(index, _("Line %(line)s: clause %(number)s appears twice (first on line %(first)s).",
                           line=index, number=number, first=seen[number]))
        elif clause.parent_number and clause.parent_number not in seen:
            error(index, _("Line %(line)s: clause %(number)s comes before its parent clause %(parent)s.",
                           line=index, number=number, parent=clause.parent_number))
        else:
            parent = clause.parent_number or ""
            previous = last_child.get(parent)
            expected = (previous + 1) if previous is not None else (1 if parent else None)
            if expected is not None and parts[-1] != expected:
                shown = f"{parent}.{expected}" if parent else str(expected)
                error(index, _("Line %(line)s: expected clause %(expected)s here, found %(number)s.",
                               line=index, expected=shown, number=number))
            last_child[parent] = parts[-1]
        seen.setdefault(number, index)
        clauses.append(clause)
    close()
    if not clauses and not errors:
        error(0, _("No numbered headings found. Each clause starts on its own line with its number, such as \"5.2.1 茶水服务\"."))
    if len(clauses) > MAX_CLAUSES:
        error(0, _("At most %(n)s clauses can be imported at once.", n=MAX_CLAUSES))
    if errors:
        raise ValidationFailed("\n".join(str(e["msg"]) for e in errors[:50]), errors=errors)
    return clauses
