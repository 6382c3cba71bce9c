"""Browser tests: headless Chromium (Debian's, through Playwright's sync API) against a live server.

The server is the real thing: `shixun migrate`, `seed-demo` and `serve --no-worker` in a subprocess
with its own temporary data directory and an environment built from scratch, so nothing that
tests/conftest.py sets for the in-process tests (SHIXUN_ENV=test, the test database) leaks in.

Every step of a journey is saved to test-artifacts/screenshots/<test>-<step>.png. Every page records
the URLs it requested, and a test fails when one of them left the live server (nothing from a CDN).
Without /usr/bin/chromium the tests are skipped, except under CI (the CI variable set), where a
missing browser is an error rather than a silent skip.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.cookiejar import CookieJar
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest

from app import PROJECT_ROOT

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = PROJECT_ROOT / "test-artifacts" / "screenshots"
DEMO_PASSWORD = "shixun-demo"
KIOSK_IDLE_MINUTES = 1

# Viewports: an office desktop, the base's portrait touch kiosk, and a phone.
DESKTOP: dict[str, Any] = {"viewport": {"width": 1366, "height": 900}}
KIOSK: dict[str, Any] = {"viewport": {"width": 1080, "height": 1920}, "has_touch": True, "is_mobile": False}
PHONE: dict[str, Any] = {"viewport": {"width": 390, "height": 844}, "has_touch": True, "is_mobile": True,
                         "device_scale_factor": 2}
VIEWPORTS = {"desktop": DESKTOP, "kiosk": KIOSK, "phone": PHONE}

_CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests that wait for the kiosk idle timeout go last, so the rest of the suite runs while the clock
    ticks (their sessions are started when the live server comes up)."""
    waiting = [item for item in items if "idle_sessions" in getattr(item, "fixturenames", ())]
    if waiting:
        items[:] = [item for item in items if item not in waiting] + waiting


# ---------------------------------------------------------------------------------------------
# The live server


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_env(data_dir: Path) -> dict[str, str]:
    """The server's environment from scratch: no SHIXUN_* of the test process, every setting we rely on explicit."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("SHIXUN_")}
    env.update({
        "SHIXUN_ENV": "development",
        "SHIXUN_DEMO_MEDIA": "false",  # no worker runs on the live server: demo media would stay "processing"
        "SHIXUN_DATA_DIR": str(data_dir),
        "SHIXUN_DATABASE_URL": f"sqlite:///{data_dir / 'shixun.db'}",
        "SHIXUN_DEMO_MODE": "true",
        "SHIXUN_LOG_LEVEL": "WARNING",
        "SHIXUN_LOG_FORMAT": "console",
        "SHIXUN_KIOSK_IDLE_MINUTES": str(KIOSK_IDLE_MINUTES),
        "SHIXUN_SESSION_IDLE_MINUTES": "30",
        "SHIXUN_LOGIN_MAX_FAILURES": "10",
        "SHIXUN_LOGIN_WINDOW_MINUTES": "15",
        "SHIXUN_LOGIN_LOCK_MINUTES": "15",
        "SHIXUN_TRUSTED_PROXIES": "127.0.0.1",
        "SHIXUN_COOKIE_SECURE": "false",
        "SHIXUN_WEB_PROCESSES": "1",
        "SHIXUN_EMBEDDED_WORKER": "false",
        "SHIXUN_DEFAULT_LOCALE": "zh_CN",
        "PYTHONUNBUFFERED": "1",
    })
    return env


def _run_cli(args: list[str], env: dict[str, str]) -> None:
    result = subprocess.run([sys.executable, "-m", "app.cli", *args], cwd=PROJECT_ROOT, env=env,
                            capture_output=True, text=True, timeout=120, check=False)
    if result.returncode != 0:
        pytest.fail(f"shixun {' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@dataclass
class LiveServer:
    url: str
    data_dir: Path
    process: subprocess.Popen[bytes]
    started_at: float = field(default_factory=time.monotonic)

    def __call__(self, path: str = "/") -> str:
        return self.url + path


@pytest.fixture(scope="session")
def live_server() -> Iterator[LiveServer]:
    data_dir = Path(tempfile.mkdtemp(prefix="shixun-browser-"))
    env = server_env(data_dir)
    _run_cli(["migrate"], env)
    _run_cli(["seed-demo"], env)
    port = _free_port()
    stderr_path = data_dir / "server.stderr"
    with stderr_path.open("wb") as stderr:
        process = subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", "app.cli", "serve", "--no-worker", "--host", "127.0.0.1", "--port", str(port)],
            cwd=PROJECT_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=stderr)
    server = LiveServer(url=f"http://127.0.0.1:{port}", data_dir=data_dir, process=process)
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                pytest.fail(f"the server exited with {process.returncode}:\n{stderr_path.read_text(errors='replace')}")
            try:
                with urllib.request.urlopen(server("/healthz"), timeout=2) as response:  # noqa: S310
                    if response.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"the server did not answer /healthz within 30 s:\n{stderr_path.read_text(errors='replace')}")
            time.sleep(0.1)
        yield server
    finally:
        _stop(process)
        log = stderr_path.read_text(errors="replace") if stderr_path.exists() else ""
        if "Traceback" in log:
            print(f"\n--- live server stderr ---\n{log}", file=sys.stderr)
        shutil.rmtree(data_dir, ignore_errors=True)


def http_sign_in(server: LiveServer, username: str, *, public_device: bool) -> str:
    """Sign in with plain HTTP (no browser) and return the session cookie."""
    jar = CookieJar()

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any, **kwargs: Any) -> None:
            return None

    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), NoRedirect())
    with opener.open(server("/login"), timeout=10) as response:
        match = _CSRF_FIELD.search(response.read().decode("utf-8"))
    assert match, "no CSRF token on /login"
    form = {"username": username, "password": DEMO_PASSWORD, "csrf_token": match.group(1), "next": "/"}
    if public_device:
        form["public_device"] = "true"
    try:
        opener.open(server("/login"), data=urlencode(form).encode(), timeout=10)
        pytest.fail("sign-in did not redirect")
    except urllib.error.HTTPError as exc:  # the 303 surfaces as an error once redirects are refused
        assert exc.code == 303, exc.read().decode("utf-8", "replace")[:500]
    cookies = {c.name: c.value for c in jar}
    assert "shixun_session" in cookies, cookies
    return str(cookies["shixun_session"])


@dataclass
class IdleSessions:
    """A kiosk and a personal session signed in as the live server came up, then left alone."""

    kiosk_cookie: str
    personal_cookie: str
    started_at: float


@pytest.fixture(scope="session")
def idle_sessions_started(live_server: LiveServer) -> IdleSessions:
    started = time.monotonic()
    return IdleSessions(kiosk_cookie=http_sign_in(live_server, "trainee5", public_device=True),
                        personal_cookie=http_sign_in(live_server, "trainee6", public_device=False),
                        started_at=started)


@pytest.fixture(autouse=True, scope="session")
def _start_idle_clock(request: pytest.FixtureRequest) -> None:
    """Start the idle sessions as early as possible when a test that needs them was collected."""
    if CHROMIUM.exists() and any("idle_sessions" in getattr(item, "fixturenames", ()) for item in request.session.items):
        request.getfixturevalue("idle_sessions_started")


@pytest.fixture
def idle_sessions(idle_sessions_started: IdleSessions) -> IdleSessions:
    return idle_sessions_started


# ---------------------------------------------------------------------------------------------
# The browser


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing: install Debian's chromium package to run the browser tests"
        if os.environ.get("CI"):
            pytest.fail(message + " (CI must not skip them)", pytrace=False)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@dataclass
class Visit:
    """A browser context with the pages opened in it and every URL they requested."""

    context: Any
    requested: list[str] = field(default_factory=list)
    # Console errors and uncaught exceptions: a CSP violation or a broken script shows up here.
    errors: list[str] = field(default_factory=list)

    def new_page(self) -> Any:
        page = self.context.new_page()
        page.on("request", lambda req: self.requested.append(req.url))
        page.on("console", lambda msg: self.errors.append(f"{page.url}: {msg.text}") if msg.type == "error" else None)
        page.on("pageerror", lambda exc: self.errors.append(f"{page.url}: {exc}"))
        return page

    def foreign_requests(self) -> list[str]:
        foreign = []
        for url in self.requested:
            parts = urlsplit(url)
            if parts.scheme in ("data", "blob", "about"):
                continue
            if parts.hostname != "127.0.0.1":
                foreign.append(url)
        return foreign


def _expected_console_error(message: str) -> bool:
    # Chromium logs every 4xx/5xx page load as a console error; the journeys provoke those on purpose.
    return "Failed to load resource: the server responded with a status of" in message


@pytest.fixture
def new_visit(browser: Any, live_server: LiveServer) -> Iterator[Callable[..., Visit]]:
    """Open a fresh browser context (no cookies) with a viewport: desktop, kiosk or phone."""
    visits: list[Visit] = []

    def make(viewport: str = "desktop", **options: Any) -> Visit:
        settings = {**VIEWPORTS[viewport], "locale": "zh-CN", "timezone_id": "Asia/Shanghai",
                    "base_url": live_server.url, **options}
        context = browser.new_context(**settings)
        context.set_default_timeout(10_000)
        visit = Visit(context=context)
        visits.append(visit)
        return visit

    yield make
    try:
        foreign = [url for visit in visits for url in visit.foreign_requests()]
        assert not foreign, f"requests left the live server: {foreign}"
        errors = [error for visit in visits for error in visit.errors if not _expected_console_error(error)]
        assert not errors, f"errors in the browser console: {errors}"
    finally:
        for visit in visits:
            visit.context.close()


@pytest.fixture
def page(new_visit: Callable[..., Visit]) -> Any:
    """A desktop page in a fresh context."""
    return new_visit("desktop").new_page()


@pytest.fixture
def shot(request: pytest.FixtureRequest) -> Callable[[Any, str], Path]:
    """shot(page, "step") saves test-artifacts/screenshots/<test>-<step>.png (the whole page)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    test_name = re.sub(r"[^A-Za-z0-9_.-]+", "-", request.node.name).strip("-")

    def take(target: Any, step: str) -> Path:
        path = SCREENSHOTS / f"{test_name}-{step}.png"
        target.screenshot(path=str(path), full_page=True)
        return path

    return take


def sign_in(page: Any, username: str, *, password: str = DEMO_PASSWORD, public_device: bool = False,
            shot: Callable[[Any, str], Path] | None = None, step: str = "login") -> Any:
    """Fill in and submit the login form like a person; returns the response to the form post."""
    page.goto("/login")
    page.fill("#username", username)
    page.fill("#password", password)
    if public_device:
        page.check("input[name=public_device]")
    if shot is not None:
        shot(page, step)
    with page.expect_response(lambda r: r.request.method == "POST" and urlsplit(r.url).path == "/login") as posted:
        page.click("form.stack button[type=submit]")
    page.wait_for_load_state("load")
    return posted.value


# ---------------------------------------------------------------------------------------------
# Helpers for journeys that set up their own data or need real touch input


@contextmanager
def live_session(server: LiveServer) -> Iterator[Any]:
    """A session on the live server's own database, committed at the end: a journey builds the exact
    data it needs (a user, a small course) with the app's services instead of depending on the demo's
    progress. The server reads it on its next request (SQLite in WAL mode, busy timeout on both sides)."""
    import sqlalchemy as sa

    from app.core.db import Database, create_db_engine

    engine = create_db_engine(f"sqlite:///{server.data_dir / 'shixun.db'}", poolclass=sa.pool.NullPool)
    try:
        with Database(engine).transaction() as session:
            yield session
    finally:
        engine.dispose()


def make_live_user(session: Any, username: str, display_name: str, *, unit_code: str = "czjg-hyfw",
                   roles: tuple[str, ...] = ("trainee",), tier: str = "execution") -> Any:
    """A user of the live server (password DEMO_PASSWORD) in a demo unit; no enrolment rule runs for them."""
    from app.accounts import service as accounts
    from app.accounts.models import User, UserRole
    from app.core.security import hash_password

    unit = accounts.get_org_unit_by_code(session, unit_code)
    assert unit is not None, f"no org unit {unit_code} in the demo"
    user = User(username=username, display_name=display_name, org_unit_id=unit.id or 0, tier=tier,
                password_hash=hash_password(DEMO_PASSWORD), must_change_password=False, is_active=True)
    user.role_links = [UserRole(role=role) for role in roles]
    session.add(user)
    session.flush()
    return user


def swipe(page: Any, target: Any, dx: int, *, steps: int = 6) -> None:
    """A one-finger horizontal swipe across `target` with real touch events (Chrome DevTools Protocol
    Input.dispatchTouchEvent), as a finger on the kiosk makes them: negative dx swipes to the left."""
    target.scroll_into_view_if_needed()
    box = target.bounding_box()
    assert box is not None, "the swipe target is not visible"
    x0, y = box["x"] + box["width"] / 2 - dx / 2, box["y"] + box["height"] / 2
    cdp = page.context.new_cdp_session(page)
    try:
        cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": x0, "y": y}]})
        for i in range(1, steps + 1):
            cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [{"x": x0 + dx * i / steps, "y": y}]})
        cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    finally:
        cdp.detach()


def accept_confirms(page: Any) -> None:
    """Accept every window.confirm() of the page (the data-confirm buttons of static/js/app.js)."""
    page.on("dialog", lambda dialog: dialog.accept())
