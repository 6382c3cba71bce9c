"""The `shixun` command: serve, worker, migrate, seed-demo, create-admin, access-rules, check."""

from __future__ import annotations

import argparse
import getpass
import os
import signal
import subprocess
import sys
from collections.abc import Sequence

from app import PROJECT_ROOT


def _settings():  # type: ignore[no-untyped-def]
    from app.core.config import get_settings

    try:
        return get_settings()
    except Exception as exc:  # pydantic ValidationError: print it plainly, not as a traceback
        print(f"配置错误 / configuration error:\n{exc}", file=sys.stderr)
        raise SystemExit(2) from exc


def migrate(revision: str = "head") -> None:
    from alembic import command

    from app.ops.service import alembic_config

    settings = _settings()
    settings.ensure_dirs()
    config = alembic_config()
    config.attributes["configure_logging"] = False
    command.upgrade(config, revision)


def cmd_migrate(args: argparse.Namespace) -> int:
    migrate(args.revision)
    print("数据库已迁移到最新版本 / database migrated to", args.revision)
    return 0


def cmd_seed_demo(args: argparse.Namespace) -> int:
    settings = _settings()
    if settings.env == "production":
        print("生产环境不能加载演示数据 / refusing to load demo data in production", file=sys.stderr)
        return 2
    from app.accounts import demo as accounts_demo
    from app.core.db import get_database
    from app.courses import demo as courses_demo
    from app.exams import demo as exams_demo
    from app.exams import exam_demo
    from app.standards import demo as standards_demo

    with get_database().transaction() as session:
        stats = accounts_demo.seed(session)
        stats.update(standards_demo.seed(session))
        stats.update(courses_demo.seed(session))
        stats.update(exams_demo.seed(session))
        stats.update({k: v for k, v in exam_demo.seed(session).items() if k.startswith("exam")})
    print("演示数据已就绪 / demo data ready:", ", ".join(f"{k}={v}" for k, v in stats.items()))
    if not settings.demo_mode:
        print("提示：演示账号的密码只在 SHIXUN_DEMO_MODE=true 时可用 / demo passwords work only with SHIXUN_DEMO_MODE=true")
    return 0


def cmd_create_admin(args: argparse.Namespace) -> int:
    from app.accounts import service
    from app.accounts.models import Role, Tier
    from app.accounts.schemas import OrgUnitCreate, UserCreate
    from app.core.db import get_database
    from app.core.errors import DomainError

    password = sys.stdin.readline().rstrip("\n") if args.password_stdin else getpass.getpass("密码 / password: ")
    with get_database().transaction() as session:
        unit = service.get_org_unit_by_code(session, args.unit_code)
        if unit is None:
            unit = service.create_org_unit(session, None, OrgUnitCreate(code=args.unit_code, name=args.unit_name, kind="bureau"))
        try:
            user = service.create_user(session, None, UserCreate(
                username=args.username, display_name=args.name, org_unit_id=unit.id or 0, tier=Tier.management,
                roles=[Role.admin], password=password), must_change_password=False)
        except DomainError as exc:
            print(f"无法创建管理员 / cannot create admin: {exc.translated_detail()}", file=sys.stderr)
            return 1
        service.audit(session, "user.create", actor_name="cli", target_type="user", target_id=user.id,
                      details={"username": user.username, "roles": ["admin"]})
    print(f"管理员 {args.username} 已创建 / admin created")
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    from app.worker.runner import run_worker

    _settings()
    return run_worker(concurrency=args.concurrency, once=args.once)


def _die_with_parent() -> None:
    """Runs in the embedded worker before exec: the kernel sends it SIGTERM when `shixun serve` dies,
    however it dies (uvicorn re-raises SIGTERM after shutdown, so a finally block is not enough)."""
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    settings = _settings()
    settings.ensure_dirs()
    if settings.is_sqlite and settings.web_processes > (os.cpu_count() or 1):
        # Writers of all processes take turns on one database; beyond one process per core they only wait.
        print("提示：SQLite 下 Web 进程数不宜超过 CPU 核数 / with SQLite, run at most one web process per core",
              file=sys.stderr)
    worker: subprocess.Popen[bytes] | None = None
    if settings.embedded_worker and not args.no_worker:
        worker = subprocess.Popen([sys.executable, "-m", "app.cli", "worker"], cwd=str(PROJECT_ROOT),  # noqa: S603
                                  preexec_fn=_die_with_parent)  # noqa: PLW1509
    try:
        uvicorn.run(
            "app.main:create_served_app",
            factory=True,
            host=args.host or settings.host,
            port=args.port or settings.port,
            workers=settings.web_processes,
            proxy_headers=True,
            forwarded_allow_ips=settings.trusted_proxies,
            log_config=None,
        )
    finally:
        if worker is not None and worker.poll() is None:
            worker.send_signal(signal.SIGTERM)
            try:
                worker.wait(timeout=20)
            except subprocess.TimeoutExpired:
                worker.kill()
    return 0


def cmd_access_rules(args: argparse.Namespace) -> int:
    """Print who may do what with each kind of row, as the policies declare it (for audits and reviews)."""
    from app.accounts.scope import REGISTRY
    from app.main import create_app

    create_app()  # imports every domain, which registers its policies
    for name, policy in sorted(REGISTRY.items()):
        print(f"## {name} ({getattr(policy.model, '__tablename__', policy.model.__name__)})")
        for action, terms in policy.describe().items():
            print(f"- {action}: " + "; ".join(terms))
        print()
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from app.ops.checks import run_checks

    return run_checks()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="shixun", description="实训 Shixun — 标准化实训基地学习管理系统")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("serve", help="run the web server (and, by default, one job worker)")
    p.add_argument("--host")
    p.add_argument("--port", type=int)
    p.add_argument("--no-worker", action="store_true", help="do not start the embedded job worker")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("worker", help="run a job worker")
    p.add_argument("--concurrency", type=int, default=1)
    p.add_argument("--once", action="store_true", help="run the jobs that are due, then exit")
    p.set_defaults(func=cmd_worker)

    p = sub.add_parser("migrate", help="apply database migrations")
    p.add_argument("revision", nargs="?", default="head")
    p.set_defaults(func=cmd_migrate)

    p = sub.add_parser("seed-demo", help="load the demo data (idempotent)")
    p.set_defaults(func=cmd_seed_demo)

    p = sub.add_parser("create-admin", help="create an administrator account")
    p.add_argument("--username", required=True)
    p.add_argument("--name", default="系统管理员")
    p.add_argument("--unit-code", default="czjg")
    p.add_argument("--unit-name", default="市机关事务管理局")
    p.add_argument("--password-stdin", action="store_true")
    p.set_defaults(func=cmd_create_admin)

    p = sub.add_parser("access-rules", help="print who may read, change, use, take, grade and target each kind of row")
    p.set_defaults(func=cmd_access_rules)

    p = sub.add_parser("check", help="check configuration, database, ffmpeg, fonts and disk")
    p.set_defaults(func=cmd_check)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    raise SystemExit(main())

