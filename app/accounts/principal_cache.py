"""Who a session cookie or API token belongs to, remembered per web process for a few seconds.

Without it every request reads the session (or token), the user, the unit and the roles before doing
anything, on a thread of its own. With it a request that comes back within `auth_cache_seconds`
(default 5) resolves its caller on the event loop with no query: the remembered rows are detached
snapshots, and each request gets its own attached copies through `Session.merge(load=False)`, so no
two requests share an ORM object and lazy loads still work.

Staleness is bounded and local changes are immediate:
- A commit that wrote a user, a role, an org unit, an API token or a session (other than the idle
  timeout's touch) empties this process's cache: sign-out, revocation, deactivation, role and unit
  changes take effect at once here, and within `auth_cache_seconds` in the other processes.
- A lookup that raced such a commit does not store what it read (a generation counter).
- An entry is kept for a random time between three quarters of `auth_cache_seconds` and all of it, so
  that people who signed in together (a class at the kiosks at nine) do not all go the slow way in
  the same moment thirty seconds later: the bound above stays, the misses spread out.
- A hit is still checked against the clock: an expired or idle session, or one due for its idle-timeout
  touch, goes the slow way (which touches it and refreshes the entry).
"""

from __future__ import annotations

import random
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, UOWTransaction
from sqlmodel import Session

from app.accounts.models import ApiToken, AuthSession, OrgUnit, User, UserRole

MAX_ENTRIES = 20_000
WATCHED = (User, UserRole, OrgUnit, ApiToken, AuthSession)
WATCHED_TABLES = frozenset(m.__tablename__ for m in WATCHED)  # type: ignore[attr-defined]
KEEP = "principal_cache_keep"  # execution option: this write does not change who anyone is (the touch)
_DIRTY = "principal_cache_dirty"


@dataclass(frozen=True)
class Snapshot:
    """Detached rows: never attach these themselves (merge them into the request's session)."""

    user: User
    auth_session: AuthSession | None  # None for an API token
    not_after: datetime | None  # an API token's expiry
    expires: float  # time.monotonic() after which the entry is not used


class PrincipalCache:
    def __init__(self) -> None:
        self._entries: OrderedDict[tuple[Any, ...], Snapshot] = OrderedDict()
        self._lock = threading.Lock()
        self.generation = 0

    def get(self, key: tuple[Any, ...]) -> Snapshot | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry.expires <= time.monotonic():
            with self._lock:
                self._entries.pop(key, None)
            return None
        return entry

    def put(self, key: tuple[Any, ...], user: User, auth_session: AuthSession | None, not_after: datetime | None, *,
            ttl: float, generation: int) -> Snapshot:
        """Remember detached rows (unless off, or a change was committed since `generation` was read:
        what was read may be stale already). Returns the snapshot either way."""
        snapshot = Snapshot(user, auth_session, not_after, time.monotonic() + ttl * random.uniform(0.75, 1.0))  # noqa: S311
        if ttl <= 0:
            return snapshot
        with self._lock:
            if generation == self.generation:
                self._entries[key] = snapshot
                self._entries.move_to_end(key)
                while len(self._entries) > MAX_ENTRIES:
                    self._entries.popitem(last=False)
        return snapshot

    def drop(self, key: tuple[Any, ...]) -> None:
        with self._lock:
            self._entries.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self.generation += 1
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


CACHE = PrincipalCache()


# ---------------------------------------------------------------------------------------------
# Invalidation: any session of the process that commits a write to the watched tables.


@event.listens_for(Session, "after_flush")
def _after_flush(session: Session, flush_context: UOWTransaction) -> None:
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, WATCHED):
            session.info[_DIRTY] = True
            return


@event.listens_for(Session, "do_orm_execute")
def _on_execute(state: ORMExecuteState) -> None:
    if not (state.is_update or state.is_delete or state.is_insert):
        return
    if state.execution_options.get(KEEP):
        return
    table = getattr(state.statement, "table", None)
    if getattr(table, "name", None) in WATCHED_TABLES:
        state.session.info[_DIRTY] = True


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    if session.info.pop(_DIRTY, False):
        CACHE.clear()


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    # A rolled-back write changed nothing; but clearing is always safe, and a savepoint rollback may
    # leave an outer transaction that still commits the rest.
    if session.info.get(_DIRTY):
        CACHE.clear()
