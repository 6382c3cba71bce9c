"""The downloadable Excel template: a sheet to fill in with one example per type, and a second sheet
of instructions and allowed values. Drop-down lists guard 题型, 难度 and 多选评分."""

from __future__ import annotations

import io
from typing import Literal

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from app.core.xlsx import append_row
from app.exams.importers.xlsx_spec import OPTION_COLUMNS, QUESTION_COLUMNS, SCORING, TYPE_LABELS

CLAUSE = "DB3204/T 1001—2021 5.2.1"
EXAMPLES: list[dict[str, str]] = [
    {"题型": "单选题", "题干": "进入施工现场必须佩戴的是（ ）。", "选项": "安全帽|工作证|手套|雨伞", "答案": "A", "分值": "2",
     "难度": "1", "解析": "安全帽是进入施工现场的必备防护用品。", "标签": "安全，个人防护", "分类": "安全生产/防护",
     "标准条款": CLAUSE},
    {"题型": "多选题", "题干": "下列属于个人防护用品的有（ ）。", "选项": "安全帽|防护手套|办公桌|护目镜", "答案": "ABD",
     "分值": "3", "难度": "2", "多选评分": "少选按比例"},
    {"题型": "判断题", "题干": "发现安全隐患时应立即报告。", "答案": "对", "难度": "1"},
    {"题型": "填空题", "题干": "标准编写规则的国家标准编号是 ____，发布年份是 ____。", "答案": "GB/T 1.1|GB/T1.1；2020",
     "难度": "3"},
    {"题型": "简答题", "题干": "简述停止作业的条件。", "答案": "出现危及人身安全的情况时应立即停止作业。",
     "评分要点": "说明危及人身安全的情形（2分）\n说明报告程序（3分）", "分值": "5", "难度": "4"},
    {"题型": "排序题", "题干": "请按正确顺序排列接待服务的步骤。", "选项": "问候来宾|引导入座|奉茶|送别", "答案": "ABCD",
     "难度": "3"},
    {"题型": "匹配题", "题干": "将标准代号与类别连线。", "选项": "GB=国家标准|DB=地方标准|Q=企业标准|=行业标准", "难度": "2"},
    {"题型": "数值题", "题干": "茶水温度宜为多少摄氏度？", "答案": "85±5", "难度": "2"},
]
INSTRUCTIONS = [
    ("列", "说明"),
    ("题型", "必填。" + "、".join(TYPE_LABELS.values())),
    ("题干", "必填。纯文本；以 [html] 开头的单元格按富文本处理。填空题用 ____（三个以上下划线）标出每个空。"),
    ("选项A…选项H / 选项", "单选、多选、排序题的选项；匹配题每项写“左=右”，只写“=右”表示干扰项。"),
    ("答案", "单选 B；多选 ACD；判断 对/错；填空各空用“；”分隔，同一空的多个答案用“|”分隔；简答写参考答案；"
             "排序写正确顺序的字母，如 CABD；匹配题留空；数值题写 3.14±0.01 或范围 3.1~3.2。"),
    ("是否正确", "按选项逐行填写时使用：正确的选项填“是”。排序题按正确顺序逐行填写选项。"),
    ("分值", "大于 0 的数，默认 1。"),
    ("难度", "1–5（容易、较易、中等、较难、困难），默认 3。"),
    ("解析", "答题后显示的解析。"),
    ("标签", "多个标签用“，”分隔。"),
    ("分类", "用“/”表示层级，如 安全生产/防护。"),
    ("标准条款", "引用的标准条款，每行一条或用“；”分隔，如 " + CLAUSE + "。"),
    ("多选评分", "多选题：" + "、".join(SCORING) + "（默认全对得分）。"),
    ("评分要点", "简答题：每行一个要点，以分值结尾，如 说明报告程序（3分）。"),
    ("编号", "可选，来源系统中的题目编号。"),
    ("题号", "按选项逐行填写时使用：同一题的各行填写相同题号。"),
    ("导入规则", "任何一行有错误时整个文件都不会导入；预览会列出所有错误及其行号。"),
]


def _style_header(ws: Worksheet, columns: list[str]) -> None:
    ws.append(columns)
    for index, _name in enumerate(columns, start=1):
        cell = ws.cell(row=1, column=index)
        cell.font = Font(bold=True, color="FFFFFF")
        cell.fill = PatternFill("solid", fgColor="1F5C99")
        ws.column_dimensions[get_column_letter(index)].width = 40 if columns[index - 1] in ("题干", "解析") else 14
    ws.freeze_panes = "A2"


def _validations(ws: Worksheet, columns: list[str]) -> None:
    lists = {"题型": ",".join(TYPE_LABELS.values()), "难度": "1,2,3,4,5", "多选评分": ",".join(SCORING)}
    for name, values in lists.items():
        letter = get_column_letter(columns.index(name) + 1)
        validation = DataValidation(type="list", formula1=f'"{values}"', allow_blank=True)
        validation.add(f"{letter}2:{letter}2000")
        ws.add_data_validation(validation)


def xlsx_template(layout: Literal["question", "option"] = "question") -> bytes:
    workbook = Workbook()
    ws = workbook.active
    assert ws is not None
    ws.title = "题目"
    columns = QUESTION_COLUMNS if layout == "question" else OPTION_COLUMNS
    _style_header(ws, columns)
    for number, example in enumerate(EXAMPLES, start=1):
        options = [o for o in example.get("选项", "").split("|") if o]
        if layout == "question":
            row = {**example, **{f"选项{chr(65 + i)}": o for i, o in enumerate(options)}}
            append_row(ws, [row.get(c, "") for c in columns])
            continue
        answer = example.get("答案", "")
        kind = example["题型"]
        rows: list[dict[str, str]] = [{}]
        if kind in ("单选题", "多选题", "排序题", "匹配题"):
            rows = [{"选项": o, "是否正确": "是" if kind in ("单选题", "多选题") and chr(65 + i) in answer else ""}
                    for i, o in enumerate(options)]
        for index, extra in enumerate(rows):
            base = {**example, "题号": str(number)} if index == 0 else {"题号": str(number)}
            if kind in ("单选题", "多选题", "排序题") and index == 0:
                base["答案"] = ""
            append_row(ws, [{**base, **extra}.get(c, "") for c in columns])
    for cells in ws.iter_rows(min_row=2):
        for cell in cells:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    _validations(ws, columns)
    notes = workbook.create_sheet("填写说明")
    for line in INSTRUCTIONS:
        notes.append(list(line))
    notes.column_dimensions["A"].width = 22
    notes.column_dimensions["B"].width = 110
    notes["A1"].font = notes["B1"].font = Font(bold=True)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
