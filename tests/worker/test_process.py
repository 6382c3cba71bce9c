"""`shixun worker` as a real process: it registers, works, and exits 0 on SIGTERM after deregistering."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

from sqlmodel import col, select

from app import PROJECT_ROOT
from app.core.db import Database
from app.core.jobs import Job, JobStatus
from tests.worker.support import wait_for, worker_rows


def test_worker_process_exits_cleanly_on_sigterm(committed_database: Database) -> None:
    env = {**os.environ, "SHIXUN_JOB_POLL_SECONDS": "0.1", "SHIXUN_LOG_LEVEL": "INFO"}
    assert env["SHIXUN_DATABASE_URL"]  # set by the engine fixture: the test database
    proc = subprocess.Popen([sys.executable, "-m", "app.cli", "worker"], cwd=str(PROJECT_ROOT), env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert wait_for(lambda: len(worker_rows(committed_database)) == 1), "the worker never registered"
        assert worker_rows(committed_database)[0].pid == proc.pid

        def housekeeping_ran() -> bool:
            with committed_database.transaction(write=False) as session:
                statuses = session.exec(select(Job.status).where(col(Job.kind) == "accounts.purge_expired")).all()
            return list(statuses) == [JobStatus.succeeded]

        assert wait_for(housekeeping_ran), "the periodic job was not enqueued and run"
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, stderr
    assert worker_rows(committed_database) == []
    assert "SIGTERM" in stderr and "stopped" in stderr
