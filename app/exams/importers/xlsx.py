"""Excel (.xlsx) import, both layouts of the template (see xlsx_spec for the columns and answers).

One row per question: 题型 题干 选项A … 选项H 答案 …
One row per option:   题号 题型 题干 选项 是否正确 …; the rows of a question share its 题号 (or leave
                      题号/题型/题干 empty to continue the question above). For choices "是否正确" marks
                      the right options; ordering rows are written in the right order; matching rows
                      are "左=右"; fill-in-the-blank rows are one blank each ("a|b" alternatives); other
                      types put the answer in 答案.

The layout is recognised from the header row (the first of the first five rows naming 题型 and 题干).
Errors carry the spreadsheet row number. The workbook is checked as a zip first (an .xlsx is one),
and openpyxl parses its XML through defusedxml when that is installed, as it is here.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass, field
from typing import Any

from openpyxl import load_workbook

from app.core.i18n import gettext as _
from app.exams.drafts import SourceRef
from app.exams.importers.base import ImportRefused, ImportResult, SafeZip
from app.exams.importers.xlsx_spec import (
    TRUE_WORDS,
    CellProblem,
    build_config,
    cell_text,
    difficulty,
    fold,
    header_key,
    html_from_cell,
    points,
    question_type,
    split_clauses,
    split_tags,
)

MAX_ROWS = 20_000


@dataclass
class _Question:
    row: int
    cells: dict[str, str]
    options: list[str] = field(default_factory=list)
    marks: list[bool] = field(default_factory=list)


def _open_sheet(data: bytes) -> list[tuple[Any, ...]]:
    SafeZip(data)  # names, sizes and ratios checked before openpyxl inflates anything
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise ImportRefused(_("The file is not an Excel workbook (.xlsx).")) from exc
    try:
        for sheet in workbook.worksheets:
            rows = []
            for row in sheet.iter_rows(values_only=True):
                rows.append(row)
                if len(rows) > MAX_ROWS:
                    raise ImportRefused(_("A sheet may have at most %(n)s rows.", n=MAX_ROWS))
            if any(_header(r) for r in rows[:5]):
                return rows
    finally:
        workbook.close()
    raise ImportRefused(_("No sheet has a header row with the columns 题型 and 题干."))


def _header(row: tuple[Any, ...]) -> dict[str, int] | None:
    keys = {header_key(v): i for i, v in reversed(list(enumerate(row))) if cell_text(v)}
    return keys if "题型" in keys and "题干" in keys else None


def parse_xlsx(data: bytes) -> ImportResult:
    rows = _open_sheet(data)
    result = ImportResult("xlsx")
    start, columns = next((i, h) for i, r in enumerate(rows[:5]) if (h := _header(r)))
    per_option = "选项" in columns or "是否正确" in columns
    questions: list[_Question] = []
    for index, row in enumerate(rows[start + 1:], start=start + 2):
        cells = {key: cell_text(row[i]) if i < len(row) else "" for key, i in columns.items()}
        if not any(cells.values()):
            continue
        if not per_option:
            options = [cells[f"选项{c}"] for c in "ABCDEFGHIJ" if cells.get(f"选项{c}")]
            questions.append(_Question(index, cells, options))
            continue
        same = questions and (cells.get("题号") and cells["题号"] == questions[-1].cells.get("题号")
                              or not (cells.get("题号") or cells["题型"] or cells["题干"]))
        if not same:
            questions.append(_Question(index, cells))
        question = questions[-1]
        if cells.get("选项"):
            question.options.append(cells["选项"])
            question.marks.append(fold(cells.get("是否正确", "")).lower() in TRUE_WORDS)
    for question in questions:
        try:
            _add(question, per_option, result)
        except CellProblem as problem:
            result.error(question.row, str(problem))
    return result.finish()


def _add(question: _Question, per_option: bool, result: ImportResult) -> None:
    cells = question.cells
    if not cells["题型"]:
        raise CellProblem(_("The question type (题型) is empty."))
    qtype = question_type(cells["题型"])
    answer, options = cells.get("答案", ""), question.options
    if per_option:
        if qtype in ("single_choice", "multiple_choice") and any(question.marks):
            answer = "".join("ABCDEFGHIJ"[i] for i, mark in enumerate(question.marks) if mark)
        elif qtype == "ordering":
            answer = "ABCDEFGHIJ"[:len(options)]
        elif qtype == "fill_blank" and options:
            answer, options = "；".join(options), []
    if len(options) > 10:
        raise CellProblem(_("A question may have at most 10 options."))
    config = build_config(qtype, options, answer, cells.get("多选评分", ""), cells.get("评分要点", ""))
    result.add(SourceRef(line=question.row), type=qtype, stem=html_from_cell(cells["题干"]), config=config,
               points=points(cells.get("分值", "")), difficulty=difficulty(cells.get("难度", "")),
               explanation=html_from_cell(cells.get("解析", "")), tags=split_tags(cells.get("标签", "")),
               category=cells.get("分类", ""), clauses=split_clauses(cells.get("标准条款", "")),
               external_id=cells.get("编号", ""))
