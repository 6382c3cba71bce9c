"""Enrolment rules follow people: a user created (service, API, Excel import in the request and by the
job), reactivated, or moved to another tier, unit or role is enrolled by the rules that now select
them, in the same transaction (accounts publishes UserCreated/UserChanged, courses.subscribers reacts)."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime

import pytest
from sqlmodel import select

from app.accounts import importer
from app.accounts import service as accounts
from app.accounts.models import Role, Tier
from app.accounts.schemas import UserCreate, UserUpdate
from app.core.errors import ValidationFailed
from app.core.jobs import Job
from app.courses import learning
from app.courses import subscribers as _subscribers  # noqa: F401  (registers the handlers, as app.main does)
from app.courses.models import Enrolment
from app.courses.schemas import RuleIn
from tests.accounts.test_import import FakeContext, workbook
from tests.factories import make_user
from tests.helpers import api_token

T0 = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)


def courses_of(session, user_id: int) -> set[int]:  # type: ignore[no-untyped-def]
    session.expire_all()
    return set(session.exec(select(Enrolment.course_id).where(Enrolment.user_id == user_id)).all())


@pytest.fixture
def rules(session, org, admin, build_course):  # type: ignore[no-untyped-def]
    """Course A: execution tier of district A; course B: anybody in district B; a draft with a rule enrols nobody."""
    a, b, draft = build_course("天宁区执行层课程"), build_course("钟楼区课程"), build_course("草稿", publish=False)
    learning.add_rule(session, admin, a.course, RuleIn(tier=Tier.execution, org_unit_id=org["district_a"].id, due_days=30))
    learning.add_rule(session, admin, b.course, RuleIn(org_unit_id=org["district_b"].id))
    learning.add_rule(session, admin, draft.course, RuleIn(tier=Tier.execution))
    session.commit()
    return {"a": a.id, "b": b.id, "draft": draft.id}


def new_user(session, admin, unit, username: str, tier: Tier = Tier.execution, roles=None):  # type: ignore[no-untyped-def]
    return accounts.create_user(session, admin, UserCreate(username=username, display_name=username, org_unit_id=unit.id,
                                                           tier=tier, roles=roles or [Role.trainee]), now=T0)


def test_created_user_is_enrolled_by_matching_rules(session, org, admin, rules) -> None:
    user = new_user(session, admin, org["unit_a1"], "newcomer")
    assert courses_of(session, user.id) == {rules["a"]}
    enrolment = session.exec(select(Enrolment).where(Enrolment.user_id == user.id)).one()
    assert enrolment.source == "rule" and enrolment.enrolled_at == T0 and str(enrolment.due_on) == "2026-07-01"
    manager = new_user(session, admin, org["unit_a1"], "manager", tier=Tier.management)
    assert courses_of(session, manager.id) == set()  # rule A names the execution tier
    teacher = new_user(session, admin, org["unit_b1"], "teacher", roles=[Role.instructor])
    assert courses_of(session, teacher.id) == set()  # rules enrol trainees only


def test_failed_creation_leaves_no_enrolment(session, org, admin, rules) -> None:
    new_user(session, admin, org["unit_a1"], "twice")
    before = len(session.exec(select(Enrolment)).all())
    with pytest.raises(Exception):  # noqa: B017 (Conflict: the username is taken)
        new_user(session, admin, org["unit_b1"], "twice")
    assert len(session.exec(select(Enrolment)).all()) == before


def test_moving_to_another_unit_enrols_in_that_units_courses_and_keeps_the_old(session, org, admin, rules) -> None:
    user = new_user(session, admin, org["unit_b1"], "mover")
    assert courses_of(session, user.id) == {rules["b"]}
    accounts.update_user(session, admin, user, UserUpdate(org_unit_id=org["unit_a1"].id), now=T0)
    assert courses_of(session, user.id) == {rules["a"], rules["b"]}  # enrolments (and progress) are kept


def test_tier_and_role_changes_enrol(session, org, admin, rules) -> None:
    manager = new_user(session, admin, org["unit_a1"], "promoted", tier=Tier.management)
    accounts.update_user(session, admin, manager, UserUpdate(tier=Tier.execution), now=T0)
    assert courses_of(session, manager.id) == {rules["a"]}
    teacher = new_user(session, admin, org["unit_b1"], "learner", roles=[Role.instructor])
    accounts.update_user(session, admin, teacher, UserUpdate(roles=[Role.instructor, Role.trainee]), now=T0)
    assert courses_of(session, teacher.id) == {rules["b"]}


def test_reactivated_user_is_enrolled_inactive_users_are_not(session, org, admin, rules) -> None:
    sleeper = make_user(session, Role.trainee, unit=org["unit_b1"], is_active=False)
    learning.apply_rules(session, now=T0)
    assert courses_of(session, sleeper.id) == set()
    accounts.update_user(session, admin, sleeper, UserUpdate(tier=Tier.management), now=T0)  # still inactive
    assert courses_of(session, sleeper.id) == set()
    accounts.set_active(session, admin, sleeper, True, now=T0)
    assert courses_of(session, sleeper.id) == {rules["b"]}


def test_user_created_through_the_api_is_enrolled(client, session, org, admin, rules) -> None:
    headers = api_token(client, "admin1")
    response = client.post("/api/v1/users", headers=headers, json={
        "username": "apiuser", "display_name": "接口用户", "org_unit_id": org["unit_b1"].id, "tier": "execution"})
    assert response.status_code == 201, response.text
    assert courses_of(session, int(response.json()["id"])) == {rules["b"]}


def test_thirty_users_imported_by_the_job_are_all_enrolled(session, org, admin, rules, monkeypatch) -> None:
    monkeypatch.setattr(importer, "hash_password", lambda password: "not-a-real-hash")  # Argon2 × 30 is slow
    rows: list[list[object]] = [[f"imp{i:02d}", f"导入{i}", org["unit_a1" if i % 2 else "unit_b1"].code, "执行层"] for i in range(30)]
    validated = importer.validate_rows(session, admin, importer.read_workbook(workbook(rows)))
    job, _credentials = importer.enqueue_import(session, admin, validated)
    session.commit()
    result = importer.import_users_job(session, dict(session.get(Job, job.id).payload), FakeContext(job.id or 0))
    assert result["ok"] and result["created"] == 30
    for i in range(30):
        user = accounts.get_user_by_username(session, f"imp{i:02d}")
        assert user is not None
        assert courses_of(session, user.id) == ({rules["a"]} if i % 2 else {rules["b"]})


def test_an_import_refused_midway_enrols_nobody(session, org, admin, rules, monkeypatch) -> None:
    monkeypatch.setattr(importer, "hash_password", lambda password: "not-a-real-hash")
    validated = importer.validate_rows(session, admin, importer.read_workbook(workbook(
        [["okrow", "好", org["unit_b1"].code], ["clash", "撞", org["unit_b1"].code]])))
    make_user(session, unit=org["unit_a1"], username="clash")  # taken after validation
    before = len(session.exec(select(Enrolment)).all())
    with pytest.raises(ValidationFailed):
        importer.import_now(session, admin, validated)
    assert accounts.get_user_by_username(session, "okrow") is None
    assert len(session.exec(select(Enrolment)).all()) == before


def test_the_worker_registers_the_courses_subscribers() -> None:
    """`shixun worker` imports app.courses.subscribers, or imported users would never be enrolled there."""
    code = """
import app.worker.runner as runner
from app.accounts.events import UserChanged, UserCreated
from app.core import events
class FakeWorker:
    def __init__(self, *args, **kwargs): pass
    def run(self, once=False):
        return 0 if events.handlers_for(UserCreated) and events.handlers_for(UserChanged) else 7
runner.Worker = FakeWorker
runner.get_database = lambda: type("FakeDb", (), {"dialect": "sqlite"})()
raise SystemExit(runner.run_worker(once=True))
"""
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=120).returncode == 0
