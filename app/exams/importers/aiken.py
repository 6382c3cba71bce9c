"""Aiken: one question per block, a stem line, lettered options, then "ANSWER: X".

    安全帽的主要作用是什么？
    A. 装饰
    B. 防止头部受到冲击伤害
    ANSWER: B

Chinese editors type the separators in full width, so an option letter may be followed by ". ) 、．）"
and the answer line may read "ANSWER：B" or "答案：B". Several letters ("ANSWER: AC") make a multiple
choice question (an extension; strict Aiken has one letter). A stem may run over several lines. Blank
lines between questions are optional. Every problem is reported with its line number.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field

from app.core.i18n import gettext as _
from app.exams.drafts import SourceRef
from app.exams.importers.base import ImportResult, decode_text

_OPTION = re.compile(r"^([A-Za-zＡ-Ｚ])\s*[.)、．）]\s*(.*)$")
_ANSWER = re.compile(r"^(?:ANSWER|答案)\s*[:：]\s*(.*)$", re.IGNORECASE)


@dataclass
class _Question:
    line: int
    stem: list[str] = field(default_factory=list)
    options: list[tuple[str, str, int]] = field(default_factory=list)


def _letter(char: str) -> str:
    return chr(ord(char) - 0xFEE0).upper() if "Ａ" <= char <= "Ｚ" else char.upper()


def parse_aiken(data: bytes) -> ImportResult:
    text, encoding = decode_text(data)
    result = ImportResult("aiken", encoding=encoding)
    current: _Question | None = None
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.strip()
        if not line:
            continue
        if match := _ANSWER.match(line):
            if current is None or not current.stem:
                result.error(number, _("An answer line without a question before it."))
            else:
                _finish(current, match.group(1), number, result)
            current = None
            continue
        option = _OPTION.match(line)
        if current is None:
            current = _Question(number)
        if option and current.stem:
            current.options.append((_letter(option.group(1)), option.group(2).strip(), number))
        elif current.options:
            result.error(number, _("Expected the next option (“C. …”) or the answer line (“ANSWER: B”)."))
        else:
            current.stem.append(line)
    if current is not None:
        result.error(current.line, _("The question has no answer line (“ANSWER: B”)."))
    return result.finish()


def _finish(question: _Question, answer: str, line: int, result: ImportResult) -> None:
    letters = [_letter(c) for c in re.sub(r"[\s,，、;；]", "", answer)]
    options = question.options
    problems: list[tuple[int, str]] = []
    if len(options) < 2:
        problems.append((question.line, _("A question needs at least two options.")))
    expected = [chr(65 + i) for i in range(len(options))]
    if [o[0] for o in options] != expected:
        problems.append((question.line, _("The options must be lettered A, B, C … in order.")))
    problems += [(o[2], _("An option has no text.")) for o in options if not o[1]]
    if not letters:
        problems.append((line, _("The answer line names no option.")))
    elif any(letter not in expected for letter in letters) or len(set(letters)) != len(letters):
        problems.append((line, _("The answer %(answer)s is not among the options.", answer=answer)))
    for loc, problem in problems:
        result.error(loc, problem)
    if problems:
        return
    choices = [{"id": letter, "text": html.escape(text, quote=False)} for letter, text, _line in options]
    stem = "<br>".join(html.escape(s, quote=False) for s in question.stem)
    if len(letters) == 1:
        result.add(SourceRef(line=question.line), type="single_choice", stem=stem,
                   config={"options": choices, "correct": letters[0]})
    else:
        result.add(SourceRef(line=question.line), type="multiple_choice", stem=stem,
                   config={"options": choices, "correct": sorted(letters)})
