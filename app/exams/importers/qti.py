"""QTI 2.1/2.2 and QTI 3.0 items, alone or in an IMS content package (zip with imsmanifest.xml).

QTI 3.0 spells elements and attributes in kebab case with a "qti-" prefix (qti-choice-interaction,
response-identifier); `_normalise` renames them to the 2.x camel case so one reader serves both.
Interactions → types:
    choiceInteraction   single → single_choice (identifiers true/false → true_false); multiple →
                        multiple_choice: with a <mapping>, mapped values / the best total become
                        weights (defaultValue for unmapped options); without one, all or nothing
    textEntryInteraction, inlineChoiceInteraction → fill_blank ("_____" in the stem; mapped values below
                        the best give partial credit; keys that differ only by case make it case
                        sensitive); one float/integer text entry → numerical (tolerance from
                        <equal toleranceMode="absolute">)
    orderInteraction → ordering · matchInteraction → matching · extendedTextInteraction → short_answer
Options get fresh ids (A, B, … / L1, R1 …). Points: SCORE's normalMaximum, else the mapping's best, else
one per response. In a package every file the manifest names must be there, and images the items show
must be in the zip (they become attachments); paths are checked by SafeZip (ZipSlip, bombs).
"""

from __future__ import annotations

import html
import mimetypes
import posixpath
import re
from typing import Any
from xml.etree.ElementTree import Element, tostring

from app.core.i18n import gettext as _
from app.exams.drafts import Attachment, SourceRef
from app.exams.importers.base import ImportRefused, ImportResult, SafeZip, check_size, local, parse_xml

BLOCK = {"choiceInteraction", "orderInteraction", "matchInteraction", "extendedTextInteraction"}
INLINE = {"textEntryInteraction", "inlineChoiceInteraction"}
DROP = {"rubricBlock", "feedbackBlock", "feedbackInline", "modalFeedback", "templateBlock", "templateInline"}


class _Problem(Exception):
    pass


def _camel(name: str) -> str:
    head, *rest = name.split("-")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


def _normalise(root: Element) -> Element:
    for el in root.iter():
        name = local(el.tag)
        el.tag = _camel(name[4:]) if name.startswith("qti-") else name
        for key in list(el.attrib):
            plain = local(key)
            if plain != key or "-" in plain:
                el.attrib[_camel(plain)] = el.attrib.pop(key)
    return root


def _inner(el: Element) -> str:
    """The element's content as HTML. Its leading text is escaped like the children's text is by
    `tostring`: "&lt;a href=…&gt;" in the XML is the literal text "<a href=…>" (a quiz about HTML), not
    markup that sanitising would reduce to an empty link."""
    parts = [html.escape(el.text or "", quote=False)]
    for child in el:
        parts.append(tostring(child, encoding="unicode"))
    return "".join(parts).strip()


def _parents(root: Element) -> dict[Element, Element]:
    return {child: parent for parent in root.iter() for child in parent}


def _replace(parents: dict[Element, Element], el: Element, text: str | None = None, new: Element | None = None) -> None:
    """Put `text` or `new` where `el` was, keeping the text that followed it."""
    parent = parents[el]
    index = list(parent).index(el)
    tail = el.tail or ""
    parent.remove(el)
    if new is not None:
        new.tail = tail
        parent.insert(index, new)
        return
    insert = (text or "") + tail
    if index == 0:
        parent.text = (parent.text or "") + insert
    else:
        prev = parent[index - 1]
        prev.tail = (prev.tail or "") + insert


def _responses(item: Element) -> dict[str, dict[str, Any]]:
    found = {}
    for decl in item.findall("responseDeclaration"):
        mapping = decl.find("mapping")
        entries = [(m.get("mapKey", ""), float(m.get("mappedValue", "0")), m.get("caseSensitive") == "true")
                   for m in (mapping.findall("mapEntry") if mapping is not None else [])]
        found[decl.get("identifier", "")] = {
            "cardinality": decl.get("cardinality", "single"), "base": decl.get("baseType", ""),
            "correct": [(v.text or "").strip() for v in decl.findall("correctResponse/value")],
            "mapping": entries if mapping is not None else None,
            "default": float(mapping.get("defaultValue", "0")) if mapping is not None else 0.0,
            "upper": float(mapping.get("upperBound", "")) if mapping is not None and mapping.get("upperBound") else None,
        }
    return found


def _relabel(choices: list[Element], prefix: str = "") -> tuple[list[dict[str, str]], dict[str, str]]:
    options, ids = [], {}
    for i, choice in enumerate(choices):
        new = f"{prefix}{i + 1}" if prefix else (chr(65 + i) if i < 26 else f"O{i}")
        ids[choice.get("identifier", "")] = new
        options.append({"id": new, "text": _inner(choice)})
    return options, ids


def _choice(el: Element, response: dict[str, Any]) -> tuple[str, dict[str, Any], float | None]:
    choices = el.findall("simpleChoice")
    options, ids = _relabel(choices)
    shuffle = el.get("shuffle", "false") == "true"
    if {c.get("identifier", "").lower() for c in choices} == {"true", "false"} and len(response["correct"]) == 1:
        return "true_false", {"correct": response["correct"][0].lower() == "true"}, None
    correct = [ids[c] for c in response["correct"] if c in ids]
    if len(response["correct"]) != len(correct):
        raise _Problem(_("The right answer names a choice that does not exist."))
    if response["cardinality"] == "single":
        if len(correct) != 1:
            raise _Problem(_("A single-choice item needs exactly one right answer."))
        return "single_choice", {"options": options, "correct": correct[0], "shuffle": shuffle}, None
    if response["mapping"] is None:
        return "multiple_choice", {"options": options, "correct": correct, "shuffle": shuffle}, None
    mapped = {ids[k]: v for k, v, _cs in response["mapping"] if k in ids}
    best = sum(v for v in mapped.values() if v > 0)
    if best <= 0:
        raise _Problem(_("The mapping gives no option a positive score."))
    weights = {o["id"]: round(max(-1.0, min(1.0, mapped.get(o["id"], response["default"]) / best)), 6) for o in options}
    return "multiple_choice", {"options": options, "correct": [k for k, w in weights.items() if w > 0],
                               "partial_credit": "weights", "weights": {k: w for k, w in weights.items() if w},
                               "shuffle": shuffle}, response["upper"] or best


def _blank(el: Element, response: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    if el.tag == "inlineChoiceInteraction":
        texts = {c.get("identifier", ""): " ".join("".join(c.itertext()).split()) for c in el.findall("inlineChoice")}
        if not all(c in texts for c in response["correct"]):
            raise _Problem(_("The right answer names a choice that does not exist."))
        options = [t for t in texts.values() if t]
        return {"accepted": [texts[c] for c in response["correct"]], "options": options}, False
    entries = response["mapping"] or []
    best = max((v for _k, v, _cs in entries), default=0.0)
    accepted = list(dict.fromkeys(response["correct"] + [k for k, v, _cs in entries if best and v >= best]))
    partial = {k: round(v / best, 6) for k, v, _cs in entries if best and 0 < v < best}
    folded = [k.casefold() for k, _v, _cs in entries]
    case = any(cs for _k, _v, cs in entries) or len(set(folded)) != len(folded)
    if not accepted:
        raise _Problem(_("A blank has no right answer."))
    return {"accepted": accepted, "partial": partial}, case


def _numerical(item: Element, response: dict[str, Any]) -> dict[str, Any]:
    if not response["correct"]:
        raise _Problem(_("A blank has no right answer."))
    try:
        value = float(response["correct"][0])
        equal = item.find(".//responseProcessing//equal")
        if equal is not None and equal.get("toleranceMode") == "absolute":
            tolerance = abs(float(equal.get("tolerance", "0").split()[0]))
            return {"answers": [{"value": value, "tolerance": tolerance}]}
        low, high = item.find(".//responseProcessing//gte/baseValue"), item.find(".//responseProcessing//lte/baseValue")
        if low is not None and high is not None:
            return {"answers": [{"min": float(low.text or ""), "max": float(high.text or "")}]}
    except ValueError:
        raise _Problem(_("The right answer of a numerical item is not a number.")) from None
    return {"answers": [{"value": value}]}


def _item(item: Element) -> tuple[str, dict[str, Any], str, float | None]:
    responses = _responses(item)
    body = item.find("itemBody")
    if body is None:
        raise _Problem(_("The item has no itemBody."))
    for el in [e for e in body.iter() if e.tag in DROP]:
        _replace(_parents(body), el)
    interactions = [e for e in body.iter() if e.tag.endswith("Interaction")]
    unknown = sorted({e.tag for e in interactions} - BLOCK - INLINE)
    if unknown:
        raise _Problem(_("QTI interaction %(kind)s is not supported.", kind=", ".join(unknown)))
    if not interactions:
        raise _Problem(_("The item has no interaction to answer."))
    kinds = {e.tag for e in interactions}
    if kinds & BLOCK and (len(interactions) > 1):
        raise _Problem(_("Items with several interactions are supported only for blanks."))

    def response_of(el: Element) -> dict[str, Any]:
        found = responses.get(el.get("responseIdentifier", ""))
        if found is None:
            raise _Problem(_("An interaction has no response declaration."))
        return found

    parents = _parents(body)
    points: float | None = None
    if kinds <= INLINE:
        if len(interactions) == 1 and kinds == {"textEntryInteraction"} and response_of(interactions[0])["base"] in ("float", "integer"):
            qtype, config = "numerical", _numerical(item, response_of(interactions[0]))
        else:
            blanks, case = zip(*(_blank(e, response_of(e)) for e in interactions), strict=True)
            qtype, config = "fill_blank", {"blanks": list(blanks), "case_sensitive": any(case)}
        for el in interactions:
            _replace(parents, el, "____")
    else:
        el = interactions[0]
        response = response_of(el)
        if el.tag == "choiceInteraction":
            qtype, config, points = _choice(el, response)
        elif el.tag == "orderInteraction":
            items, ids = _relabel(el.findall("simpleChoice"))
            qtype, config = "ordering", {"items": items, "correct": [ids.get(c, c) for c in response["correct"]]}
        elif el.tag == "matchInteraction":
            sets = el.findall("simpleMatchSet")
            if len(sets) != 2:
                raise _Problem(_("A match interaction needs two sets."))
            (left, lids), (right, rids) = _relabel(sets[0].findall("simpleAssociableChoice"), "L"), \
                _relabel(sets[1].findall("simpleAssociableChoice"), "R")
            pairs = {}
            for pair in response["correct"]:
                a, _sep, b = pair.partition(" ")
                if a not in lids or b not in rids or lids[a] in pairs:
                    raise _Problem(_("The right pairs of the match interaction are not valid."))
                pairs[lids[a]] = rids[b]
            qtype, config = "matching", {"left": left, "right": right, "pairs": pairs}
        else:
            reference = response["correct"][0] if response["correct"] else ""
            qtype, config = "short_answer", {"reference_answer": reference}
        prompt = el.find("prompt")
        if prompt is not None:
            prompt.tag = "p"
            _replace(parents, el, new=prompt)
        else:
            _replace(parents, el)
    if points is None:
        maximum = item.find("outcomeDeclaration[@identifier='SCORE']")
        if maximum is not None and maximum.get("normalMaximum"):
            points = float(maximum.get("normalMaximum", "1"))
        elif len(responses) > 1:
            points = float(len(responses))
    stem = _inner(body)
    if kinds <= INLINE and len(interactions) == 1:  # a lone blank at the very end is the implicit one
        stem = re.sub(r"\s*____((?:\s*</(?:div|p)>)*)\s*$", r"\1", stem)
    return qtype, config, stem, points


def _add_item(root: Element, item_ref: str, result: ImportResult, files: dict[str, Attachment]) -> None:
    item = _normalise(root)
    if item.tag != "assessmentItem":
        raise _Problem(_("%(name)s is not a QTI assessment item.", name=item_ref))
    explanation = "".join(_inner(f) for f in item.findall("modalFeedback"))
    try:
        qtype, config, stem, points = _item(item)
    except ValueError:  # a number attribute (mappedValue, normalMaximum …) that is not a number
        raise _Problem(_("%(name)s has a number that is not a number.", name=item_ref)) from None
    result.add(SourceRef(item=item_ref), type=qtype, stem=stem, config=config, points=points or 1.0,
               title=item.get("title", ""), external_id=item.get("identifier", ""), explanation=explanation,
               attachments=list(files.values()))


def parse_qti(data: bytes, filename: str = "") -> ImportResult:
    check_size(data)
    if data.startswith(b"PK"):
        return _package(SafeZip(data))
    result = ImportResult("qti", encoding="xml")
    try:
        _add_item(parse_xml(data, filename or "QTI"), filename or "1", result, {})
    except _Problem as problem:
        result.error(filename or "1", str(problem))
    return result.finish()


def _package(archive: SafeZip) -> ImportResult:
    if not archive.has("imsmanifest.xml"):
        raise ImportRefused(_("The package has no imsmanifest.xml."))
    manifest = parse_xml(archive.read("imsmanifest.xml"), "imsmanifest.xml")
    result = ImportResult("qti", encoding="xml")
    items: list[str] = []
    for resource in (r for r in manifest.iter() if local(r.tag) == "resource"):
        href = resource.get("href")
        names = [href] if href else []
        names += [f.get("href", "") for f in resource if local(f.tag) == "file"]
        missing = sorted({n for n in names if n and not archive.has(n)})
        for name in missing:
            result.error(name, _("%(name)s is listed in the manifest but missing from the package.", name=name))
        if href and "imsqti_item" in resource.get("type", "") and not missing:
            items.append(archive.resolve(href))
    if not items and not result.errors:
        result.error("imsmanifest.xml", _("The manifest lists no QTI items."))
    for name in items:
        try:
            root = parse_xml(archive.read(name), name)
            _add_item(root, name, result, _images(root, name, archive))
        except ImportRefused as refused:
            result.error(name, refused.msg)
        except _Problem as problem:
            result.error(name, str(problem))
    return result.finish()


def _images(root: Element, item_name: str, archive: SafeZip) -> dict[str, Attachment]:
    files: dict[str, Attachment] = {}
    for el in root.iter():
        src = el.get("src") or (el.get("data") if local(el.tag) == "object" else None)
        if not src or re.match(r"^[a-z][a-z0-9+.-]*:", src, re.IGNORECASE):
            continue
        path = archive.resolve(src, item_name)
        if path.startswith("../") or not archive.has(path):
            raise _Problem(_("%(item)s shows %(file)s, which is not in the package.", item=item_name, file=src))
        files[path] = Attachment(name=posixpath.basename(path) if src == posixpath.basename(path) else src,
                                 media_type=mimetypes.guess_type(path)[0] or "application/octet-stream",
                                 data=archive.read(path))
    return files
