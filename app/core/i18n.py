"""Translations through Babel catalogs. Simplified Chinese first, English second.

Message ids are English; `translations/zh_CN/LC_MESSAGES/messages.po` translates every one of them
(a test fails on a missing or fuzzy entry). Catalogs are compiled in memory from the .po files at
first use, so there is no stale .mo to forget. The current locale lives in a context variable set per
request (it follows into the thread pool) and defaults to zh_CN.
"""

from __future__ import annotations

import io
from contextvars import ContextVar
from functools import cache
from typing import Any

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import LazyProxy, NullTranslations, Translations

from app import PROJECT_ROOT

TRANSLATIONS_DIR = PROJECT_ROOT / "translations"
SUPPORTED_LOCALES = ("zh_CN", "en")
DEFAULT_LOCALE = "zh_CN"
LOCALE_COOKIE = "shixun_locale"
LOCALE_NAMES = {"zh_CN": "简体中文", "en": "English"}

_current_locale: ContextVar[str] = ContextVar("shixun_locale", default=DEFAULT_LOCALE)


@cache
def get_translations(locale: str) -> NullTranslations:
    po_path = TRANSLATIONS_DIR / locale / "LC_MESSAGES" / "messages.po"
    if not po_path.exists():
        return NullTranslations()
    with po_path.open("rb") as handle:
        catalog = read_po(handle, locale=locale)
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return Translations(fp=buffer)


def normalize_locale(value: str | None) -> str | None:
    if not value:
        return None
    value = value.strip().replace("-", "_")
    lowered = value.lower()
    if lowered.startswith("zh"):
        return "zh_CN"
    if lowered.startswith("en"):
        return "en"
    return None


def negotiate(accept_language: str | None, default: str = DEFAULT_LOCALE) -> str:
    """Pick a supported locale from an Accept-Language header; the default when nothing matches."""
    if not accept_language:
        return default
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate(accept_language.split(",")):
        pieces = part.strip().split(";")
        quality = 1.0
        for piece in pieces[1:]:
            if piece.strip().startswith("q="):
                try:
                    quality = float(piece.strip()[2:])
                except ValueError:
                    quality = 0.0
        ranked.append((-quality, index, pieces[0]))
    for _q, _i, tag in sorted(ranked):
        locale = normalize_locale(tag)
        if locale:
            return locale
    return default


def set_locale(locale: str) -> None:
    _current_locale.set(locale if locale in SUPPORTED_LOCALES else DEFAULT_LOCALE)


def get_locale() -> str:
    return _current_locale.get()


def gettext(message: str, **variables: Any) -> str:
    text = get_translations(get_locale()).gettext(message)
    return text % variables if variables else text


def ngettext(singular: str, plural: str, n: int, **variables: Any) -> str:
    text = get_translations(get_locale()).ngettext(singular, plural, n)
    variables.setdefault("num", n)
    return text % variables


def lazy_gettext(message: str, **variables: Any) -> LazyProxy:
    """For strings defined at import time (enum labels, error titles): translated when shown."""
    return LazyProxy(gettext, message, enable_cache=False, **variables)


_ = gettext


def N_(message: str) -> str:
    """Marks a string for extraction where it is defined; it is translated where it is shown."""
    return message


HTML_LANG = {"zh_CN": "zh-CN", "en": "en"}


def html_lang(locale: str | None = None) -> str:
    return HTML_LANG.get(locale or get_locale(), "zh-CN")
