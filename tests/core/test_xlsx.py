"""Stored text of any kind can be written to a sheet (core/xlsx)."""

from __future__ import annotations

import io

from openpyxl import Workbook, load_workbook

from app.core.xlsx import append_row


def test_rows_with_control_characters_and_formulas_are_written_as_text() -> None:
    book = Workbook()
    sheet = book.active
    append_row(sheet, ["张\x00三\x07", "=1+1", 3, None, "多行\n文字\t保留"])
    out = io.BytesIO()
    book.save(out)  # openpyxl raised IllegalCharacterError on "\x00" and "\x07" before
    row = next(load_workbook(io.BytesIO(out.getvalue())).active.iter_rows(values_only=True))
    assert row == ("张三", "=1+1", 3, None, "多行\n文字\t保留")
    assert load_workbook(io.BytesIO(out.getvalue())).active["B1"].data_type == "s"
