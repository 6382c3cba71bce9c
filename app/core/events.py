"""A tiny synchronous, in-process publish/subscribe registry for domain events.

A lower domain tells higher ones that something happened without importing them (STYLE.md §1):

    @dataclass(frozen=True)
    class StandardVersionChanged(Event): ...          # defined by the publishing domain

    events.publish(session, StandardVersionChanged(...))  # in a service, after its own writes

    @events.subscriber(StandardVersionChanged)         # in the subscribing domain's service module
    def open_reviews(session: Session, event: StandardVersionChanged) -> None: ...

Rules:
- Events are frozen dataclasses deriving from `Event`; a handler for a base class also gets subclasses.
- `publish` calls every handler at once, in the order they subscribed, with the publisher's session:
  handlers run inside the same transaction. They `flush()`, never `commit()`; if a handler raises,
  the exception reaches the publisher and the whole request (or job) rolls back — the event and its
  consequences land together or not at all. There is no queue and no retry: heavy reactions should
  record a job (app.core.jobs) from their handler, in that same transaction.
- Handlers register when their module is imported. A subscribing domain's module must therefore be
  imported by the app (routers, app.all_models); the test suite imports the whole app.
- `isolated()` gives tests a temporary empty registry.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlmodel import Session


@dataclass(frozen=True)
class Event:
    """Base class of every domain event."""


E = TypeVar("E", bound=Event)
Handler = Callable[[Session, Any], None]

_registry: dict[type[Event], list[Handler]] = {}


def subscribe(event_type: type[E], handler: Callable[[Session, E], None]) -> None:
    handlers = _registry.setdefault(event_type, [])
    if handler not in handlers:  # re-importing a module must not double a handler
        handlers.append(handler)


def unsubscribe(event_type: type[Event], handler: Handler) -> None:
    handlers = _registry.get(event_type, [])
    if handler in handlers:
        handlers.remove(handler)


def subscriber(event_type: type[E]) -> Callable[[Callable[[Session, E], None]], Callable[[Session, E], None]]:
    """Decorator form of `subscribe`."""

    def register(handler: Callable[[Session, E], None]) -> Callable[[Session, E], None]:
        subscribe(event_type, handler)
        return handler

    return register


def handlers_for(event_type: type[Event]) -> list[Handler]:
    found: list[Handler] = []
    for klass in reversed(event_type.__mro__):  # base-class handlers first
        for handler in _registry.get(klass, []):  # type: ignore[call-overload]
            if handler not in found:
                found.append(handler)
    return found


def publish(session: Session, event: Event) -> None:
    """Run every handler of the event now, in the caller's session and transaction."""
    for handler in handlers_for(type(event)):
        handler(session, event)


@contextmanager
def isolated() -> Iterator[None]:
    """An empty registry for the duration (tests); the previous one comes back afterwards."""
    global _registry
    saved = _registry
    _registry = {}
    try:
        yield
    finally:
        _registry = saved
