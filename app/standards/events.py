"""Events the standards library publishes (app.core.events). Higher domains subscribe to them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from app.core.events import Event


@dataclass(frozen=True)
class StandardVersionChanged(Event):
    """A version changed lifecycle status: draft → in_force (published), in_force → under_revision,
    in_force/under_revision → superseded (a newer version was published) or → abolished."""

    standard_id: int
    version_id: int
    from_status: str
    to_status: str
    actor_id: int | None
    at: datetime
    note: str = ""
