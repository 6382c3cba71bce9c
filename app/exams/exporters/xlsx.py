"""Questions → an Excel sheet in the template's one-row-per-question layout (re-importable).

What the sheet cannot hold is left out: option feedback, weighted multiple-choice credit (exported as
all or nothing), several numerical answers (the best one is kept), partial credit within a blank."""

from __future__ import annotations

import io
from collections.abc import Sequence

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font

from app.core.xlsx import append_row
from app.exams.drafts import QuestionDraft
from app.exams.importers.xlsx_spec import (
    OPTION_LETTERS,
    QUESTION_COLUMNS,
    TYPE_LABELS,
    cell_from_html,
    format_row,
)


def export_xlsx(drafts: Sequence[QuestionDraft]) -> bytes:
    rows = [(d, *format_row(d.type, d.config.model_dump(mode="json"))) for d in drafts]
    widest = min(len(OPTION_LETTERS), max([8, *(len(r[1]) for r in rows)]))
    columns = list(QUESTION_COLUMNS)
    at = columns.index("答案")
    columns[at:at] = [f"选项{c}" for c in OPTION_LETTERS[8:widest]]
    workbook = Workbook()
    ws = workbook.active
    assert ws is not None
    ws.title = "题目"
    ws.append(columns)
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for draft, options, answer, scoring, rubric in rows:
        values = {"题型": TYPE_LABELS[draft.type], "题干": cell_from_html(draft.stem), "答案": answer,
                  "分值": draft.points, "难度": draft.difficulty, "解析": cell_from_html(draft.explanation),
                  "标签": "，".join(draft.tags), "分类": draft.category, "标准条款": "\n".join(draft.clauses),
                  "多选评分": scoring, "评分要点": rubric, "编号": draft.external_id,
                  **{f"选项{OPTION_LETTERS[i]}": o for i, o in enumerate(options)}}
        append_row(ws, [values.get(c, "") for c in columns])
    for row in ws.iter_rows(min_row=2):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    ws.column_dimensions["B"].width = 50
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
