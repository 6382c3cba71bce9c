"""Settings: every field documented in .env.example, and no default secret outside development."""

from __future__ import annotations

import re

import pytest
from pydantic import ValidationError

from app import PROJECT_ROOT
from app.core.config import DEFAULT_SECRET, Environment, Settings


def test_env_example_documents_every_setting() -> None:
    text = (PROJECT_ROOT / ".env.example").read_text(encoding="utf-8")
    documented = set(re.findall(r"^SHIXUN_([A-Z0-9_]+)=", text, flags=re.M))
    fields = {name.upper() for name in Settings.model_fields}
    assert documented == fields, f"missing: {fields - documented}, stale: {documented - fields}"


def test_production_refuses_the_default_secret() -> None:
    with pytest.raises(ValidationError, match="SHIXUN_SECRET_KEY"):
        Settings(env=Environment.production, secret_key=DEFAULT_SECRET)  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        Settings(env=Environment.production, secret_key="short")  # type: ignore[arg-type]


def test_production_refuses_demo_mode() -> None:
    with pytest.raises(ValidationError, match="DEMO_MODE"):
        Settings(env=Environment.production, secret_key="x" * 40, demo_mode=True)  # type: ignore[arg-type]


def test_production_with_a_real_secret_starts(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("SHIXUN_DATABASE_URL", raising=False)
    settings = Settings(env=Environment.production, secret_key="k" * 48, data_dir=tmp_path)  # type: ignore[arg-type]
    assert settings.secure_cookies is True
    assert settings.resolved_database_url == f"sqlite:///{tmp_path.resolve() / 'shixun.db'}"


def test_environment_variables_are_read(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("SHIXUN_PORT", "8123")
    monkeypatch.setenv("SHIXUN_DATABASE_URL", "postgresql://u@h/db")
    settings = Settings()
    assert settings.port == 8123 and not settings.is_sqlite
