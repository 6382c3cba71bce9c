"""Migrations: upgrade → downgrade → upgrade on a fresh database, and no model change left without one."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from app.all_models import metadata
from app.core.db import create_db_engine
from app.ops.service import alembic_config, head_revisions
from app.standards.search import include_schema_name
from tests.conftest import _TMP, BACKEND, throwaway_postgres


@pytest.fixture
def scratch_engine() -> Iterator[sa.Engine]:
    if BACKEND != "postgres":
        engine = create_db_engine(f"sqlite:///{_TMP / f'scratch-{uuid.uuid4().hex[:8]}.db'}")
        yield engine
        engine.dispose()
        return
    with throwaway_postgres("shixun_mig") as url:
        engine = create_db_engine(url)
        yield engine
        engine.dispose()


def _run(engine: sa.Engine, fn, revision: str) -> None:  # type: ignore[no-untyped-def]
    config = alembic_config()
    config.attributes["configure_logging"] = False
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        fn(config, revision)


def _tables(engine: sa.Engine) -> set[str]:
    return {t for t in sa.inspect(engine).get_table_names() if include_schema_name(t, "table", {})} - {"alembic_version"}


def _pending(engine: sa.Engine) -> list:  # type: ignore[type-arg]
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True, "include_name": include_schema_name})
        return compare_metadata(ctx, metadata)


def test_upgrade_downgrade_upgrade_and_no_pending_changes(scratch_engine: sa.Engine) -> None:
    _run(scratch_engine, command.upgrade, "head")
    expected = {t.name for t in metadata.sorted_tables}
    assert _tables(scratch_engine) == expected
    assert _pending(scratch_engine) == []

    _run(scratch_engine, command.downgrade, "base")
    assert _tables(scratch_engine) == set()

    _run(scratch_engine, command.upgrade, "head")
    assert _tables(scratch_engine) == expected
    with scratch_engine.connect() as conn:
        assert {r[0] for r in conn.execute(sa.text("SELECT version_num FROM alembic_version"))} == head_revisions()
    assert _pending(scratch_engine) == []


def test_single_head_and_dated_names() -> None:
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config())
    assert len(script.get_heads()) == 1
    for rev in script.walk_revisions():
        filename = rev.path.rsplit("/", 1)[-1]
        assert filename[:4].isdigit() and filename[4] == "_", f"{filename}: name migrations YYYY_MM_DD_HHMM-rev_slug"
        assert rev.doc and rev.doc.strip(), f"{filename}: needs a message"
