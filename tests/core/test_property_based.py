"""Property-based run over /openapi.json (schemathesis): for every operation and every role, generated
requests never get a 5xx answer.

The demo data is loaded into the test's transaction (rolled back afterwards), then one account per role
(and the anonymous caller) sends requests that schemathesis generates from each operation's schema,
valid ones and invalid ones alike: API routes with the role's bearer token, pages with its session
cookie and CSRF token. Each generated request goes out as one of the callers, a caller the route admits
drawn four times as often as one it refuses (a refusal comes before the body is read, so a few show it).
Hypothesis runs derandomized, so CI sends the same requests every time (about 5,400, two to three
minutes per database); set SHIXUN_FUZZ_EXAMPLES (requests per operation, 30) and SHIXUN_FUZZ_SEED to
explore further.

Routes that end the caller's own session or credentials are left out (they would only turn the rest of
the run into sign-in redirects): signing out, changing one's password, revoking one's other sessions.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, Verbosity, given, settings
from hypothesis import strategies as st
from sqlmodel import Session, select

from app.accounts.access import AccessRule
from app.accounts.models import OrgUnit, Role, Tier
from app.core.jobs import WorkerHeartbeat
from app.core.models import utcnow
from app.core.routing import api_routes
from app.core.security import SESSION_COOKIE, csrf_token_for
from tests.factories import PASSWORD, make_unit, make_user
from tests.helpers import api_token, login

ROLES: tuple[str | None, ...] = (None, "trainee", "examiner", "coordinator", "instructor", "district_admin", "admin")
EXAMPLES = int(os.environ.get("SHIXUN_FUZZ_EXAMPLES", "30"))  # per operation, over all callers
ADMITTED_WEIGHT = 4  # a caller the route admits is drawn this many times as often as one it refuses
SEED = os.environ.get("SHIXUN_FUZZ_SEED")
SKIPPED = {("POST", "/logout"), ("POST", "/account/password"), ("POST", "/account/sessions/revoke-others")}


@dataclass
class Caller:
    role: str | None
    bearer: dict[str, str] = field(default_factory=dict)
    cookies: dict[str, str] = field(default_factory=dict)
    csrf: dict[str, str] = field(default_factory=dict)

    def credentials(self, path: str) -> tuple[dict[str, str], dict[str, str]]:
        if self.role is None:
            return {}, {}
        if path.startswith("/api/"):
            return dict(self.bearer), {}
        return dict(self.csrf), dict(self.cookies)


class ErrorLog(logging.Handler):
    """The unhandled errors the app logs (core/errors.handle_unexpected), to show with each 5xx."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def error_log() -> Iterator[ErrorLog]:
    handler = ErrorLog()
    logger = logging.getLogger("shixun.errors")
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)


def _seed(session: Session) -> None:
    from app.accounts import demo as accounts_demo
    from app.courses import demo as courses_demo
    from app.exams import demo as exams_demo
    from app.exams import exam_demo
    from app.standards import demo as standards_demo

    accounts_demo.seed(session)
    standards_demo.seed(session)
    courses_demo.seed(session, media=False)
    exams_demo.seed(session)
    exam_demo.seed(session)
    session.add(WorkerHeartbeat(id="fuzz:1", hostname="fuzz", pid=1, last_seen_at=utcnow()))  # /readyz: ready
    session.commit()


def _callers(client: TestClient, session: Session) -> list[Caller]:
    """One account per role, made after the demo data: the generated ids (small numbers) point at demo rows,
    so a generated write (deactivate user 3, change its roles) does not lock the callers themselves out."""
    district = session.exec(select(OrgUnit).where(OrgUnit.code == "zl")).one()
    home = make_unit(session, "模糊测试单位")
    users = {role: make_user(session, role, unit=district if role == Role.district_admin.value else home,
                             username=f"fuzz_{role}", tier=Tier.management)
             for role in ROLES if role is not None}
    session.commit()
    callers = []
    for role in ROLES:
        if role is None:
            callers.append(Caller(None))
            continue
        client.cookies.clear()
        bearer = api_token(client, users[role].username, PASSWORD)
        login(client, users[role].username, PASSWORD)
        cookie = client.cookies.get(SESSION_COOKIE)
        assert cookie
        callers.append(Caller(role, bearer, {SESSION_COOKIE: cookie}, {"X-CSRF-Token": csrf_token_for(cookie)}))
    client.cookies.clear()
    return callers


def _rules(app: Any) -> dict[tuple[str, str], AccessRule]:
    rules = {}
    for info in api_routes(app):
        rule = next((d.call for d in info.route.dependant.dependencies if isinstance(d.call, AccessRule)), None)
        for method in info.methods:
            if rule is not None:
                rules[(method, info.path)] = rule
    return rules


def _admits(rule: AccessRule | None, role: str | None) -> bool:
    if rule is None:
        return True
    if role is None:
        return rule.kind == "public"
    return rule.permits_roles({role})


def _cases(operation: Any) -> Any:
    """Valid requests (by the schema) and, as often, invalid ones: out-of-range numbers, control characters,
    wrong types, missing fields. The valid ones reach the services; the invalid ones test the edges."""
    from schemathesis.generation import GenerationMode

    positive = operation.as_strategy()
    try:
        negative = operation.as_strategy(GenerationMode.NEGATIVE)
    except Exception:  # an operation without any input cannot be sent invalid
        return positive
    return st.one_of(positive, negative)


def _run(operation: Any, callers: list[Caller], examples: int, found: list[str], error_log: ErrorLog) -> int:
    """`examples` generated requests to one operation, each sent by one of `callers` (drawn with the case)."""
    sent = 0

    @settings(max_examples=examples, derandomize=SEED is None, database=None, deadline=None, phases=[Phase.explicit, Phase.generate],
              suppress_health_check=list(HealthCheck), verbosity=Verbosity.quiet)
    @given(caller=st.sampled_from(callers), case=_cases(operation))
    def send(caller: Caller, case: Any) -> None:
        nonlocal sent
        sent += 1
        headers, cookies = caller.credentials(operation.path)
        before = len(error_log.records)
        try:
            status = case.call(headers=headers, cookies=cookies).status_code
        except Exception as exc:  # the app answered 500 and re-raised (Starlette's ServerErrorMiddleware)
            status, raised = 500, exc
        else:
            raised = None
        if status >= 500:
            logged = error_log.records[before:]
            exc = raised or (logged[-1].exc_info[1] if logged and logged[-1].exc_info else None)
            cause = f" <- {type(exc).__name__}: {str(exc).splitlines()[0][:300] if str(exc) else ''}" if exc else ""
            found.append(f"{status} {case.method} {case.formatted_path} as {caller.role or 'anonymous'}: "
                         f"query={case.query!r} body={str(case.body)[:300]!r}{cause}")

    if SEED is not None:
        from hypothesis import seed

        send = seed(int(SEED))(send)
    send()
    return sent


def test_no_generated_request_gets_a_server_error(client: TestClient, app: Any, session: Session, error_log: ErrorLog) -> None:
    started = time.monotonic()
    _seed(session)
    callers = _callers(client, session)
    rules = _rules(app)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 100
    found: list[str] = []
    sent = 0
    for operation in operations:
        key = (operation.method.upper(), operation.path)
        if key in SKIPPED:
            continue
        # The callers the route admits weigh ADMITTED_WEIGHT times as much as the ones it refuses.
        weighted = [c for c in callers for _ in range(ADMITTED_WEIGHT if _admits(rules.get(key), c.role) else 1)]
        sent += _run(operation, weighted, EXAMPLES, found, error_log)
    elapsed = time.monotonic() - started
    print(f"\nproperty-based run: {len(operations)} operations, {len(callers)} callers, {sent} requests in {elapsed:.0f} s")
    assert not found, f"{len(found)} requests answered 5xx:\n" + "\n".join(found)
