"""Question exporters: Excel (the import template's layout), Moodle XML, and a QTI 2.1 content package.
Each takes QuestionDrafts (the bank builds them from stored questions) and returns the file's bytes;
each file re-imports to the same questions, up to what its format cannot hold (see each module)."""

from __future__ import annotations

from app.exams.exporters.moodle_xml import export_moodle_xml
from app.exams.exporters.qti import export_qti_zip
from app.exams.exporters.xlsx import export_xlsx

EXPORTERS = {"xlsx": export_xlsx, "moodle-xml": export_moodle_xml, "qti": export_qti_zip}
MEDIA_TYPES = {"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
               "moodle-xml": "application/xml", "qti": "application/zip"}
EXTENSIONS = {"xlsx": ".xlsx", "moodle-xml": ".xml", "qti": ".zip"}

__all__ = ["EXPORTERS", "EXTENSIONS", "MEDIA_TYPES", "export_moodle_xml", "export_qti_zip", "export_xlsx"]
