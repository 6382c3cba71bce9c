"""Every periodic job the worker enqueues has a handler once app.all_jobs is imported (a typo or a missing
import line would leave its rows queued forever)."""

from __future__ import annotations

import app.all_jobs  # noqa: F401
from app.core.jobs import get_handler
from app.worker.housekeeping import PERIODIC_JOBS


def test_every_periodic_job_has_a_handler() -> None:
    missing = [kind for kind, _every in PERIODIC_JOBS if get_handler(kind) is None]
    assert not missing
