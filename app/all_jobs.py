"""Imports every module that registers job handlers, so a worker knows all job kinds."""

from app.accounts import importer as accounts_importer  # noqa: F401
from app.accounts import jobs as accounts_jobs  # noqa: F401
from app.exams import bank_jobs as exams_bank_jobs  # noqa: F401
from app.exams import exam_jobs as exams_exam_jobs  # noqa: F401
from app.exams import schedule_jobs as exams_schedule_jobs  # noqa: F401
from app.media import housekeeping as media_housekeeping  # noqa: F401
from app.media import jobs as media_jobs  # noqa: F401
