"""Export → import gives the same questions, for every type each format can express. Ids may be renamed
and blank marks redrawn, so questions are compared in an id-free form."""

from __future__ import annotations

import re
from typing import Any

import pytest

from app.exams.drafts import QuestionDraft, build_draft
from app.exams.exporters import export_moodle_xml, export_qti_zip, export_xlsx
from app.exams.importers import parse_moodle_xml, parse_qti, parse_xlsx

OPTS = [{"id": "A", "text": "安全帽"}, {"id": "B", "text": "工作证 &lt;临时&gt;"}, {"id": "C", "text": "护目镜"}]
SPECS: list[dict[str, Any]] = [
    {"type": "single_choice", "stem": "<p>进入现场必须佩戴的是<strong>哪一项</strong>？</p>",
     "config": {"options": OPTS, "correct": "A"}, "points": 2, "explanation": "安全帽是必备防护用品。"},
    {"type": "multiple_choice", "stem": "防护用品有？", "config": {"options": OPTS, "correct": ["A", "C"]}},
    {"type": "multiple_choice", "stem": "按权重计分的多选题", "config": {
        "options": OPTS, "correct": ["A", "C"], "partial_credit": "weights", "weights": {"A": 0.5, "C": 0.5, "B": -1}}},
    {"type": "multiple_choice", "stem": "少选得一半", "config": {"options": OPTS, "correct": ["A", "C"], "partial_credit": "half"}},
    {"type": "true_false", "stem": "发现隐患应立即报告。", "config": {"correct": True}},
    {"type": "true_false", "stem": "可以不戴安全帽。", "config": {"correct": False}},
    {"type": "fill_blank", "stem": "标准编号是 ____，发布于 ____ 年。",
     "config": {"blanks": [{"accepted": ["GB/T 1.1", "GB/T1.1"]}, {"accepted": ["2020"]}]}},
    {"type": "fill_blank", "stem": "单空填空：应急电话是", "config": {"blanks": [{"accepted": ["119"]}]}},
    {"type": "fill_blank", "stem": "下拉选择：发布于 ____ 年。",
     "config": {"blanks": [{"accepted": ["2020"], "options": ["2009", "2020"]}]}},
    {"type": "short_answer", "stem": "简述停止作业的条件。", "config": {"reference_answer": "危及安全时停止。",
                                                               "rubric": [{"criterion": "说明条件", "points": 2}]}},
    {"type": "short_answer", "stem": "<p>说明茶水服务要求。</p>", "config": {"reference_answer": "<p>水温 85 ℃ 左右。</p>"}},
    {"type": "ordering", "stem": "排列接待步骤。", "config": {"items": OPTS, "correct": ["B", "A", "C"]}},
    {"type": "matching", "stem": "代号与类别连线。", "config": {
        "left": [{"id": "L1", "text": "GB"}, {"id": "L2", "text": "DB"}],
        "right": [{"id": "R1", "text": "国家标准"}, {"id": "R2", "text": "地方标准"}, {"id": "R3", "text": "行业标准"}],
        "pairs": {"L1": "R1", "L2": "R2"}}},
    {"type": "numerical", "stem": "茶水温度（℃）？", "config": {"answers": [{"value": 85, "tolerance": 5}]}},
    {"type": "numerical", "stem": "照度范围？", "config": {"answers": [{"min": 300, "max": 500}]}},
]
META = {"difficulty": 4, "tags": ["安全", "标准化"], "category": "安全生产/防护", "clauses": ["DB3204/T 1001—2021 5.2.1"]}


def drafts() -> list[QuestionDraft]:
    built = []
    for spec in SPECS:
        draft, errors = build_draft(**spec, **META)
        assert draft is not None, errors
        built.append(draft)
    return built


def canonical(draft: QuestionDraft, *, meta: bool = True) -> dict[str, Any]:
    """The question without ids: options by text, keys by text, blank marks as one token."""
    c = draft.config.model_dump(mode="json")
    c.pop("v")
    if "options" in c and draft.type != "fill_blank":
        text = {o["id"]: o["text"] for o in c["options"]}
        c["options"] = [o["text"] for o in c["options"]]
        c["correct"] = sorted(text[i] for i in c["correct"]) if isinstance(c["correct"], list) else text[c["correct"]]
        c["weights"] = {text[k]: w for k, w in c.get("weights", {}).items()}
    if draft.type == "ordering":
        text = {o["id"]: o["text"] for o in c.pop("items")}
        c["correct"] = [text[i] for i in c["correct"]]
    if draft.type == "matching":
        left, right = {o["id"]: o["text"] for o in c["left"]}, {o["id"]: o["text"] for o in c["right"]}
        c = {"pairs": sorted((left[k], right[v]) for k, v in c["pairs"].items()), "right": sorted(right.values()),
             "partial_credit": c["partial_credit"]}
    if draft.type == "numerical":
        c["answers"] = [(a["value"] if a["value"] is not None else (a["min"] + a["max"]) / 2,
                         a["tolerance"] if a["value"] is not None else (a["max"] - a["min"]) / 2, a["fraction"])
                        for a in c["answers"]]
    found = {"type": draft.type, "stem": re.sub(r"\s*_{3,}\s*", "____", draft.stem).strip(), "config": c,
             "points": draft.points, "explanation": draft.explanation}
    if meta:
        found.update(difficulty=draft.difficulty, tags=draft.tags, category=draft.category, clauses=draft.clauses)
    return found


def expressible(fmt: str, draft: QuestionDraft) -> bool:
    config = draft.config
    if fmt == "xlsx":  # no weights, no drop-down blanks
        return getattr(config, "partial_credit", "") != "weights" and not any(
            getattr(b, "options", None) for b in getattr(config, "blanks", []))
    if fmt == "qti":  # no proportional/half credit, no rubric
        return getattr(config, "partial_credit", "none") in ("none", "weights", True) and not getattr(config, "rubric", None)
    return True


@pytest.mark.parametrize(("fmt", "export", "parse", "meta"), [
    ("xlsx", export_xlsx, parse_xlsx, True), ("moodle-xml", export_moodle_xml, parse_moodle_xml, True),
    ("qti", export_qti_zip, parse_qti, False),
])
def test_export_then_import_gives_the_same_questions(fmt: str, export: Any, parse: Any, meta: bool) -> None:
    originals = [d for d in drafts() if expressible(fmt, d)]
    assert {d.type for d in originals} == {s["type"] for s in SPECS}  # every type goes through every format
    result = parse(export(originals))
    assert result.ok, result.errors
    assert [canonical(d, meta=meta) for d in result.drafts] == [canonical(d, meta=meta) for d in originals]


def test_moodle_xml_keeps_what_excel_and_qti_cannot() -> None:
    result = parse_moodle_xml(export_moodle_xml(drafts()))
    assert result.drafts[3].config.partial_credit == "half"  # type: ignore[union-attr]
    assert result.drafts[9].config.rubric[0].criterion == "说明条件"  # type: ignore[union-attr]
