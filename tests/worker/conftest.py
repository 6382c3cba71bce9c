"""Worker fixtures: a hand-driven clock and a worker bound to the committed database."""

from __future__ import annotations

import pytest

from app.core.db import Database
from app.core.models import utcnow
from app.worker.runner import Worker
from tests.worker.support import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(utcnow().replace(microsecond=0))


@pytest.fixture
def worker(committed_database: Database, clock: FakeClock) -> Worker:
    return Worker(committed_database, worker_id="testhost:1", clock=clock, lease_seconds=60, poll_seconds=0.01,
                  rand=lambda: 0.0)

