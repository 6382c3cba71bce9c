"""Workbooks the user import hands out: the template to fill in and the list of one-time passwords."""

from __future__ import annotations

import base64
import io
import re
from typing import cast

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet
from sqlmodel import Session

from app.accounts import permissions, service
from app.accounts.importer import COLUMNS, MAX_ROWS, ROLE_ZH, TIER_ZH, XLSX_MEDIA_TYPE, Credential
from app.accounts.models import Role, Tier, User
from app.core.i18n import gettext as _
from app.core.xlsx import append_row

_HEAD_FONT = Font(bold=True)
_REQUIRED_FILL = PatternFill("solid", fgColor="FDE8E8")
_OPTIONAL_FILL = PatternFill("solid", fgColor="EEF1F4")


def _sheet_title(text: str) -> str:
    return re.sub(r"[\[\]:*?/\\]", "", text)[:31] or "Sheet"


def template_workbook(session: Session, actor: User) -> bytes:
    """The import template: the header row to fill in, and a second sheet with the unit codes of the
    actor's scope and the accepted tier and role values."""
    wb = Workbook()
    users = cast(Worksheet, wb.active)
    users.title = _sheet_title(_("Users"))
    users.append([c.header for c in COLUMNS])
    for index, column in enumerate(COLUMNS, start=1):
        cell = users.cell(row=1, column=index)
        cell.font = _HEAD_FONT
        cell.fill = _REQUIRED_FILL if column.required else _OPTIONAL_FILL
        letter = get_column_letter(index)
        users.column_dimensions[letter].width = column.width
        users.column_dimensions[letter].number_format = "@"  # phone numbers and 001-style numbers stay text
    users.freeze_panes = "A2"

    ref = wb.create_sheet(_sheet_title(_("Unit codes and values")))
    ref.append([_("Unit code"), _("Unit name"), "", _("Tier (层级)"), "", _("Role (角色)"), _("Role code"), "", _("Notes")])
    for cell in ref[1]:
        cell.font = _HEAD_FONT
    nodes = [n for n in service.org_unit_tree(session, actor) if n.unit.is_active]
    tiers = [TIER_ZH[t] for t in Tier]
    roles = [r for r in Role if r.value in permissions.assignable_roles(actor)]
    notes = [
        _("Fill in one user per row on the first worksheet, starting at row 2. Keep the header row as it is."),
        _("Required columns: 用户名, 姓名, 单位编码. The others may stay empty."),
        _("用户名: 2 to 64 characters, letters, digits, '.', '_' or '-'; it must be new."),
        _("层级: 决策层, 管理层 or 执行层 (or decision, management, execution); empty means 执行层."),
        _("角色: one or more, separated by commas or 、; empty means 学员."),
        _("初始密码: optional; at least 8 characters mixing letters and digits. Empty: one is generated and shown "
          "once after the import."),
        _("Every imported user must change the password at the first sign-in."),
        _("At most %(n)s users per file; the whole file is imported only if every row is valid.", n=MAX_ROWS),
    ]
    for i in range(max(len(nodes), len(tiers), len(roles), len(notes))):
        node = nodes[i] if i < len(nodes) else None
        role = roles[i] if i < len(roles) else None
        append_row(ref, [
            node.unit.code if node else None, ("　" * node.level + node.unit.name) if node else None, None,
            tiers[i] if i < len(tiers) else None, None,
            ROLE_ZH[role] if role else None, role.value if role else None, None,
            notes[i] if i < len(notes) else None,
        ])
    for letter, width in (("A", 18), ("B", 36), ("C", 3), ("D", 12), ("E", 3), ("F", 14), ("G", 16), ("H", 3), ("I", 90)):
        ref.column_dimensions[letter].width = width
    ref.freeze_panes = "A2"

    # Drop-downs to help; not enforced, since English codes are accepted as well.
    last = MAX_ROWS + 1
    tier_list = DataValidation(type="list", formula1='"' + ",".join(tiers) + '"', allow_blank=True, showErrorMessage=False)
    tier_list.add(f"D2:D{last}")
    users.add_data_validation(tier_list)
    if nodes:
        quoted = ref.title.replace("'", "''")
        unit_list = DataValidation(type="list", formula1=f"'{quoted}'!$A$2:$A${len(nodes) + 1}", allow_blank=True,
                                   showErrorMessage=False)
        unit_list.add(f"C2:C{last}")
        users.add_data_validation(unit_list)
    return _save(wb)


def credentials_workbook(credentials: list[Credential]) -> bytes:
    wb = Workbook()
    ws = cast(Worksheet, wb.active)
    ws.title = _sheet_title(_("Initial passwords"))
    ws.append([_("Row"), "用户名", "姓名", _("Unit"), "初始密码"])
    for cell in ws[1]:
        cell.font = _HEAD_FONT
    for c in credentials:
        append_row(ws, [c.row, c.username, c.display_name, c.unit_name, c.password or _("(as given in the file)")])
    for letter, width in (("A", 8), ("B", 18), ("C", 14), ("D", 30), ("E", 22)):
        ws.column_dimensions[letter].width = width
        for cell in ws[letter]:
            cell.alignment = Alignment(vertical="top")
            cell.number_format = "@"
    ws.freeze_panes = "A2"
    return _save(wb)


def credentials_data_url(credentials: list[Credential]) -> str:
    """The one-time list as a `data:` URL: it exists only inside the response that shows it."""
    return f"data:{XLSX_MEDIA_TYPE};base64," + base64.b64encode(credentials_workbook(credentials)).decode("ascii")


def _save(wb: Workbook) -> bytes:
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()

