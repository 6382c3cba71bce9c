"""Test fixtures. The schema comes from the migrations; each test runs in a transaction rolled back
at its end. The whole suite runs on SQLite, and on PostgreSQL when SHIXUN_TEST_BACKEND=postgres and
SHIXUN_TEST_DATABASE_URL point at a server (a throwaway database is created and dropped)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

_TMP = Path(tempfile.mkdtemp(prefix="shixun-test-"))
os.environ["SHIXUN_ENV"] = "test"
os.environ["SHIXUN_DATA_DIR"] = str(_TMP)
os.environ["SHIXUN_DEMO_MODE"] = "false"
os.environ.pop("SHIXUN_DATABASE_URL", None)

import pytest  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402
from sqlmodel import Session  # noqa: E402

from app.core.config import get_settings  # noqa: E402
from app.core.db import Database, create_db_engine, set_database, throwaway_database  # noqa: E402

BACKEND = os.environ.get("SHIXUN_TEST_BACKEND", "sqlite")


def _postgres_url() -> str:
    url = os.environ.get("SHIXUN_TEST_DATABASE_URL", "")
    if not url:
        raise pytest.UsageError("SHIXUN_TEST_BACKEND=postgres needs SHIXUN_TEST_DATABASE_URL")
    return url


@contextmanager
def throwaway_postgres(prefix: str) -> Iterator[str]:
    """A new PostgreSQL database on the server of SHIXUN_TEST_DATABASE_URL, dropped afterwards."""
    with throwaway_database(_postgres_url(), prefix) as url:
        yield url


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    if BACKEND != "postgres":
        yield f"sqlite:///{_TMP / 'test.db'}"
        return
    with throwaway_postgres("shixun_test") as url:
        yield url


def run_migrations(engine: sa.Engine, revision: str = "head", *, down: bool = False) -> None:
    from alembic import command

    from app.ops.service import alembic_config

    config = alembic_config()
    config.attributes["configure_logging"] = False
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        (command.downgrade if down else command.upgrade)(config, revision)


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[sa.Engine]:
    os.environ["SHIXUN_DATABASE_URL"] = database_url
    get_settings.cache_clear()
    eng = create_db_engine(database_url)
    run_migrations(eng)
    set_database(Database(eng))
    yield eng
    set_database(None)
    eng.dispose()


@pytest.fixture
def database(engine: sa.Engine) -> Iterator[Database]:
    """A Database whose sessions all live inside one outer transaction, rolled back after the test."""
    connection = engine.connect()
    outer = connection.begin()
    db = Database(connection, join_transaction_mode="create_savepoint")
    try:
        yield db
    finally:
        outer.rollback()
        connection.close()


@pytest.fixture
def session(database: Database) -> Iterator[Session]:
    s = database.new_session(write=True)
    try:
        yield s
    finally:
        s.close()


@pytest.fixture
def committed_database(engine: sa.Engine) -> Iterator[Database]:
    """Real commits on the shared engine (several sessions, threads or processes); tables emptied after."""
    db = Database(engine)
    yield db
    from app.all_models import metadata

    with engine.begin() as conn:
        for table in reversed(metadata.sorted_tables):
            conn.execute(table.delete())
    from app.accounts.principal_cache import CACHE
    from app.core.cache import clear_all

    clear_all()  # row ids are reused once the tables are empty
    CACHE.clear()


@pytest.fixture
def app(database: Database):  # type: ignore[no-untyped-def]
    from app.main import create_app

    return create_app(get_settings(), database=database)


@pytest.fixture
def declared(database: Database) -> Iterator[TestClient]:
    """A client of the app built without lean routes (core/lean): the reference lean routes are compared with."""
    from app.main import create_app

    with TestClient(create_app(get_settings(), database=database, lean_routes=False), base_url="http://testserver",
                    follow_redirects=False) as c:
        yield c


@pytest.fixture
def client(app) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    with TestClient(app, base_url="http://testserver", follow_redirects=False) as c:
        yield c


from tests.helpers import *  # noqa: E402,F401,F403
