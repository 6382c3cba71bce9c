"""Questions → Moodle XML. Moodle imports every type; our own importer reads it back losslessly.

single/multiple choice → multichoice (fractions; our partial-credit rule in <partialcredit>), true_false →
truefalse, fill_blank → shortanswer (one free blank) or multianswer/Cloze (several blanks or drop-downs),
short_answer → essay (reference answer in graderinfo, rubric in <rubric>), ordering → ordering
(qtype_ordering), matching → matching, numerical → numerical (a range as value ± half its width, with
<min>/<max> kept for us). Difficulty and clauses travel in <difficulty> and <clauses>, which Moodle ignores.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any
from xml.etree.ElementTree import Element, SubElement, indent, tostring

from app.exams.drafts import QuestionDraft
from app.exams.question_types import BLANK_MARK, plain_text

_CLOZE_SPECIAL = re.compile(r"([}#~/\"\\])")


def _text_field(parent: Element, tag: str, value: str, fmt: str = "html") -> Element:
    node = SubElement(parent, tag, {"format": fmt} if fmt else {})
    SubElement(node, "text").text = value
    return node


def _simple(parent: Element, tag: str, value: object) -> None:
    SubElement(parent, tag).text = str(value)


def _answer(parent: Element, fraction: float, text: str, feedback: str = "", fmt: str = "html") -> Element:
    node = SubElement(parent, "answer", {"fraction": f"{fraction * 100:.7g}", "format": fmt})
    SubElement(node, "text").text = text
    _text_field(node, "feedback", feedback)
    return node


def _cloze_part(blank: dict[str, Any], case_sensitive: bool) -> str:
    def esc(text: str) -> str:
        return _CLOZE_SPECIAL.sub(r"\\\1", text)

    def mark(text: str) -> str:
        if text in blank["accepted"]:
            return f"={esc(text)}"
        return f"%{blank['partial'][text] * 100:g}%{esc(text)}" if text in blank["partial"] else esc(text)

    if blank["options"]:  # a drop-down keeps its order
        return "{1:MULTICHOICE:" + "~".join(mark(o) for o in blank["options"]) + "}"
    parts = [mark(t) for t in [*blank["accepted"], *blank["partial"]]]
    return ("{1:SHORTANSWER_C:" if case_sensitive else "{1:SHORTANSWER:") + "~".join(parts) + "}"


def _body(q: Element, draft: QuestionDraft, config: dict[str, Any]) -> str:
    """Type-specific elements; returns the Moodle qtype."""
    kind = draft.type
    if kind in ("single_choice", "multiple_choice"):
        _simple(q, "single", "true" if kind == "single_choice" else "false")
        _simple(q, "shuffleanswers", "1" if config["shuffle"] else "0")
        _simple(q, "answernumbering", "ABCD")
        right = config["correct"] if kind == "multiple_choice" else [config["correct"]]
        mode = config.get("partial_credit", "none")
        for option in config["options"]:
            if mode == "weights":
                fraction = config["weights"].get(option["id"], 0.0)
            else:
                fraction = 1 / len(right) if option["id"] in right else (-1 / len(right) if kind == "multiple_choice" else 0)
            _answer(q, fraction, option["text"], option["feedback"])
        if kind == "multiple_choice":
            _simple(q, "partialcredit", mode)
        return "multichoice"
    if kind == "true_false":
        _answer(q, 1.0 if config["correct"] else 0.0, "true", config["feedback_true"], "moodle_auto_format")
        _answer(q, 0.0 if config["correct"] else 1.0, "false", config["feedback_false"], "moodle_auto_format")
        return "truefalse"
    if kind == "fill_blank":
        blanks = config["blanks"]
        if len(blanks) == 1 and not blanks[0]["options"] and not BLANK_MARK.search(draft.stem):
            _simple(q, "usecase", "1" if config["case_sensitive"] else "0")
            for text in blanks[0]["accepted"]:
                _answer(q, 1.0, text, fmt="moodle_auto_format")
            for text, fraction in blanks[0]["partial"].items():
                _answer(q, fraction, text, fmt="moodle_auto_format")
            _simple(q, "anyorder", "1" if config["any_order"] else "0")
            return "shortanswer"
        _simple(q, "anyorder", "1" if config["any_order"] else "0")
        return "multianswer"
    if kind == "short_answer":
        _simple(q, "responseformat", "editor")
        _text_field(q, "graderinfo", config["reference_answer"])
        rubric = SubElement(q, "rubric")
        for item in config["rubric"]:
            SubElement(rubric, "item", {"points": f"{item['points']:g}"}).text = item["criterion"]
        return "essay"
    if kind == "ordering":
        texts = {i["id"]: i["text"] for i in config["items"]}
        for index, item_id in enumerate(config["correct"], start=1):
            _answer(q, index, texts[item_id])
        _simple(q, "partialcredit", config["partial_credit"])
        return "ordering"
    if kind == "matching":
        _simple(q, "shuffleanswers", "true")
        right = {r["id"]: r["text"] for r in config["right"]}
        for left in config["left"]:
            sub = _text_field(q, "subquestion", left["text"])
            SubElement(SubElement(sub, "answer"), "text").text = plain_text(right[config["pairs"][left["id"]]])
        for rid in [r for r in right if r not in config["pairs"].values()]:
            sub = _text_field(q, "subquestion", "")
            SubElement(SubElement(sub, "answer"), "text").text = plain_text(right[rid])
        _simple(q, "partialcredit", "all" if config["partial_credit"] else "none")
        return "matching"
    for answer in config["answers"]:
        if answer["value"] is not None:
            node = _answer(q, answer["fraction"], f"{answer['value']!r}", answer["feedback"])
            _simple(node, "tolerance", repr(answer["tolerance"]))
        else:
            mid, half = (answer["min"] + answer["max"]) / 2, (answer["max"] - answer["min"]) / 2
            node = _answer(q, answer["fraction"], repr(mid), answer["feedback"])
            _simple(node, "tolerance", repr(half))
            _simple(node, "min", repr(answer["min"]))
            _simple(node, "max", repr(answer["max"]))
    if config["unit"]:
        unit = SubElement(SubElement(q, "units"), "unit")
        _simple(unit, "multiplier", "1")
        _simple(unit, "unit_name", config["unit"])
    return "numerical"


def _question(draft: QuestionDraft) -> Element:
    config = draft.config.model_dump(mode="json")
    q = Element("question")
    _text_field(q, "name", draft.title or plain_text(draft.stem)[:60] or draft.type, fmt="")
    stem = draft.stem
    q.set("type", _body(q, draft, config))
    if q.get("type") == "multianswer":
        parts = iter(_cloze_part(b, config["case_sensitive"]) for b in config["blanks"])
        stem = BLANK_MARK.sub(lambda _m: next(parts), stem) if BLANK_MARK.search(stem) else f"{stem} {next(parts)}"
    text = _text_field(q, "questiontext", stem)
    q.remove(text)
    q.insert(1, text)
    for tag, value in (("generalfeedback", draft.explanation),):
        node = _text_field(q, tag, value)
        q.remove(node)
        q.insert(2, node)
    for tag, value in (("defaultgrade", f"{draft.points:g}"), ("penalty", "0"), ("hidden", "0"),
                       ("idnumber", draft.external_id), ("difficulty", str(draft.difficulty))):
        _simple(q, tag, value)
    if draft.clauses:
        clauses = SubElement(q, "clauses")
        for ref in draft.clauses:
            SubElement(clauses, "clause").text = ref
    if draft.tags:
        tags = SubElement(q, "tags")
        for tag in draft.tags:
            SubElement(SubElement(tags, "tag"), "text").text = tag
    return q


def export_moodle_xml(drafts: Sequence[QuestionDraft]) -> bytes:
    quiz = Element("quiz")
    category: str | None = None
    for draft in drafts:
        if draft.category != category:
            category = draft.category
            node = SubElement(quiz, "question", {"type": "category"})
            SubElement(SubElement(node, "category"), "text").text = "$course$/top" + (f"/{category}" if category else "")
        quiz.append(_question(draft))
    indent(quiz)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + tostring(quiz, encoding="utf-8", xml_declaration=False)
