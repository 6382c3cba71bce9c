"""The yardstick: a bare FastAPI + Jinja2 + SQLite page of similar size to Shixun's "my learning".

Same server (uvicorn, one process), same database engine, same template engine; none of Shixun's
sessions, CSRF, i18n, access rules or transactional routes.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment

DB = Path(os.environ.get("BARE_DB", "/tmp/shixun-bench-bare.db"))
# Pad the page to this many bytes (UTF-8) so that it is the size of the Shixun page it is compared with.
SIZE = int(os.environ.get("BARE_BYTES", "6000"))
TEMPLATE = Environment(autoescape=True).from_string(
    """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>我的学习</title>
<link rel="stylesheet" href="/static/app.css"></head><body><header><nav>{% for i in range(6) %}<a href="/n{{ i }}">导航{{ i }}</a>{% endfor %}</nav>
<span>{{ user[1] }}</span></header><main><h1>我的学习</h1>
{% for row in rows %}<section class="card"><h2>{{ row[1] }}</h2><p>{{ row[2] }}</p><progress max="100" value="{{ row[3] }}"></progress></section>{% endfor %}
<p>{{ filler }}</p></main><footer>市机关事务管理局 · 国家级标准化实训基地</footer></body></html>"""
)


def _init() -> None:
    con = sqlite3.connect(DB)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("CREATE TABLE IF NOT EXISTS u (id INTEGER PRIMARY KEY, name TEXT)")
    con.execute("CREATE TABLE IF NOT EXISTS c (id INTEGER PRIMARY KEY, title TEXT, body TEXT, pct INTEGER)")
    if not con.execute("SELECT count(*) FROM u").fetchone()[0]:
        con.executemany("INSERT INTO u (name) VALUES (?)", [(f"学员{i}",) for i in range(100)])
        con.executemany("INSERT INTO c (title, body, pct) VALUES (?, ?, ?)",
                        [(f"课程{i}", "会议服务标准第五章" * 5, i * 10 % 100) for i in range(8)])
    con.commit()
    con.close()


_init()
_bare = len(TEMPLATE.render(user=(1, "学员1"), rows=[(i, f"课程{i}", "会议服务标准第五章" * 5, 50) for i in range(8)],
                            filler="").encode())
FILLER = "说明文字" * max(0, (SIZE - _bare) // 12)  # 3 bytes per character
app = FastAPI()


@app.get("/", response_class=HTMLResponse)
def page(request: Request) -> str:
    con = sqlite3.connect(DB)
    try:
        user = con.execute("SELECT id, name FROM u WHERE id = ?", (1 + hash(request.client) % 100,)).fetchone()
        rows = con.execute("SELECT id, title, body, pct FROM c ORDER BY id").fetchall()
    finally:
        con.close()
    return TEMPLATE.render(user=user, rows=rows, filler=FILLER)
