"""The Excel question sheet: columns, type names, and how each type's options and answer are written.
Shared by the importer, the downloadable template and the exporter, so all three agree.

Cells are plain text; a cell that starts with "[html]" holds rich text (as in GIFT).

    题型     单选题 多选题 判断题 填空题 简答题 排序题 匹配题 数值题 (or the API's type names)
    答案     单选 B · 多选 ACD (or A,C,D) · 判断 对/错 (正确/错误, √/×, T/F) · 填空: blanks separated by
             "；", accepted alternatives by "|" (GB/T 1.1|GB/T1.1；立即停止) · 简答: the reference answer ·
             排序: the options' letters in the right order (CABD) · 匹配: empty (each option is "左=右";
             "=右" alone adds a distractor) · 数值: 3.14±0.01, 3.14:0.01 or a range 3.1~3.2
    难度     1–5 (or 容易 较易 中等 较难 困难) · 分值 a number · 标签 separated by "，" · 标准条款 one per line
             or separated by "；", e.g. "DB3204/T 1001—2021 5.2.1" · 多选评分 全对得分 / 少选按比例 / 少选得一半
    评分要点 简答 only: one criterion per line ending with its points, "说明停止作业的条件（2分）"
"""

from __future__ import annotations

import html
import re
import unicodedata
from typing import Any

from app.core.i18n import gettext as _
from app.exams.question_types.normalize import plain_text

OPTION_LETTERS = "ABCDEFGHIJ"
QUESTION_COLUMNS = ["题型", "题干", *[f"选项{c}" for c in OPTION_LETTERS[:8]], "答案", "分值", "难度", "解析", "标签",
                    "分类", "标准条款", "多选评分", "评分要点", "编号"]
OPTION_COLUMNS = ["题号", "题型", "题干", "选项", "是否正确", "答案", "分值", "难度", "解析", "标签", "分类", "标准条款",
                  "多选评分", "评分要点", "编号"]
HEADER_ALIASES = {"试题类型": "题型", "类型": "题型", "type": "题型", "题目": "题干", "stem": "题干", "question": "题干",
                  "正确答案": "答案", "参考答案": "答案", "answer": "答案", "分数": "分值", "points": "分值",
                  "difficulty": "难度", "答案解析": "解析", "explanation": "解析", "tags": "标签", "category": "分类",
                  "条款": "标准条款", "clauses": "标准条款", "选项内容": "选项", "正确": "是否正确", "id": "编号",
                  "序号": "题号", "试题编号": "编号"}

TYPE_LABELS = {"single_choice": "单选题", "multiple_choice": "多选题", "true_false": "判断题", "fill_blank": "填空题",
               "short_answer": "简答题", "ordering": "排序题", "matching": "匹配题", "numerical": "数值题"}
TYPE_ALIASES = {**{v: k for k, v in TYPE_LABELS.items()}, **{v[:-1]: k for k, v in TYPE_LABELS.items()},
                **{k: k for k in TYPE_LABELS}, "单项选择题": "single_choice", "多项选择题": "multiple_choice",
                "不定项选择题": "multiple_choice", "问答题": "short_answer", "论述题": "short_answer",
                "连线题": "matching", "计算题": "numerical"}
SCORING = {"全对得分": "none", "少选按比例": "proportional", "少选得一半": "half"}
SCORING_LABELS = {v: k for k, v in SCORING.items()}
DIFFICULTY_WORDS = {"容易": 1, "较易": 2, "中等": 3, "较难": 4, "困难": 5, "易": 1, "中": 3, "难": 5}
TRUE_WORDS = {"对", "正确", "√", "✓", "t", "true", "是", "y", "yes", "1"}
FALSE_WORDS = {"错", "错误", "×", "✗", "x", "f", "false", "否", "n", "no", "0"}
_SPLIT_BLANKS = re.compile(r"[；;\n]")
_SPLIT_ALTERNATIVES = re.compile(r"[|｜]")
_SPLIT_TAGS = re.compile(r"[,，、;；\n]")
_SPLIT_CLAUSES = re.compile(r"[;；\n]")
_RUBRIC = re.compile(r"^(.*?)[（(]\s*(\d+(?:\.\d+)?)\s*分?\s*[）)]\s*$")
_SIMPLE_HTML = re.compile(r"^(?:[^<>&]|&(?:lt|gt|amp);|<br>)*$")


class CellProblem(ValueError):
    """A translated message about one row."""


def fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip()


def header_key(value: Any) -> str:
    text = re.sub(r"[\s*＊]|[（(].*?[)）]", "", fold(cell_text(value)))
    return HEADER_ALIASES.get(text.lower(), HEADER_ALIASES.get(text, text))


def cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def html_from_cell(text: str) -> str:
    if text.startswith("[html]"):
        return text[6:].strip()
    return "<br>".join(html.escape(line.strip(), quote=False) for line in text.strip().split("\n"))


def cell_from_html(value: str) -> str:
    """Rich text back to a cell: plain when nothing would be lost, else "[html]…"."""
    if _SIMPLE_HTML.match(value):
        return html.unescape(value.replace("<br>", "\n"))
    return "[html]" + value


def question_type(label: str) -> str:
    key = fold(label)
    found = TYPE_ALIASES.get(key) or TYPE_ALIASES.get(key.lower())
    if not found:
        raise CellProblem(_("Unknown question type “%(label)s”; use one of %(labels)s.", label=label,
                            labels="、".join(TYPE_LABELS.values())))
    return found


def difficulty(text: str) -> int:
    text = fold(text)
    if not text:
        return 3
    if text in DIFFICULTY_WORDS:
        return DIFFICULTY_WORDS[text]
    if text.isdigit() and 1 <= int(text) <= 5:
        return int(text)
    raise CellProblem(_("Difficulty must be a whole number from 1 to 5."))


def points(text: str) -> float:
    text = fold(text).removesuffix("分")
    if not text:
        return 1.0
    try:
        return float(text)
    except ValueError:
        raise CellProblem(_("Points must be a number above 0 and at most 1000.")) from None


def split_tags(text: str) -> list[str]:
    return [t.strip() for t in _SPLIT_TAGS.split(text) if t.strip()]


def split_clauses(text: str) -> list[str]:
    return [c.strip() for c in _SPLIT_CLAUSES.split(text) if c.strip()]


def letters(answer: str) -> list[str]:
    found = [c.upper() for c in fold(answer) if not re.match(r"[\s,;、，；]", c)]
    if not found or any(c not in OPTION_LETTERS for c in found):
        raise CellProblem(_("The answer “%(answer)s” must be option letters like A or ACD.", answer=answer))
    return found


def _option_list(options: list[str]) -> list[dict[str, str]]:
    return [{"id": OPTION_LETTERS[i], "text": html_from_cell(o)} for i, o in enumerate(options)]


def _check_letters(found: list[str], count: int) -> None:
    if any(OPTION_LETTERS.index(c) >= count for c in found) or len(set(found)) != len(found):
        raise CellProblem(_("The answer names an option that is empty or repeated."))


def _number(text: str) -> float:
    try:
        return float(fold(text).replace("−", "-"))
    except ValueError:
        raise CellProblem(_("“%(text)s” is not a number.", text=text)) from None


def numeric_answer(text: str) -> dict[str, float]:
    text = fold(text).replace(" ", "")
    if "±" in text or ":" in text:
        value, tolerance = re.split(r"[±:]", text, maxsplit=1)
        return {"value": _number(value), "tolerance": abs(_number(tolerance))}
    for sep in ("..", "~", "至", "到"):
        if sep in text[1:]:
            low, high = text[0] + text[1:].split(sep, 1)[0], text[1:].split(sep, 1)[1]
            return {"min": _number(low), "max": _number(high)}
    return {"value": _number(text)}


def rubric(text: str) -> list[dict[str, Any]]:
    items = []
    for line in (t.strip() for t in text.split("\n")):
        if not line:
            continue
        match = _RUBRIC.match(fold(line))
        if not match:
            raise CellProblem(_("Each rubric line ends with its points, like “说明停止作业的条件（2分）”."))
        items.append({"criterion": match.group(1).strip(), "points": float(match.group(2))})
    return items


def build_config(qtype: str, options: list[str], answer: str, scoring: str, rubric_text: str) -> dict[str, Any]:
    """The type's config from a sheet row (options are the non-empty option cells in order)."""
    if qtype in ("single_choice", "multiple_choice", "ordering"):
        found = letters(answer)
        _check_letters(found, len(options))
        if qtype == "single_choice":
            if len(found) != 1:
                raise CellProblem(_("A single-choice question has exactly one right option."))
            return {"options": _option_list(options), "correct": found[0]}
        if qtype == "ordering":
            if sorted(found) != list(OPTION_LETTERS[:len(options)]):
                raise CellProblem(_("The answer of an ordering question lists every option's letter once."))
            return {"items": _option_list(options), "correct": found}
        mode = SCORING.get(fold(scoring), fold(scoring) or "none")
        if mode not in ("none", "proportional", "half"):
            raise CellProblem(_("The scoring rule (多选评分) must be one of %(values)s.", values="、".join(SCORING)))
        return {"options": _option_list(options), "correct": sorted(found), "partial_credit": mode}
    if qtype == "true_false":
        word = fold(answer).lower()
        if word not in TRUE_WORDS | FALSE_WORDS:
            raise CellProblem(_("The answer of a true/false question is 对 or 错."))
        return {"correct": word in TRUE_WORDS}
    if qtype == "fill_blank":
        blanks = [[a.strip() for a in _SPLIT_ALTERNATIVES.split(b) if a.strip()] for b in _SPLIT_BLANKS.split(answer)]
        blanks = [b for b in blanks if b]
        if not blanks:
            raise CellProblem(_("A fill-in-the-blank question needs the accepted answer of each blank."))
        return {"blanks": [{"accepted": b} for b in blanks]}
    if qtype == "short_answer":
        return {"reference_answer": html_from_cell(answer) if answer else "", "rubric": rubric(rubric_text)}
    if qtype == "matching":
        return _matching(options)
    if not answer:
        raise CellProblem(_("A numerical question needs its answer, like 3.14±0.01."))
    return {"answers": [numeric_answer(answer)]}


def _matching(options: list[str]) -> dict[str, Any]:
    left: list[dict[str, str]] = []
    right: dict[str, str] = {}
    pairs: dict[str, str] = {}
    for option in options:
        sep = next((s for s in ("->", "→", "＝", "=") if s in option), None)
        if sep is None:
            raise CellProblem(_("Each option of a matching question is written “left=right”."))
        question, target = (s.strip() for s in option.split(sep, 1))
        rid = right.setdefault(target, f"R{len(right) + 1}")
        if question:
            lid = f"L{len(left) + 1}"
            left.append({"id": lid, "text": html_from_cell(question)})
            pairs[lid] = rid
    return {"left": left, "right": [{"id": rid, "text": html_from_cell(t)} for t, rid in right.items()], "pairs": pairs}


def format_row(qtype: str, config: dict[str, Any]) -> tuple[list[str], str, str, str]:
    """(option cells, answer, 多选评分, 评分要点) for a config: the inverse of build_config."""
    def letter_of(ids: list[str], wanted: list[str]) -> str:
        return "".join(OPTION_LETTERS[ids.index(w)] for w in wanted)

    if qtype in ("single_choice", "multiple_choice"):
        ids = [o["id"] for o in config["options"]]
        cells = [cell_from_html(o["text"]) for o in config["options"]]
        if qtype == "single_choice":
            return cells, letter_of(ids, [config["correct"]]), "", ""
        return cells, letter_of(ids, config["correct"]), SCORING_LABELS.get(config["partial_credit"], ""), ""
    if qtype == "ordering":
        ids = [o["id"] for o in config["items"]]
        return [cell_from_html(o["text"]) for o in config["items"]], letter_of(ids, config["correct"]), "", ""
    if qtype == "true_false":
        return [], "对" if config["correct"] else "错", "", ""
    if qtype == "fill_blank":
        return [], "；".join("|".join(b["accepted"]) for b in config["blanks"]), "", ""
    if qtype == "short_answer":
        lines = "\n".join(f"{r['criterion']}（{r['points']:g}分）" for r in config["rubric"])
        return [], cell_from_html(config["reference_answer"]), "", lines
    if qtype == "matching":
        texts = {r["id"]: plain_text(r["text"]) for r in config["right"]}
        cells = [f"{cell_from_html(left['text'])}={texts[config['pairs'][left['id']]]}" for left in config["left"]]
        used = set(config["pairs"].values())
        cells += [f"={texts[r['id']]}" for r in config["right"] if r["id"] not in used]
        return cells, "", "", ""
    best = max(config["answers"], key=lambda a: a["fraction"])
    if best.get("value") is not None:
        text = f"{best['value']:g}" + (f"±{best['tolerance']:g}" if best["tolerance"] else "")
    else:
        text = f"{best['min']:g}~{best['max']:g}"
    return [], text, "", ""
