"""`shixun check`: configuration, database, migrations, ffmpeg, fonts, disk, workers — one line each."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable

import sqlalchemy as sa

from app.core.config import DEFAULT_SECRET, get_settings

MIN_FREE_BYTES = 2 * 1024**3


def _config() -> tuple[bool, str]:
    settings = get_settings()
    weak = settings.secret_key.get_secret_value() == DEFAULT_SECRET
    note = "（开发默认密钥 / development secret）" if weak else ""
    return True, f"env={settings.env.value} demo_mode={settings.demo_mode} data_dir={settings.data_dir} {note}"


def _database() -> tuple[bool, str]:
    from app.core.db import get_database
    from app.ops.service import current_revisions, head_revisions

    database = get_database()
    with database.transaction(write=False) as session:
        session.execute(sa.text("SELECT 1"))
        current, heads = current_revisions(session), head_revisions()
    url = get_settings().resolved_database_url
    shown = url.split("@")[-1] if "@" in url else url
    if current != heads:
        return False, f"{shown}: 迁移未完成 / migrations pending (at {sorted(current)}, head {sorted(heads)}) — run `shixun migrate`"
    return True, f"{shown}: migrations at head {sorted(heads)}"


def _ffmpeg() -> tuple[bool, str]:
    binary = shutil.which(get_settings().ffmpeg_binary)
    if not binary:
        return False, "未找到 ffmpeg / ffmpeg not found (apt-get install ffmpeg, or set SHIXUN_FFMPEG_BINARY)"
    out = subprocess.run([binary, "-hide_banner", "-version"], capture_output=True, text=True, timeout=20, check=False)  # noqa: S603
    return out.returncode == 0, out.stdout.splitlines()[0] if out.stdout else binary


def _fonts() -> tuple[bool, str]:
    fc_list = shutil.which("fc-list")
    if not fc_list:
        return False, "fc-list not found (apt-get install fontconfig fonts-noto-cjk)"
    out = subprocess.run([fc_list, ":lang=zh", "family"], capture_output=True, text=True, timeout=20, check=False)  # noqa: S603
    families = sorted({line.split(",")[0].strip() for line in out.stdout.splitlines() if line.strip()})
    if not families:
        return False, "没有中文字体 / no Chinese font (apt-get install fonts-noto-cjk)"
    return True, ", ".join(families[:3])


def _disk() -> tuple[bool, str]:
    settings = get_settings()
    settings.ensure_dirs()
    usage = shutil.disk_usage(settings.data_dir)
    free_gb = usage.free / 1024**3
    return usage.free >= MIN_FREE_BYTES, f"{free_gb:.1f} GB free in {settings.data_dir}"


def _workers() -> tuple[bool, str]:
    from app.core.db import get_database
    from app.ops.service import readiness

    with get_database().transaction(write=False) as session:
        _ready, checks = readiness(session)
    return True, f"{checks.get('workers', 0)} worker(s) seen recently" + ("" if checks.get("workers") else " (start `shixun worker`)")


CHECKS: list[tuple[str, Callable[[], tuple[bool, str]]]] = [
    ("配置 configuration", _config),
    ("数据库 database", _database),
    ("ffmpeg", _ffmpeg),
    ("字体 fonts", _fonts),
    ("磁盘 disk", _disk),
    ("任务 workers", _workers),
]


def run_checks() -> int:
    failed = 0
    for label, check in CHECKS:
        try:
            ok, detail = check()
        except Exception as exc:
            ok, detail = False, f"{exc.__class__.__name__}: {exc}"
        failed += not ok
        print(f"[{'OK' if ok else 'FAIL':4}] {label:18} {detail}")
    print("全部通过 / all checks passed" if not failed else f"{failed} 项未通过 / {failed} check(s) failed")
    return 1 if failed else 0
