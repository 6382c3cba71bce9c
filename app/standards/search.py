"""Chinese-aware full-text search that works the same on SQLite and PostgreSQL.

Neither database splits Chinese into words, and a dictionary segmenter would miss the two-character
terms people type ("茶水", "桌签"). So text is indexed as overlapping character bigrams: "茶水桌签" is
stored as "茶水 水桌 桌签 签" (the last character of a run also alone, so that a one-character query
can match as a prefix). Latin letters and digits become lower-case words (NFKC first, so full-width
"ＤＢ３２０４" is "db3204"). A query is turned the same way into terms joined with AND: "桌签摆放"
must contain 桌签, 签摆 and 摆放; the last term matches as a prefix, for searching as one types.

- SQLite: an FTS5 table over standards_search_entry (made in the migration, kept in step by
  triggers); ranked by bm25 with the title column weighted 10:1.
- PostgreSQL: a GIN index over PG_VECTOR, `to_tsvector('simple', …)` of the same text with the title
  weighted A; ranked by ts_rank. The query uses the very expression of the index.

Snippets are cut from the original text in Python and the query's words marked there, so both
databases show the same thing.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from markupsafe import Markup, escape

FTS_TABLE = "standards_search_fts"
PG_INDEX = "ix_standards_search_entry_tsv"
PG_VECTOR = ("(setweight(to_tsvector('simple'::regconfig, title_terms), 'A') || "
             "setweight(to_tsvector('simple'::regconfig, body_terms), 'B'))")
MAX_QUERY_TERMS = 24

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_RUN = re.compile(rf"([{_CJK}]+)|([a-z0-9]+)")


def include_schema_name(name: str | None, type_: str, parent_names: Any) -> bool:
    """Alembic's include_name: skip the hand-made search index objects (see the module docstring)."""
    if name is None:
        return True
    if type_ == "table" and name.startswith(FTS_TABLE):
        return False
    return not (type_ == "index" and name == PG_INDEX)


def _normalise(text: str) -> str:
    return unicodedata.normalize("NFKC", text or "").lower()


def index_terms(text: str) -> str:
    """The text as it is stored for the index: bigrams for CJK runs, words for Latin/digits."""
    out: list[str] = []
    for cjk, word in _RUN.findall(_normalise(text)):
        if cjk:
            out.extend(cjk[i:i + 2] for i in range(len(cjk) - 1))
            out.append(cjk[-1])
        else:
            out.append(word)
    return " ".join(out)


@dataclass(frozen=True)
class Term:
    token: str
    prefix: bool = False


def query_terms(query: str) -> list[Term]:
    terms: list[Term] = []
    for cjk, word in _RUN.findall(_normalise(query)):
        if cjk and len(cjk) == 1:
            terms.append(Term(cjk, prefix=True))
        elif cjk:
            terms.extend(Term(cjk[i:i + 2]) for i in range(len(cjk) - 1))
        else:
            terms.append(Term(word))
    unique = list(dict.fromkeys(terms))[:MAX_QUERY_TERMS]
    if unique and not unique[-1].prefix and _RUN.fullmatch(unique[-1].token) and unique[-1].token.isascii():
        unique[-1] = Term(unique[-1].token, prefix=True)  # the word being typed
    return unique


def fts5_query(terms: Sequence[Term]) -> str:
    # Tokens hold only [a-z0-9] or CJK characters, so quoting them is safe.
    return " AND ".join(f'"{t.token}"' + ("*" if t.prefix else "") for t in terms)


def tsquery(terms: Sequence[Term]) -> str:
    return " & ".join(f"'{t.token}'" + (":*" if t.prefix else "") for t in terms)


def apply_match(stmt: Any, dialect: str, terms: Sequence[Term], entry_id: Any) -> tuple[Any, Any]:
    """Restrict a select over standards_search_entry to rows matching every term; also return a rank
    expression that sorts best first in ascending order."""
    if dialect == "sqlite":
        fts = sa.table(FTS_TABLE, sa.column("rowid"))
        stmt = stmt.join(fts, fts.c.rowid == entry_id).where(
            sa.text(f"{FTS_TABLE} MATCH :fts_q").bindparams(fts_q=fts5_query(terms)))
        return stmt, sa.func.bm25(sa.literal_column(FTS_TABLE), 10.0, 1.0)
    query = sa.func.to_tsquery(sa.literal_column("'simple'::regconfig"), sa.literal(tsquery(terms), sa.Text))
    vector: Any = sa.literal_column(PG_VECTOR)
    return stmt.where(vector.op("@@")(query)), -sa.func.ts_rank(vector, query)


# ---------------------------------------------------------------------------------------------
# Snippets


def _needles(query: str) -> list[str]:
    words = [cjk or word for cjk, word in _RUN.findall(_normalise(query))]
    return sorted({w for w in words if w}, key=len, reverse=True)


def highlight(text: str, query: str, *, width: int = 80) -> Markup:
    """A window of `text` around the first match of the query's words, each match in <mark>."""
    text = " ".join((text or "").split())
    needles = _needles(query)
    folded = unicodedata.normalize("NFKC", text).lower()
    if len(folded) != len(text):  # NFKC changed the length: search the text as it is
        folded = text.lower()
    first = min((i for i in (folded.find(n) for n in needles) if i >= 0), default=0)
    start = max(0, first - width // 3)
    end = min(len(text), start + width)
    pattern = re.compile("|".join(re.escape(n) for n in needles)) if needles else None
    pieces: list[Markup | str] = ["…" if start > 0 else ""]
    cursor = start
    if pattern is not None:
        for match in pattern.finditer(folded, start, end):
            pieces.append(escape(text[cursor:match.start()]))
            pieces.append(Markup("<mark>%s</mark>") % text[match.start():match.end()])
            cursor = match.end()
    pieces.append(escape(text[cursor:end]))
    pieces.append("…" if end < len(text) else "")
    return Markup("").join(pieces)
