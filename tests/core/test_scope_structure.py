"""The access rules are structural: every row a caller names by id is loaded through its kind's policy
(app/accounts/scope.py), and nothing loads by primary key around it.

- No view or API module queries at all, and no module of app/ calls `session.get(…)`/`db.get(…)` except
  the few system loads listed here with their reason; a row reached through one already authorized goes
  through `scope.related(…)`, which says so.
- The policies' conditions are plain SQL that both databases run, for every role.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from app import all_models  # noqa: F401  (registers every domain's policies through its models' imports)
from app.accounts.models import Role
from app.accounts.scope import REGISTRY, Policy
from app.main import create_app  # noqa: F401  (imports every domain)
from tests.factories import make_user

APP = Path(__file__).resolve().parents[2] / "app"
BY_ID = re.compile(r"\b(?:session|db)\.get\(")

# file -> why a plain primary-key load is right there (no caller's rule applies)
SYSTEM_LOADS = {
    "accounts/scope.py": "related(): a row reached through one already authorized",
    "worker/housekeeping.py": "the worker's own heartbeat row",
    "courses/learning.py": "the version an enrolment is pinned to (with loader options) and the per-tier hours settings",
}


def test_no_load_by_id_bypasses_the_policies() -> None:
    offenders = []
    for path in sorted(APP.rglob("*.py")):
        relative = path.relative_to(APP).as_posix()
        if relative in SYSTEM_LOADS or path.name in ("demo.py", "demo_media.py", "exam_demo.py"):
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if BY_ID.search(line):
                offenders.append(f"app/{relative}:{number}: {line.strip()}")
    assert not offenders, "load rows a caller names through their policy (Policy.get/find) or scope.related:\n" + "\n".join(offenders)


def test_views_and_apis_do_not_query() -> None:
    offenders = []
    for path in sorted(APP.rglob("*.py")):
        if not re.search(r"(views|api)\.py$", path.name):
            continue
        text = path.read_text(encoding="utf-8")
        for number, line in enumerate(text.splitlines(), 1):
            if re.search(r"\b(?:db|session)\.(?:exec|execute|get|scalar|scalars)\(", line):
                offenders.append(f"{path.relative_to(APP.parent)}:{number}: {line.strip()}")
    assert not offenders, "views parse, call a service and render (STYLE):\n" + "\n".join(offenders)


def test_every_domain_declares_its_policies() -> None:
    names = set(REGISTRY)
    for expected in ("org unit", "user", "job", "standard", "standard version", "clause", "review item", "media asset",
                     "media upload", "curriculum", "course", "module", "lesson", "material", "enrolment", "enrolment rule",
                     "question bank", "question", "exam paper", "exam schedule", "exam", "attempt", "attempt answer",
                     "notebook entry"):
        assert expected in names, f"no policy named {expected!r}"


@pytest.mark.parametrize("role", list(Role))
def test_every_policy_condition_runs_for_every_role(session: Session, org, role: Role) -> None:  # type: ignore[no-untyped-def]
    """Each (policy, action) builds a condition the database accepts, for a caller of each role, in a list
    and in a load by id (FOR UPDATE included: PostgreSQL refuses some shapes there)."""
    actor = make_user(session, role, unit=org["unit_a1"])
    policy: Policy  # type: ignore[type-arg]
    for policy in REGISTRY.values():
        for action in policy.rules:
            session.exec(select(policy.id_column).where(policy.where(actor, action)).limit(1)).all()
            missing = "0" if isinstance(policy.id_column.type, sa.String) else 0
            assert policy.find(session, actor, missing, action, lock=True) is None
