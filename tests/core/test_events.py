"""The in-process event registry: handlers run at once, in order, in the publisher's transaction."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlmodel import select

from app.accounts.models import AuditLog
from app.core import events


@dataclass(frozen=True)
class Happened(events.Event):
    what: str


@dataclass(frozen=True)
class HappenedLoudly(Happened):
    pass


def test_handlers_run_in_subscription_order_base_class_handlers_too(session) -> None:  # type: ignore[no-untyped-def]
    calls: list[str] = []
    with events.isolated():
        events.subscribe(events.Event, lambda s, e: calls.append(f"any:{e.what}"))
        events.subscribe(Happened, lambda s, e: calls.append(f"happened:{e.what}"))

        @events.subscriber(HappenedLoudly)
        def loud(s, e) -> None:  # type: ignore[no-untyped-def]
            assert s is session
            calls.append(f"loud:{e.what}")

        events.subscribe(HappenedLoudly, loud)  # subscribing twice does not double it
        events.publish(session, Happened("a"))
        events.publish(session, HappenedLoudly("b"))
    assert calls == ["any:a", "happened:a", "any:b", "happened:b", "loud:b"]


def test_isolated_registry_is_restored_and_unsubscribe_works(session) -> None:  # type: ignore[no-untyped-def]
    calls: list[str] = []

    def handler(s, e) -> None:  # type: ignore[no-untyped-def]
        calls.append(e.what)

    events.subscribe(Happened, handler)
    try:
        with events.isolated():
            events.publish(session, Happened("hidden"))
        events.publish(session, Happened("seen"))
    finally:
        events.unsubscribe(Happened, handler)
    events.publish(session, Happened("gone"))
    assert calls == ["seen"]


def test_a_failing_handler_rolls_back_with_the_publisher(database) -> None:  # type: ignore[no-untyped-def]
    def write(s, e) -> None:  # type: ignore[no-untyped-def]
        s.add(AuditLog(action="test.event", details={"what": e.what}))
        s.flush()

    def fail(s, e) -> None:  # type: ignore[no-untyped-def]
        raise RuntimeError("handler failed")

    with events.isolated():
        events.subscribe(Happened, write)
        events.subscribe(Happened, fail)
        with pytest.raises(RuntimeError), database.transaction() as s:
            events.publish(s, Happened("x"))
    with database.transaction() as s:
        assert s.exec(select(AuditLog).where(AuditLog.action == "test.event")).all() == []
