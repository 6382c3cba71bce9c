"""Events the courses domain publishes (app.core.events). Exams, certificates and talent subscribe."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from app.core.events import Event


@dataclass(frozen=True)
class CourseCompleted(Event):
    """Published once per enrolment, in the transaction that awarded the hours."""

    user_id: int
    course_id: int
    enrolment_id: int
    version_id: int
    hours: Decimal
    year: int
    at: datetime
