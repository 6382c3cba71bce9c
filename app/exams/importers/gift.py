"""GIFT (Moodle's text format), the whole syntax as Moodle's qformat_gift reads it.

Questions are separated by blank lines. Before a question: `// comments` (Moodle 4's
`// [id:…]` and `// [tag:…]` set the external id and tags of the next question), `$CATEGORY: path`.
A question: optional `::title::`, optional `[html|moodle|plain|markdown]`, the stem, one answer block
`{…}` (text after the block makes it an embedded blank, shown as "_____").

    {}                         essay → short_answer
    {T} {FALSE#wrong#right}    true/false with feedback for a wrong and a right answer
    {=right ~wrong ~wrong}     single choice; `~%50%` weights on wrong options are not kept (warning)
    {~%50%a ~%50%b ~%-100%c}   no "=": multiple choice with weights
    {=a =b =%50%c}             fill in the blank with accepted answers (and partial credit)
    {=a -> 1 =b -> 2 = -> 3}   matching (an empty left side is a distractor)
    {#3.14:0.01} {#1..5} {#=1822:0 =%50%1822:2}   numerical: tolerance, range, several answers
    #feedback after an answer, ####general feedback (→ explanation, 解析) at the end of the block

`\\~ \\= \\# \\{ \\} \\: \\\\` are the literal characters, `\\n` a new line; a backslash before anything
else is itself. The full-width look-alikes ｛｝＝～＃： that Chinese input methods type are ordinary text:
only the ASCII characters are syntax, and nothing here folds width.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field

from app.core.i18n import gettext as _
from app.exams.drafts import SourceRef
from app.exams.importers.base import ImportResult, decode_text

_ESCAPES = {"~": "\ue001", "=": "\ue002", "#": "\ue003", "{": "\ue004", "}": "\ue005", ":": "\ue006", "\\": "\ue007"}
_RESTORE = str.maketrans({v: k for k, v in _ESCAPES.items()})
_ESCAPE = re.compile(r"\\([~=#{}:\\n])")
_WEIGHT = re.compile(r"^%(-?\d+(?:\.\d+)?)%")
_TF = re.compile(r"^(T|TRUE|F|FALSE)\s*(#[^#]*)?(#[^#]*)?$", re.IGNORECASE | re.DOTALL)
_FORMAT = re.compile(r"^\[(html|moodle|plain|markdown)\]", re.IGNORECASE)
_META = re.compile(r"\[(id|tag):([^\]]+)\]")
_CATEGORY_PREFIXES = ("$course$/", "$system$/", "$module$/", "$cat1$/", "$cat2$/", "top/")


def _escape(text: str) -> str:
    return _ESCAPE.sub(lambda m: "\n" if m.group(1) == "n" else _ESCAPES[m.group(1)], text)


def _restore(text: str) -> str:
    return text.translate(_RESTORE)


def _squash(text: str) -> str:
    return " ".join(_restore(text).split())


@dataclass
class _Chunk:
    line: int
    lines: list[str] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)


def _chunks(text: str) -> list[_Chunk]:
    chunks: list[_Chunk] = []
    current = _Chunk(0)
    for number, raw in enumerate(text.split("\n"), start=1):
        stripped = raw.strip()
        if stripped.startswith("//"):
            for kind, value in _META.findall(stripped):
                (current.ids if kind == "id" else current.tags).append(value.strip())
            continue
        if not stripped:  # as in Moodle, a blank line always ends a question
            if current.lines:
                chunks.append(current)
                current = _Chunk(0)
            continue
        if not current.lines:
            current.line = number
        current.lines.append(raw)
    if current.lines:
        chunks.append(current)
    return chunks


def _category(line: str) -> str:
    path = line.split(":", 1)[1].strip()
    for prefix in _CATEGORY_PREFIXES:
        if path.startswith(prefix):
            path = path[len(prefix):]
    return "" if path in ("top", "$course$", "$system$") else path


def _to_html(text: str, fmt: str, *, inline: bool = False) -> str:
    text = _restore(text).strip()
    if fmt == "html":
        return text
    if fmt in ("plain", "markdown"):
        text = html.escape(text, quote=False)
    if inline:
        return " ".join(text.split())
    return "<br>".join(line.strip() for line in text.split("\n"))


@dataclass
class _Answer:
    mark: str
    weight: float | None
    text: str
    feedback: str


def _answers(body: str) -> list[_Answer]:
    answers = []
    for part in re.split(r"(?=[=~])", body):
        part = part.strip()
        if not part:
            continue
        mark, rest = part[0], part[1:].strip()
        weight = None
        if match := _WEIGHT.match(rest):
            weight, rest = float(match.group(1)), rest[match.end():]
        text, _sep, feedback = rest.partition("#")
        answers.append(_Answer(mark, weight, text.strip(), feedback.strip()))
    return answers


class _Problem(Exception):
    pass


def _number(text: str) -> float:
    try:
        return float(_restore(text).strip())
    except ValueError:
        raise _Problem(_("%(text)s is not a number.", text=_restore(text).strip())) from None


def _numeric_answer(text: str, weight: float | None, feedback: str, fmt: str) -> dict[str, object]:
    answer: dict[str, object] = {"fraction": (100.0 if weight is None else weight) / 100,
                                 "feedback": _to_html(feedback, fmt, inline=True)}
    text = text.strip()
    if ".." in text:
        low, high = text.split("..", 1)
        answer.update(min=_number(low), max=_number(high))
    elif ":" in text:
        value, tolerance = text.split(":", 1)
        answer.update(value=_number(value), tolerance=abs(_number(tolerance)))
    else:
        answer.update(value=_number(text))
    if answer["fraction"] < 0:  # type: ignore[operator]
        raise _Problem(_("A numerical answer cannot have a negative weight."))
    return answer


def _config(body: str, fmt: str, result: ImportResult, line: int) -> tuple[str, dict[str, object]]:
    if not body:
        return "short_answer", {}
    if body.startswith("#"):
        rest = body[1:].strip()
        if "=" in rest:
            parsed = [_numeric_answer(a.text, a.weight, a.feedback, fmt) for a in _answers(rest)]
        else:
            text, _sep, feedback = rest.partition("#")
            parsed = [_numeric_answer(text, None, feedback, fmt)]
        return "numerical", {"answers": parsed}
    if "~" in body:
        answers = _answers(body)
        if any(not a.text for a in answers):
            raise _Problem(_("An answer is empty."))
        options = [{"id": chr(65 + i) if i < 26 else f"O{i}", "text": _to_html(a.text, fmt, inline=True),
                    "feedback": _to_html(a.feedback, fmt, inline=True)} for i, a in enumerate(answers)]
        right = [o["id"] for o, a in zip(options, answers, strict=True) if a.mark == "="]
        if right:
            if len(right) > 1:
                raise _Problem(_("A single-choice question marks more than one answer right with “=”; "
                                 "for several right answers use weights like ~%50%."))
            if any(a.weight for a in answers if a.mark == "~"):
                result.warn(line, _("Partial credit on wrong options of a single-choice question is not kept."))
            return "single_choice", {"options": options, "correct": right[0]}
        weights = {o["id"]: round((a.weight or 0.0) / 100, 6) for o, a in zip(options, answers, strict=True)}
        correct = [k for k, w in weights.items() if w > 0]
        if not correct:
            raise _Problem(_("No answer is marked right (use “=” or a positive weight like ~%50%)."))
        return "multiple_choice", {"options": options, "correct": correct, "partial_credit": "weights",
                                   "weights": {k: w for k, w in weights.items() if w}}
    if "=" in body and "->" in body:
        left: list[dict[str, str]] = []
        right_ids: dict[str, str] = {}
        pairs: dict[str, str] = {}
        for answer in _answers(body):
            if "->" not in answer.text:
                raise _Problem(_("Every pair of a matching question needs “->”."))
            question, target = (s.strip() for s in answer.text.split("->", 1))
            target_html = _to_html(target, fmt, inline=True)
            rid = right_ids.setdefault(target_html, f"R{len(right_ids) + 1}")
            if question:
                lid = f"L{len(left) + 1}"
                left.append({"id": lid, "text": _to_html(question, fmt, inline=True)})
                pairs[lid] = rid
        targets = [{"id": rid, "text": text} for text, rid in right_ids.items()]
        return "matching", {"left": left, "right": targets, "pairs": pairs}
    if match := _TF.match(body):
        is_true = match.group(1).upper().startswith("T")
        wrong_fb, right_fb = (_to_html((g or "#")[1:], fmt, inline=True) for g in (match.group(2), match.group(3)))
        return "true_false", {"correct": is_true, "feedback_true": right_fb if is_true else wrong_fb,
                              "feedback_false": wrong_fb if is_true else right_fb}
    if body.startswith("="):
        answers = _answers(body)
        accepted = [_squash(a.text) for a in answers if a.weight is None or a.weight >= 100]
        partial = {_squash(a.text): a.weight / 100 for a in answers if a.weight is not None and 0 < a.weight < 100}
        return "fill_blank", {"blanks": [{"accepted": accepted, "partial": partial}]}
    raise _Problem(_("The answers in {…} do not form any known question type."))


def parse_gift(data: bytes) -> ImportResult:
    text, encoding = decode_text(data)
    result = ImportResult("gift", encoding=encoding)
    category = ""
    for chunk in _chunks(text):
        lines = list(chunk.lines)
        while lines and lines[0].strip().startswith("$CATEGORY:"):
            category = _category(lines.pop(0).strip())
        if not lines:
            continue
        try:
            _question(chunk, "\n".join(lines), category, result)
        except _Problem as problem:
            result.error(chunk.line, str(problem))
    return result.finish()


def _question(chunk: _Chunk, raw: str, category: str, result: ImportResult) -> None:
    text = _escape(raw).strip()
    title = ""
    if text.startswith("::"):
        end = text.find("::", 2)
        if end < 0:
            raise _Problem(_("The title is not closed with “::”."))
        title, text = _squash(text[2:end]), text[end + 2:].strip()
    fmt = "moodle"
    if match := _FORMAT.match(text):
        fmt, text = match.group(1).lower(), text[match.end():]
    start = text.find("{")
    if start < 0:
        raise _Problem(_("The question has no answer block {…}."))
    end = text.find("}", start)
    if end < 0:
        raise _Problem(_("The answer block is not closed with “}”."))
    before, body, after = text[:start], text[start + 1:end], text[end + 1:]
    if "{" in after or "}" in after or "}" in before:
        raise _Problem(_("A question may hold only one answer block; write a literal brace as \\{ or \\}."))
    body, _sep, general = body.partition("####")
    qtype, config = _config(body.strip(), fmt, result, chunk.line)
    stem = before.rstrip() + (" _____ " + after.strip() if after.strip() else "")
    stem_html = _to_html(stem, fmt)
    result.add(SourceRef(line=chunk.line), type=qtype, stem=stem_html, config=config, title=title,
               explanation=_to_html(general, fmt), tags=chunk.tags, category=category,
               external_id=chunk.ids[-1] if chunk.ids else "")
