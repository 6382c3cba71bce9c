"""Excel import: both layouts (a row per question, a row per option), the downloadable template, Chinese
type names and answers, and errors with their row numbers."""

from __future__ import annotations

import io
from typing import Any

from openpyxl import Workbook, load_workbook

from app.exams.importers import parse_import, parse_xlsx, xlsx_template

TYPES = ["single_choice", "multiple_choice", "true_false", "fill_blank", "short_answer", "ordering", "matching", "numerical"]


def workbook(rows: list[list[Any]], title_row: bool = False) -> bytes:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    if title_row:
        ws.append(["实训基地题库导入"])
    for row in rows:
        ws.append(row)
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def test_template_in_both_layouts_imports_one_question_of_every_type() -> None:
    for layout in ("question", "option"):
        data = xlsx_template(layout)  # type: ignore[arg-type]
        result = parse_xlsx(data)
        assert result.ok, result.errors
        assert [d.type for d in result.drafts] == TYPES
        sheets = load_workbook(io.BytesIO(data)).sheetnames
        assert sheets == ["题目", "填写说明"]
    first = parse_xlsx(xlsx_template()).drafts[0]
    assert first.points == 2 and first.clauses == ["DB3204/T 1001—2021 5.2.1"] and first.tags == ["安全", "个人防护"]
    assert first.category == "安全生产/防护"


def test_row_per_question_with_chinese_values() -> None:
    header = ["题型", "题干", "选项A", "选项B", "选项C", "选项D", "答案", "分值", "难度", "解析", "标签", "标准条款", "多选评分"]
    rows = [header,
            ["单选", "安全帽的作用是？", "装饰", "防护", "", "", "ｂ", 2, "容易", "保护头部", "安全、防护", "", ""],
            ["多项选择题", "防护用品有？", "安全帽", "手套", "桌子", "护目镜", "A、B、D", "", 4, "", "", "", "少选得一半"],
            ["判断题", "应立即报告隐患。", "", "", "", "", "√", "", "", "", "", "", ""],
            ["计算题", "照度范围？", "", "", "", "", "300~500", "", "", "", "", "", ""],
            ["填空", "编号是 ____。", "", "", "", "", "GB/T 1.1｜GB/T1.1", "", "", "", "", "GB/T 1.1—2020 5.2；DB3204/T 1001—2021 A.1", ""]]
    result = parse_xlsx(workbook(rows, title_row=True))
    assert result.ok, result.errors
    single, multiple, tf, numeric, blank = result.drafts
    assert single.config.correct == "B" and single.difficulty == 1 and single.tags == ["安全", "防护"]  # type: ignore[union-attr]
    assert single.source.line == 3
    assert multiple.config.correct == ["A", "B", "D"] and multiple.config.partial_credit == "half"  # type: ignore[union-attr]
    assert tf.config.correct is True  # type: ignore[union-attr]
    assert numeric.config.answers[0].min == 300  # type: ignore[union-attr]
    assert blank.config.blanks[0].accepted == ["GB/T 1.1", "GB/T1.1"]  # type: ignore[union-attr]
    assert blank.clauses == ["GB/T 1.1—2020 5.2", "DB3204/T 1001—2021 A.1"]


def test_row_per_option_groups_rows_by_number() -> None:
    header = ["题号", "题型", "题干", "选项", "是否正确", "答案", "分值"]
    rows = [header,
            [1, "多选题", "防护用品有？", "安全帽", "是", "", 3], [1, "", "", "手套", "是", "", ""], [1, "", "", "桌子", "", "", ""],
            [2, "排序题", "接待步骤", "问候", "", "", ""], ["", "", "", "入座", "", "", ""], ["", "", "", "奉茶", "", "", ""],
            [3, "判断题", "应立即报告。", "", "", "错", ""]]
    result = parse_xlsx(workbook(rows))
    assert result.ok, result.errors
    multiple, ordering, tf = result.drafts
    assert multiple.config.correct == ["A", "B"] and len(multiple.config.options) == 3 and multiple.points == 3  # type: ignore[union-attr]
    assert [i.text for i in ordering.config.items] == ["问候", "入座", "奉茶"]  # type: ignore[union-attr]
    assert tf.config.correct is False  # type: ignore[union-attr]


def test_errors_carry_row_numbers_and_nothing_is_imported() -> None:
    header = ["题型", "题干", "选项A", "选项B", "答案", "难度", "标准条款"]
    rows = [header,
            ["单选题", "好的题目", "甲", "乙", "A", 3, ""],
            ["问卷题", "未知题型", "", "", "", "", ""],
            ["单选题", "答案不在选项中", "甲", "乙", "D", "", ""],
            ["判断题", "答案写错", "", "", "也许", "", ""],
            ["单选题", "难度超范围", "甲", "乙", "A", 9, ""],
            ["单选题", "条款写错", "甲", "乙", "A", "", "第五章"],
            ["", "缺少题型", "", "", "", "", ""]]
    result = parse_xlsx(workbook(rows))
    assert not result.ok
    assert [e.loc for e in result.errors] == [3, 4, 5, 6, 7, 8]
    assert "问卷题" in result.errors[0].msg


def test_not_a_workbook() -> None:
    assert not parse_import(b"hello", "xlsx").ok
    assert not parse_import(workbook([["姓名", "单位"], ["张三", "一中"]]), "xlsx").ok


def test_text_starting_with_equals_is_written_as_text_not_a_formula() -> None:
    matching = parse_xlsx(xlsx_template()).drafts[6].config
    assert [r.text for r in matching.right] == ["国家标准", "地方标准", "企业标准", "行业标准"]  # type: ignore[union-attr]
    ws = load_workbook(io.BytesIO(xlsx_template())).active
    assert ws is not None and all(c.data_type != "f" for row in ws.iter_rows() for c in row)
