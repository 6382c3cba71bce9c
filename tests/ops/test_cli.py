"""The `shixun` command as an operator meets it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from app import PROJECT_ROOT


def _env(tmp_path) -> dict[str, str]:  # type: ignore[no-untyped-def]
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHIXUN_")}
    env.update(SHIXUN_DATA_DIR=str(tmp_path), SHIXUN_ENV="development", SHIXUN_LOG_LEVEL="WARNING",
               SHIXUN_DATABASE_URL=f"sqlite:///{tmp_path / 'cli.db'}")
    return env


def _run(env: dict[str, str], *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "app.cli", *args], cwd=PROJECT_ROOT, env=env, input=stdin,
                          capture_output=True, text=True, timeout=120, check=False)


def test_migrate_seed_twice_and_create_admin(tmp_path) -> None:  # type: ignore[no-untyped-def]
    env = _env(tmp_path)
    assert _run(env, "migrate").returncode == 0
    first = _run(env, "seed-demo")
    assert first.returncode == 0 and "users_created=71" in first.stdout
    second = _run(env, "seed-demo")
    assert second.returncode == 0 and "users_created=0" in second.stdout  # idempotent
    created = _run(env, "create-admin", "--username", "ops_admin", "--password-stdin", stdin="Str0ng-passw0rd\n")
    assert created.returncode == 0, created.stderr
    again = _run(env, "create-admin", "--username", "ops_admin", "--password-stdin", stdin="Str0ng-passw0rd\n")
    assert again.returncode == 1 and "ops_admin" in again.stderr
    weak = _run(env, "create-admin", "--username", "weak_admin", "--password-stdin", stdin="short\n")
    assert weak.returncode == 1


def test_production_refuses_to_start_with_the_default_secret(tmp_path) -> None:  # type: ignore[no-untyped-def]
    env = _env(tmp_path) | {"SHIXUN_ENV": "production"}
    result = _run(env, "migrate")
    assert result.returncode == 2 and "SHIXUN_SECRET_KEY" in result.stderr


def test_seed_demo_is_refused_in_production(tmp_path) -> None:  # type: ignore[no-untyped-def]
    env = _env(tmp_path) | {"SHIXUN_ENV": "production", "SHIXUN_SECRET_KEY": "p" * 48}
    assert _run(env, "seed-demo").returncode == 2


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="parent-death signal is Linux's")
def test_serve_takes_its_embedded_worker_down_with_it(tmp_path) -> None:  # type: ignore[no-untyped-def]
    env = _env(tmp_path)
    assert _run(env, "migrate").returncode == 0
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "app.cli", "serve", "--port", str(port)], cwd=PROJECT_ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        ready = None
        for _ in range(150):
            try:
                ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2)
                if ready.status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        assert ready is not None and ready.status_code == 200, ready.text if ready else "no answer"
        workers = subprocess.run(["pgrep", "-P", str(server.pid)], capture_output=True, text=True, check=False).stdout.split()
        assert workers, "no embedded worker"
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
        for _ in range(100):
            alive = [pid for pid in workers if os.path.exists(f"/proc/{pid}") and "zombie" not in
                     Path(f"/proc/{pid}/status").read_text().lower()]
            if not alive:
                break
            time.sleep(0.2)
        assert not alive, f"worker(s) {alive} outlived the server"
    finally:
        if server.poll() is None:
            server.kill()


def test_access_rules_prints_every_policy() -> None:
    import contextlib
    import io

    from app.cli import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["access-rules"]) == 0
    text = out.getvalue()
    assert "## exam paper (exams_paper)" in text and "## attempt (exams_attempt)" in text
    assert "district_admin: rows whose owner_id's unit lies in their org-unit subtree" in text
