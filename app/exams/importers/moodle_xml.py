"""Moodle XML (<quiz><question type="…">) import.

multichoice (single → single_choice; several answers → multiple_choice with the fractions as weights),
truefalse, shortanswer (→ fill_blank with one blank; usecase → case sensitive), numerical (answers with
tolerance), matching (subquestions; an empty one is a distractor), essay (→ short_answer; graderinfo is
the reference answer), ordering (qtype_ordering: answers in the right order), multianswer / Cloze with
SHORTANSWER and MULTICHOICE parts (→ fill_blank, a MULTICHOICE part a drop-down blank). `category`
pseudo-questions set the category of those that follow; `description` items are skipped with a warning.
questiontext → stem, generalfeedback → explanation (解析), defaultgrade → points, idnumber → id, tags.

Moodle ignores elements it does not know, so our exporter adds <difficulty>, <clauses><clause>,
<partialcredit>, <anyorder> and <rubric><item points="…"> for a lossless round trip.
Errors are reported per item: the number of the question in the file (categories not counted).
"""

from __future__ import annotations

import base64
import binascii
import html
import mimetypes
import re
from typing import Any
from xml.etree.ElementTree import Element

from app.core.i18n import gettext as _
from app.exams.drafts import Attachment, SourceRef
from app.exams.importers.base import ImportRefused, ImportResult, check_size, parse_xml

_CLOZE = re.compile(r"\{(\d*):([A-Z_]+):(.*?)(?<!\\)\}", re.DOTALL)
_PLUGINFILE = "@@PLUGINFILE@@/"


class _Problem(Exception):
    pass


def _text(node: Element | None, path: str = "text") -> str:
    if node is None:
        return ""
    found = node.find(path) if path else node
    return (found.text or "").strip() if found is not None else ""


def _rich(node: Element | None) -> str:
    """A Moodle text field as HTML, whatever its format."""
    if node is None:
        return ""
    text = _text(node).replace(_PLUGINFILE, "")
    if node.get("format", "html") in ("plain_text", "markdown"):
        return html.escape(text, quote=False).replace("\n", "<br>")
    return text


def _fraction(answer: Element) -> float:
    try:
        return float(answer.get("fraction", "0")) / 100
    except ValueError:
        raise _Problem(_("An answer's fraction is not a number.")) from None


def _float(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise _Problem(_("“%(text)s” is not a number.", text=text)) from None


def _options(question: Element) -> list[tuple[dict[str, str], float]]:
    answers = question.findall("answer")
    return [({"id": chr(65 + i) if i < 26 else f"O{i}", "text": _rich(a), "feedback": _rich(a.find("feedback"))},
             _fraction(a)) for i, a in enumerate(answers)]


def _multichoice(question: Element, result: ImportResult, item: str) -> tuple[str, dict[str, Any]]:
    options = _options(question)
    shuffle = _text(question, "shuffleanswers").lower() not in ("0", "false")
    plain = [o for o, _f in options]
    if _text(question, "single").lower() in ("true", "1"):
        right = [o["id"] for o, f in options if f >= 0.9999]
        if len(right) != 1:
            raise _Problem(_("A single-answer question needs exactly one answer worth 100%."))
        if any(0 < f < 0.9999 for _o, f in options):
            result.warn(item, _("Partial credit on wrong options of a single-choice question is not kept."))
        return "single_choice", {"options": plain, "correct": right[0], "shuffle": shuffle}
    correct = [o["id"] for o, f in options if f > 0]
    mode = _text(question, "partialcredit") or "weights"
    config: dict[str, Any] = {"options": plain, "correct": correct, "partial_credit": mode, "shuffle": shuffle}
    if mode == "weights":
        config["weights"] = {o["id"]: round(f, 6) for o, f in options if f}
    return "multiple_choice", config


def _cloze(question: Element) -> tuple[str, dict[str, Any], str]:
    stem = _rich(question.find("questiontext"))
    blanks: list[dict[str, Any]] = []

    def blank(match: re.Match[str]) -> str:
        kind, body = match.group(2), match.group(3)
        parts = [p for p in re.split(r"(?<!\\)~", body) if p.strip()]
        accepted, partial, options = [], {}, []
        for part in parts:
            weight = 1.0 if part.startswith("=") else 0.0
            part = part.lstrip("=")
            if m := re.match(r"^%(-?\d+(?:\.\d+)?)%", part):
                weight, part = float(m.group(1)) / 100, part[m.end():]
            text = html.unescape(re.split(r"(?<!\\)#", part, maxsplit=1)[0]).replace("\\", "").strip()
            options.append(text)
            if weight >= 0.9999:
                accepted.append(text)
            elif weight > 0:
                partial[text] = weight
        if kind not in ("SHORTANSWER", "SA", "MW", "SHORTANSWER_C", "SAC", "MWC", "MULTICHOICE", "MC", "MCV", "MCH",
                        "MULTICHOICE_V", "MULTICHOICE_H", "MCS", "MULTICHOICE_S"):
            raise _Problem(_("Cloze parts of kind %(kind)s are not supported.", kind=kind))
        entry: dict[str, Any] = {"accepted": accepted, "partial": partial}
        if kind.startswith("M") and not kind.startswith("MW"):
            entry["options"] = options
        blanks.append(entry)
        return "____"

    stem = _CLOZE.sub(blank, stem)
    if not blanks:
        raise _Problem(_("The Cloze question has no {1:SHORTANSWER:…} parts."))
    case = any(m.group(2) in ("SHORTANSWER_C", "SAC", "MWC") for m in _CLOZE.finditer(_rich(question.find("questiontext"))))
    return "fill_blank", {"blanks": blanks, "case_sensitive": case, "any_order": _text(question, "anyorder") == "1"}, stem


def _config(question: Element, kind: str, result: ImportResult, item: str) -> tuple[str, dict[str, Any]]:
    if kind == "multichoice":
        return _multichoice(question, result, item)
    if kind == "truefalse":
        by_text = {_text(a).lower(): a for a in question.findall("answer")}
        if set(by_text) != {"true", "false"}:
            raise _Problem(_("A true/false question needs the answers true and false."))
        return "true_false", {"correct": _fraction(by_text["true"]) >= 0.9999,
                              "feedback_true": _rich(by_text["true"].find("feedback")),
                              "feedback_false": _rich(by_text["false"].find("feedback"))}
    if kind == "shortanswer":
        answers = [(html.unescape(_text(a)), _fraction(a)) for a in question.findall("answer")]
        return "fill_blank", {"blanks": [{"accepted": [t for t, f in answers if f >= 0.9999],
                                          "partial": {t: f for t, f in answers if 0 < f < 0.9999}}],
                              "case_sensitive": _text(question, "usecase") == "1",
                              "any_order": _text(question, "anyorder") == "1"}
    if kind == "numerical":
        numeric: list[dict[str, Any]] = []
        for answer in question.findall("answer"):
            value, tolerance = _text(answer), _text(answer, "tolerance") or "0"
            entry: dict[str, Any] = {"fraction": _fraction(answer), "feedback": _rich(answer.find("feedback"))}
            if answer.find("min") is not None:
                entry.update(min=_float(_text(answer, "min")), max=_float(_text(answer, "max")))
            elif value == "*":
                continue
            else:
                entry.update(value=_float(value), tolerance=abs(_float(tolerance)))
            numeric.append(entry)
        unit = next((_text(u, "unit_name") for u in question.iter("unit") if _text(u, "multiplier") in ("1", "1.0")), "")
        return "numerical", {"answers": numeric, "unit": unit}
    if kind == "matching":
        left: list[dict[str, str]] = []
        right: dict[str, str] = {}
        pairs: dict[str, str] = {}
        for sub in question.findall("subquestion"):
            target = html.escape(_text(sub, "answer/text"), quote=False)
            rid = right.setdefault(target, f"R{len(right) + 1}")
            if _text(sub):
                lid = f"L{len(left) + 1}"
                left.append({"id": lid, "text": _rich(sub)})
                pairs[lid] = rid
        return "matching", {"left": left, "right": [{"id": r, "text": t} for t, r in right.items()], "pairs": pairs,
                            "partial_credit": _text(question, "partialcredit") != "none"}
    if kind == "essay":
        rubric = [{"criterion": (i.text or "").strip(), "points": _float(i.get("points", "1"))}
                  for i in question.findall("rubric/item")]
        return "short_answer", {"reference_answer": _rich(question.find("graderinfo")), "rubric": rubric}
    if kind == "ordering":
        items = [{"id": chr(65 + i) if i < 26 else f"O{i}", "text": _rich(a)} for i, a in enumerate(question.findall("answer"))]
        mode = _text(question, "partialcredit") or "none"
        return "ordering", {"items": items, "partial_credit": mode}
    raise _Problem(_("Moodle question type %(type)s is not supported.", type=kind))


def _attachments(question: Element) -> list[Attachment]:
    files = []
    for node in question.iter("file"):
        name = node.get("name", "")
        if node.get("encoding") == "base64" and name:
            try:
                data = base64.b64decode(node.text or "", validate=False)
            except (binascii.Error, ValueError):
                raise _Problem(_("The embedded file %(name)s is damaged.", name=name)) from None
            files.append(Attachment(name=name, data=data,
                                    media_type=mimetypes.guess_type(name)[0] or "application/octet-stream"))
    return files


def parse_moodle_xml(data: bytes) -> ImportResult:
    check_size(data)
    root = parse_xml(data, "Moodle XML")
    if root.tag != "quiz":
        raise ImportRefused(_("This is not a Moodle XML question file (<quiz> is missing)."))
    result = ImportResult("moodle-xml", encoding="xml")
    category, number = "", 0
    for question in root.findall("question"):
        kind = question.get("type", "")
        if kind == "category":
            category = re.sub(r"^(\$[a-z0-9]+\$/)?(top/?)?", "", _text(question.find("category")))
            continue
        number += 1
        item = str(number)
        if kind == "description":
            result.warn(item, _("A description is not a question; it was skipped."))
            continue
        try:
            if kind == "multianswer":
                qtype, config, stem = _cloze(question)
            else:
                (qtype, config), stem = _config(question, kind, result, item), _rich(question.find("questiontext"))
            fields = _common(question)
            attachments = _attachments(question)
        except _Problem as problem:
            result.error(item, str(problem))
            continue
        result.add(SourceRef(item=item), type=qtype, stem=stem, config=config, category=category,
                   attachments=attachments, **fields)
    return result.finish()


def _common(question: Element) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "title": _text(question.find("name")), "explanation": _rich(question.find("generalfeedback")),
        "external_id": _text(question, "idnumber"),
        "tags": [_text(t) for t in question.findall("tags/tag")],
        "clauses": [(c.text or "").strip() for c in question.findall("clauses/clause")],
    }
    if grade := _text(question, "defaultgrade"):
        fields["points"] = _float(grade)
    if difficulty := _text(question, "difficulty"):
        fields["difficulty"] = int(_float(difficulty))
    return fields
