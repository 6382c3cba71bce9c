"""In-process caches of immutable rows, one per database.

Only for data that never changes once written (a published course version's frozen snapshot): a
cached value can never be stale, so several processes need no invalidation between them. Entries are
kept per bind (the Engine in production, the test's Connection in tests) in a weak mapping, so two
databases never share values, and each cache is bounded (least recently used entries go first).
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeVar

from sqlmodel import Session

V = TypeVar("V")

_ALL: list[ImmutableCache[Any]] = []


class ImmutableCache(Generic[V]):
    def __init__(self, name: str, maxsize: int = 1024) -> None:
        self.name = name
        self.maxsize = maxsize
        self._per_bind: weakref.WeakKeyDictionary[Any, OrderedDict[Hashable, V]] = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()
        _ALL.append(self)

    def get(self, session: Session, key: Hashable, load: Callable[[], V]) -> V:
        bind = session.get_bind()
        with self._lock:
            entries = self._per_bind.get(bind)
            if entries is None:
                entries = self._per_bind[bind] = OrderedDict()
            if key in entries:
                entries.move_to_end(key)
                return entries[key]
        value = load()  # outside the lock: loading may query
        with self._lock:
            entries[key] = value
            while len(entries) > self.maxsize:
                entries.popitem(last=False)
        return value

    def peek(self, session: Session, key: Hashable) -> V | None:
        with self._lock:
            entries = self._per_bind.get(session.get_bind())
            return entries.get(key) if entries is not None else None

    def put(self, session: Session, key: Hashable, value: V) -> None:
        bind = session.get_bind()
        with self._lock:
            entries = self._per_bind.get(bind)
            if entries is None:
                entries = self._per_bind[bind] = OrderedDict()
            entries[key] = value
            while len(entries) > self.maxsize:
                entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._per_bind.clear()


def clear_all() -> None:
    """Forget every cached value (tests that reuse a database after emptying its tables)."""
    for cache in _ALL:
        cache.clear()
