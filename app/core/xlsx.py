"""Rows of stored text written to an Excel sheet, whatever the text holds.

Every export that writes stored values (names, titles, question text) appends its rows here, so that one
bad row cannot break a download: openpyxl refuses the C0 control characters XML 1.0 cannot hold
(IllegalCharacterError, a 500 before this), and would store text starting with "=" as a formula that
Excel runs. Input is refused at the edges (core/types.Text), but rows stored before that, or brought in
by an import, may still hold them: they are dropped from the cell here.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE


def cell_value(value: Any) -> Any:
    """`value` as a cell can hold it: text without the characters a sheet cannot store."""
    if isinstance(value, str):
        return ILLEGAL_CHARACTERS_RE.sub("", value)
    return value


def append_row(ws: Any, values: Iterable[Any]) -> None:
    """Append a row of values; text stays text (never a formula) and loses what a sheet cannot store."""
    ws.append([cell_value(v) for v in values])
    for cell in ws[ws.max_row]:
        if isinstance(cell.value, str) and cell.value.startswith("="):
            cell.data_type = "s"
