"""Every user-facing string is translated into Simplified Chinese, with its placeholders intact."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from app import PROJECT_ROOT
from app.core import i18n

PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def _catalog(locale: str):  # type: ignore[no-untyped-def]
    with (PROJECT_ROOT / "translations" / locale / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        return read_po(handle, locale=locale)


def _extracted(tmp_path: Path) -> set[str]:
    pot = tmp_path / "messages.pot"
    pybabel = Path(sys.executable).with_name("pybabel")
    subprocess.run([str(pybabel), "-q", "extract", "-F", "babel.cfg", "-k", "_l", "-k", "lazy_gettext", "-k", "N_",
                    "--no-location", "-o", str(pot), "."], cwd=PROJECT_ROOT, check=True)
    with pot.open("rb") as handle:
        return {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(handle) if m.id}


def test_every_extracted_string_has_a_chinese_translation(tmp_path: Path) -> None:
    catalog = _catalog("zh_CN")
    translated = {m.id if isinstance(m.id, str) else m.id[0]: m for m in catalog if m.id}
    missing = sorted(msgid for msgid in _extracted(tmp_path) if msgid not in translated or not translated[msgid].string)
    assert not missing, "untranslated (run scripts/i18n.sh and fill translations/zh_CN):\n" + "\n".join(missing)
    fuzzy = sorted(m.id for m in catalog if m.id and m.fuzzy)
    assert not fuzzy, f"fuzzy entries: {fuzzy}"


def test_placeholders_survive_translation() -> None:
    for message in _catalog("zh_CN"):
        if not message.id or not isinstance(message.id, str) or not message.string:
            continue
        assert set(PLACEHOLDER.findall(message.id)) == set(PLACEHOLDER.findall(message.string)), message.id


@pytest.mark.parametrize(
    ("header", "expected"),
    [(None, "zh_CN"), ("en-US,en;q=0.9", "en"), ("zh-CN,zh;q=0.9,en;q=0.8", "zh_CN"), ("fr-FR", "zh_CN"),
     ("fr;q=1,en;q=0.5", "en"), ("en;q=0.2,zh-TW;q=0.9", "zh_CN"), ("garbage;q=x", "zh_CN")],
)
def test_negotiation(header: str | None, expected: str) -> None:
    assert i18n.negotiate(header) == expected


def test_gettext_follows_the_current_locale() -> None:
    i18n.set_locale("zh_CN")
    assert i18n.gettext("Sign in") == "登录"
    assert i18n.gettext("Good to see you, %(name)s.", name="王") == "王，您好。"
    i18n.set_locale("en")
    assert i18n.gettext("Sign in") == "Sign in"
    i18n.set_locale("zh_CN")


def test_pages_are_chinese_first_and_english_when_chosen(client) -> None:  # type: ignore[no-untyped-def]
    page = client.get("/login")
    assert '<html lang="zh-CN">' in page.text and "登录实训平台" in page.text
    # A kiosk browser installed in English still shows Chinese until someone picks English.
    assert "登录实训平台" in client.get("/login", headers={"Accept-Language": "en-US,en;q=0.9"}).text
    client.cookies.set("shixun_locale", "en")
    english = client.get("/login")
    assert "Sign in to Shixun" in english.text and '<html lang="en">' in english.text


def test_api_follows_accept_language(client) -> None:  # type: ignore[no-untyped-def]
    body = client.get("/api/v1/me", headers={"Accept-Language": "en-US,en;q=0.9"}).json()
    assert body["title"] == "Please sign in first"
    assert client.get("/api/v1/me").json()["title"] == "请先登录"
