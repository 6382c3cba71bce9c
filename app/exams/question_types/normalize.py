"""Text comparison for typed answers and duplicate detection.

Trainees type on kiosks with Chinese input methods, so the same answer arrives as "ＧＢ／Ｔ １．１",
"GB/T 1.1" or "GB/T1.1", with "，" or ",", "。" or ".". NFKC folds full-width letters, digits and the
ideographic space to ASCII; the table below folds the Chinese punctuation NFKC leaves alone (、。「」
“” — and the dashes of standard numbers like "DB3204/T 1001—2021"); whitespace is dropped (it carries
no meaning in Chinese answers); trailing sentence punctuation is ignored; case folds unless the blank
is case sensitive.
"""

from __future__ import annotations

import hashlib
import html
import re
import unicodedata

_PUNCT = str.maketrans({
    "。": ".", "、": ",", "，": ",", "；": ";", "：": ":", "？": "?", "！": "!",
    "（": "(", "）": ")", "【": "[", "】": "]", "「": '"', "」": '"', "『": '"', "』": '"',
    "“": '"', "”": '"', "‘": "'", "’": "'", "《": "<", "》": ">", "〈": "<", "〉": ">",
    "—": "-", "–": "-", "―": "-", "‐": "-", "‑": "-", "‒": "-", "－": "-", "～": "~", "〜": "~",
    "·": ".", "・": ".", "…": "...",
})
_SPACE = re.compile(r"\s+")
_TRAILING = re.compile(r"[.,;:!?]+$")
_TAG = re.compile(r"<[^>]*>")
_IMAGE = re.compile(r"<img\b[^>]*\bsrc\s*=", re.IGNORECASE)


def normalize_answer(text: str, *, case_sensitive: bool = False) -> str:
    text = unicodedata.normalize("NFKC", text).translate(_PUNCT)
    text = _TRAILING.sub("", _SPACE.sub("", text))
    return text if case_sensitive else text.casefold()


def plain_text(html_text: str) -> str:
    """Rich text → the words in it (tags dropped, entities decoded, spaces collapsed)."""
    return _SPACE.sub(" ", html.unescape(_TAG.sub(" ", html_text))).strip()


def blank_html(html_text: str) -> bool:
    """Whether sanitised rich text shows nothing: no image and no visible character once tags are dropped,
    entities decoded (&nbsp;) and spaces and invisible format characters (zero-width space, BOM, soft
    hyphen) ignored. `<b> </b>` and `&nbsp;` are blank; `<img src="…">` alone is not."""
    if _IMAGE.search(html_text):
        return False
    return not any(unicodedata.category(ch) not in ("Cf", "Cc") for ch in plain_text(html_text) if not ch.isspace())


def fingerprint(question_type: str, stem_html: str) -> str:
    """Same type and the same stem up to markup, width, punctuation, spaces and case → same fingerprint.
    The question bank stores it in an indexed column to find duplicates on import."""
    basis = f"{question_type}\n{normalize_answer(plain_text(stem_html))}"
    return hashlib.sha256(basis.encode("utf-8")).hexdigest()
