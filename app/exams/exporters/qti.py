"""Questions → a QTI 2.1 content package (zip: imsmanifest.xml + one assessmentItem per question).

single/multiple choice → choiceInteraction (weighted credit as a <mapping> scaled to the points;
proportional/half credit have no QTI template and are written as all or nothing), true_false → a
choice between identifiers true/false, fill_blank → textEntryInteraction / inlineChoiceInteraction in
place of each "____", numerical → a float text entry with <equal toleranceMode="absolute"> (the best
answer only), ordering → orderInteraction, matching → matchInteraction, short_answer →
extendedTextInteraction (reference answer as the correct response). Explanation → modalFeedback.
Tags, category, difficulty and clauses are not written (QTI keeps them in LOM metadata we do not use).
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Sequence
from typing import Any
from xml.etree.ElementTree import Element, SubElement, tostring

from app.exams.drafts import QuestionDraft
from app.exams.exporters.xhtml import fill
from app.exams.question_types import BLANK_MARK

NS = "http://www.imsglobal.org/xsd/imsqti_v2p1"
CP = "http://www.imsglobal.org/xsd/imscp_v1p1"
RP = "http://www.imsglobal.org/question/qti_v2p1/rptemplates/"
_NCNAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")


def _declare(item: Element, ident: str, cardinality: str, base: str, correct: list[str]) -> Element:
    decl = Element("responseDeclaration", {"identifier": ident, "cardinality": cardinality, "baseType": base})
    values = SubElement(decl, "correctResponse")
    for value in correct:
        SubElement(values, "value").text = value
    item.insert(len(item.findall("responseDeclaration")), decl)
    return decl


def _mapping(decl: Element, entries: dict[str, float], *, upper: float | None = None, case: bool | None = None,
             default: float = 0.0) -> None:
    attrs = {"defaultValue": f"{default:g}", "lowerBound": "0"}
    if upper is not None:
        attrs["upperBound"] = f"{upper:g}"
    mapping = SubElement(decl, "mapping", attrs)
    for key, value in entries.items():
        entry = {"mapKey": key, "mappedValue": f"{value:.7g}"}
        if case is not None:
            entry["caseSensitive"] = "true" if case else "false"
        SubElement(mapping, "mapEntry", entry)


def _choices(parent: Element, tag: str, options: list[dict[str, Any]]) -> None:
    for option in options:
        fill(SubElement(parent, tag, {"identifier": option["id"]}), option["text"])


def _block(item: Element, body: Element, draft: QuestionDraft, config: dict[str, Any]) -> str:
    kind, points = draft.type, draft.points
    fill(SubElement(body, "div"), draft.stem)  # the stem sits before the interaction
    if kind in ("single_choice", "multiple_choice", "true_false"):
        if kind == "true_false":
            options = [{"id": "true", "text": "正确"}, {"id": "false", "text": "错误"}]
            correct, shuffle = ["true" if config["correct"] else "false"], False
        else:
            options, shuffle = config["options"], config["shuffle"]
            correct = config["correct"] if kind == "multiple_choice" else [config["correct"]]
        multiple = kind == "multiple_choice"
        decl = _declare(item, "RESPONSE", "multiple" if multiple else "single", "identifier", correct)
        template = "match_correct"
        if multiple and config["partial_credit"] == "weights":
            _mapping(decl, {k: w * points for k, w in config["weights"].items()}, upper=points)
            template = "map_response"
        interaction = SubElement(body, "choiceInteraction", {"responseIdentifier": "RESPONSE", "shuffle": str(shuffle).lower(),
                                                             "maxChoices": "0" if multiple else "1"})
        _choices(interaction, "simpleChoice", options)
        return template
    if kind == "ordering":
        _declare(item, "RESPONSE", "ordered", "identifier", config["correct"])
        interaction = SubElement(body, "orderInteraction", {"responseIdentifier": "RESPONSE", "shuffle": "true"})
        _choices(interaction, "simpleChoice", config["items"])
        return "match_correct"
    if kind == "matching":
        _declare(item, "RESPONSE", "multiple", "directedPair", [f"{k} {v}" for k, v in config["pairs"].items()])
        interaction = SubElement(body, "matchInteraction", {"responseIdentifier": "RESPONSE", "shuffle": "true",
                                                            "maxAssociations": str(len(config["left"]))})
        left, right = SubElement(interaction, "simpleMatchSet"), SubElement(interaction, "simpleMatchSet")
        for option in config["left"]:
            fill(SubElement(left, "simpleAssociableChoice", {"identifier": option["id"], "matchMax": "1"}), option["text"])
        for option in config["right"]:
            fill(SubElement(right, "simpleAssociableChoice", {"identifier": option["id"], "matchMax": "0"}), option["text"])
        return "match_correct"
    _declare(item, "RESPONSE", "single", "string", [config["reference_answer"]] if config["reference_answer"] else [])
    SubElement(body, "extendedTextInteraction", {"responseIdentifier": "RESPONSE", "expectedLength": str(config["max_length"])})
    return ""


def _inline(item: Element, body: Element, draft: QuestionDraft, config: dict[str, Any]) -> str:
    """Blanks and numerical: interactions inside the stem's text."""
    if draft.type == "numerical":
        best = max(config["answers"], key=lambda a: a["fraction"])
        value = best["value"] if best["value"] is not None else (best["min"] + best["max"]) / 2
        tolerance = best["tolerance"] if best["value"] is not None else (best["max"] - best["min"]) / 2
        _declare(item, "RESPONSE", "single", "float", [repr(value)])
        interactions = [Element("textEntryInteraction", {"responseIdentifier": "RESPONSE"})]
        item.append(_numeric_processing(tolerance, draft.points))
    else:
        interactions = []
        for index, blank in enumerate(config["blanks"], start=1):
            ident = f"RESPONSE{index}"
            if blank["options"]:
                ids = {text: f"C{index}_{n}" for n, text in enumerate(blank["options"], start=1)}
                decl = _declare(item, ident, "single", "identifier", [ids[a] for a in blank["accepted"][:1]])
                el = Element("inlineChoiceInteraction", {"responseIdentifier": ident, "shuffle": "false"})
                for text, choice_id in ids.items():
                    SubElement(el, "inlineChoice", {"identifier": choice_id}).text = text
            else:
                decl = _declare(item, ident, "single", "string", blank["accepted"][:1])
                _mapping(decl, {**dict.fromkeys(blank["accepted"], 1.0), **blank["partial"]}, case=config["case_sensitive"])
                el = Element("textEntryInteraction", {"responseIdentifier": ident})
            interactions.append(el)
    marked = BLANK_MARK.sub("\ue000", draft.stem) if BLANK_MARK.search(draft.stem) else draft.stem + " \ue000"
    container = fill(SubElement(body, "div"), marked)
    queue = iter(interactions)
    for el in list(container.iter()):
        for attr in ("text", "tail"):
            value = getattr(el, attr)
            if value and "\ue000" in value:
                _split_marks(container, el, attr, queue)
    return "" if draft.type == "numerical" else "map_response"


def _split_marks(container: Element, el: Element, attr: str, queue: Any) -> None:
    parent = el if attr == "text" else next(p for p in container.iter() if el in list(p))
    pieces = getattr(el, attr).split("\ue000")
    setattr(el, attr, pieces[0])
    index = 0 if attr == "text" else list(parent).index(el) + 1
    for piece in pieces[1:]:
        interaction = next(queue)
        interaction.tail = piece
        parent.insert(index, interaction)
        index += 1


def _numeric_processing(tolerance: float, points: float) -> Element:
    rp = Element("responseProcessing")
    cond = SubElement(SubElement(rp, "responseCondition"), "responseIf")
    equal = SubElement(cond, "equal", {"toleranceMode": "absolute", "tolerance": f"{tolerance!r} {tolerance!r}"})
    SubElement(equal, "variable", {"identifier": "RESPONSE"})
    SubElement(equal, "correct", {"identifier": "RESPONSE"})
    SubElement(SubElement(cond, "setOutcomeValue", {"identifier": "SCORE"}), "baseValue", {"baseType": "float"}).text = f"{points:g}"
    return rp


def item_xml(draft: QuestionDraft, identifier: str) -> bytes:
    config = draft.config.model_dump(mode="json")
    item = Element("assessmentItem", {"xmlns": NS, "identifier": identifier, "title": draft.title or identifier,
                                      "adaptive": "false", "timeDependent": "false"})
    SubElement(item, "outcomeDeclaration", {"identifier": "SCORE", "cardinality": "single", "baseType": "float",
                                            "normalMaximum": f"{draft.points:g}"})
    body = SubElement(item, "itemBody")
    inline = draft.type in ("fill_blank", "numerical")
    template = _inline(item, body, draft, config) if inline else _block(item, body, draft, config)
    if template:
        SubElement(item, "responseProcessing", {"template": RP + template})
    if draft.explanation:
        fill(SubElement(item, "modalFeedback", {"outcomeIdentifier": "FEEDBACK", "identifier": "explanation",
                                                "showHide": "show"}), draft.explanation)
    processing = item.find("responseProcessing")
    if processing is not None:  # responseProcessing comes after itemBody, modalFeedback last
        item.remove(processing)
        item.insert(list(item).index(body) + 1, processing)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + tostring(item, encoding="utf-8")


def export_qti_zip(drafts: Sequence[QuestionDraft]) -> bytes:
    manifest = Element("manifest", {"xmlns": CP, "identifier": "shixun-export"})
    SubElement(manifest, "organizations")
    resources = SubElement(manifest, "resources")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for number, draft in enumerate(drafts, start=1):
            ident = draft.external_id if _NCNAME.match(draft.external_id) else f"Q{number:04d}"
            href = f"items/{number:04d}.xml"
            archive.writestr(href, item_xml(draft, ident))
            resource = SubElement(resources, "resource", {"identifier": f"R{number:04d}", "type": "imsqti_item_xmlv2p1",
                                                          "href": href})
            SubElement(resource, "file", {"href": href})
            for attachment in draft.attachments:
                name = f"items/{attachment.name}"
                if name not in archive.namelist():
                    archive.writestr(name, attachment.data)
                SubElement(resource, "file", {"href": name})
        archive.writestr("imsmanifest.xml", b'<?xml version="1.0" encoding="UTF-8"?>\n' + tostring(manifest, encoding="utf-8"))
    return buffer.getvalue()
