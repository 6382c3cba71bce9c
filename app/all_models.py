"""Imports every domain's models so that SQLModel.metadata is complete (Alembic, tests, worker)."""

from app.accounts import models as accounts_models  # noqa: F401
from app.core import jobs as core_jobs  # noqa: F401
from app.core.models import SQLModel
from app.courses import models as courses_models  # noqa: F401
from app.exams import models as exams_models  # noqa: F401
from app.media import models as media_models  # noqa: F401
from app.standards import models as standards_models  # noqa: F401

metadata = SQLModel.metadata
