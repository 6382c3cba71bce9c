"""Alembic environment for SQLite and PostgreSQL.

The URL comes from the app's settings unless the caller passes a connection (tests, `shixun migrate`)
through `config.attributes["connection"]`. SQLite gets batch mode, since it cannot ALTER most things.
"""

from __future__ import annotations

from logging.config import fileConfig
from typing import Any

from alembic import context

from app.all_models import metadata
from app.core.models import AwareDateTime
from app.standards.search import include_schema_name

config = context.config
if config.config_file_name is not None and config.attributes.get("configure_logging", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def render_item(type_: str, obj: Any, autogen_context: Any) -> str | bool:
    if type_ == "type" and isinstance(obj, AwareDateTime):
        autogen_context.imports.add("import app.core.models")
        return "app.core.models.AwareDateTime()"
    if type_ == "type" and obj.__class__.__module__.startswith("sqlmodel"):
        autogen_context.imports.add("import sqlmodel")
        return f"sqlmodel.sql.sqltypes.{obj!r}"
    return False


# Search indexes made by hand in the migrations that the metadata does not describe (SQLite's FTS5
# table and its shadow tables, PostgreSQL's GIN expression index): autogenerate and `alembic check` must
# not offer to drop them. tests/core/test_migrations.py compares with the same filter.
include_name = include_schema_name


def _configure(connection: Any) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        render_item=render_item,
        include_name=include_name,
        transaction_per_migration=True,
    )


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return

    from app.core.config import get_settings
    from app.core.db import create_db_engine

    settings = get_settings()
    settings.ensure_dirs()
    engine = create_db_engine(config.get_main_option("sqlalchemy.url") or settings.resolved_database_url)
    try:
        with engine.connect() as conn:
            _configure(conn)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; run `shixun migrate`")
run_migrations_online()
