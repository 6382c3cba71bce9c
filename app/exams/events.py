"""Events the exams domain publishes (app.core.events). Certificates and the talent pool subscribe.

Published inside the transaction that decided the result: when an attempt is finished and fully graded
(at submit, at the deadline, by the sweep, or when the last short answer is graded by hand), and again
when a regrade turns a pass into a fail or back. Practice attempts publish nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from app.core.events import Event


@dataclass(frozen=True)
class ExamResult(Event):
    user_id: int
    exam_id: int
    attempt_id: int
    exam_kind: str
    score: Decimal
    max_score: Decimal
    percent: Decimal
    at: datetime
    regraded: bool = False


@dataclass(frozen=True)
class ExamPassed(ExamResult):
    """The attempt reached the exam's pass mark."""


@dataclass(frozen=True)
class ExamFailed(ExamResult):
    """The attempt did not reach the pass mark."""


@dataclass(frozen=True)
class AttemptRegraded(Event):
    """A corrected key changed an attempt's score (the trainee sees a notice on 我的考试)."""

    user_id: int
    exam_id: int
    attempt_id: int
    old_score: Decimal | None
    new_score: Decimal
    at: datetime
