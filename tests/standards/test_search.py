"""Search: bigram normalisation, Chinese two-character terms, Latin codes, ranking, visibility, index use."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.standards import search, service
from app.standards.models import Category, Level
from tests.conftest import BACKEND
from tests.standards.conftest import first_version

CLEANING = """1 范围
2 保洁要求
2.1 地面保洁
地面应无水渍、无污迹，茶水间地面每日拖洗两次。
2.2 会议室保洁
会后及时收回桌签，清理茶水杯具。
"""


def test_index_terms_are_bigrams_and_words() -> None:
    assert search.index_terms("茶水桌签") == "茶水 水桌 桌签 签"
    assert search.index_terms("ＤＢ３２０４/T 1001—2021 会议") == "db3204 t 1001 2021 会议 议"
    assert search.index_terms("，。") == ""


def test_query_terms() -> None:
    assert [t.token for t in search.query_terms("桌签摆放")] == ["桌签", "签摆", "摆放"]
    assert search.query_terms("茶") == [search.Term("茶", prefix=True)]
    assert search.query_terms("DB3204") == [search.Term("db3204", prefix=True)]
    assert search.query_terms("  ，，") == []
    assert search.fts5_query(search.query_terms("茶水 db")) == '"茶水" AND "db"*'
    assert search.tsquery(search.query_terms("茶水 db")) == "'茶水' & 'db':*"


def test_highlight_marks_the_words_in_the_original_text() -> None:
    html = str(search.highlight("会后及时收回桌签，清理茶水杯具。", "桌签 茶水"))
    assert "<mark>桌签</mark>" in html and "<mark>茶水</mark>" in html and "，" in html
    assert "&lt;b&gt;" in str(search.highlight("<b>桌签</b>", "桌签"))


@pytest.fixture
def library(session, admin, instructor, make_standard):  # type: ignore[no-untyped-def]
    meeting = make_standard(instructor, publish_by=admin)
    cleaning = make_standard(instructor, "DB3204/T 1001—2021", "办公楼保洁服务规范", text=CLEANING,
                             category=Category.cleaning, level=Level.local, publish_by=admin)
    draft = make_standard(instructor, "Q/CZJG 099—2025", "茶水间管理规范（草案）", text="1 茶水间\n茶水间应保持整洁。\n")
    return {"meeting": meeting, "cleaning": cleaning, "draft": draft}


def hit_keys(hits) -> list[tuple[str, str | None]]:  # type: ignore[no-untyped-def]
    return [(h.standard.code, h.clause.number if h.clause else None) for h in hits]


@pytest.mark.parametrize("term", ["桌签", "茶水", "桌签摆放", "桌"])
def test_finds_two_character_and_longer_chinese_terms(session, trainee, library, term: str) -> None:
    hits, total = service.search_standards(session, trainee, term)
    assert total == len(hits) > 0
    for hit in hits:
        text = (hit.clause.title + hit.clause.body) if hit.clause else hit.standard.title
        assert term in text
    assert "Q/CZJG 099—2025" not in {h.standard.code for h in hits}  # drafts are not for trainees


def test_two_character_term_hits_every_clause_that_has_it(session, trainee, library) -> None:
    hits, _ = service.search_standards(session, trainee, "桌签")
    assert set(hit_keys(hits)) == {("Q/CZJG 001—2024", "3.1.1"), ("DB3204/T 1001—2021", "2.2")}


def test_words_must_all_be_present(session, trainee, library) -> None:
    hits, _ = service.search_standards(session, trainee, "桌签 茶水")
    assert hit_keys(hits) == [("DB3204/T 1001—2021", "2.2")]
    assert service.search_standards(session, trainee, "桌签 飞机")[1] == 0


def test_finds_latin_codes_and_code_prefixes(session, trainee, library) -> None:
    for query in ("DB3204/T 1001", "db3204", "ＤＢ３２０４", "DB32"):
        hits, _ = service.search_standards(session, trainee, query)
        assert hit_keys(hits)[0] == ("DB3204/T 1001—2021", None), query


def test_title_hits_rank_above_body_hits(session, trainee, library) -> None:
    hits, _ = service.search_standards(session, trainee, "茶水")
    keys = hit_keys(hits)
    # 3.1.2 "茶水准备" has it in its title; the others only in the body
    assert keys[0] == ("Q/CZJG 001—2024", "3.1.2")
    assert set(keys[1:]) == {("DB3204/T 1001—2021", "2.1"), ("DB3204/T 1001—2021", "2.2")}
    keys = hit_keys(service.search_standards(session, trainee, "会议")[0])
    assert set(keys[:2]) == {("Q/CZJG 001—2024", None), ("DB3204/T 1001—2021", "2.2")}  # in titles
    assert keys[2:] == [("Q/CZJG 001—2024", "1")]  # in the body only


def test_authors_also_find_drafts_and_filters_apply(session, instructor, trainee, library) -> None:
    codes = {h.standard.code for h in service.search_standards(session, instructor, "茶水间")[0]}
    assert "Q/CZJG 099—2025" in codes
    flt = service.StandardFilter(category="cleaning")
    assert {h.standard.code for h in service.search_standards(session, trainee, "茶水", flt)[0]} == {"DB3204/T 1001—2021"}
    assert service.search_standards(session, trainee, "茶水", service.StandardFilter(level="national"))[1] == 0


def test_superseded_clauses_drop_out_and_the_new_text_is_found(session, admin, instructor, trainee, library) -> None:
    meeting = library["meeting"]
    draft = service.start_revision(session, instructor, first_version(meeting))
    service.import_text(session, instructor, draft, "1 范围\n2 席卡管理\n席卡应双面打印。\n")
    assert service.search_standards(session, trainee, "席卡")[1] == 0  # a draft
    service.publish(session, admin, draft)
    assert hit_keys(service.search_standards(session, trainee, "席卡")[0])[0] == ("Q/CZJG 001—2024", "2")
    assert ("Q/CZJG 001—2024", "3.1.1") not in hit_keys(service.search_standards(session, trainee, "桌签")[0])


def test_edits_reach_the_index(session, instructor, library) -> None:
    version = first_version(library["draft"])
    clause = service.clauses_of(session, version)[0]
    from app.standards.schemas import ClauseUpdate

    service.update_clause(session, instructor, clause, ClauseUpdate(title="开水器", body="定期除垢。"))
    assert service.search_standards(session, instructor, "除垢")[1] == 1
    assert service.search_standards(session, instructor, "整洁")[1] == 0
    service.delete_clause(session, instructor, clause)
    assert service.search_standards(session, instructor, "除垢")[1] == 0


def test_pagination(session, trainee, library) -> None:
    everything, total = service.search_standards(session, trainee, "服务", limit=100)
    assert total == len(everything) >= 3
    page2, total2 = service.search_standards(session, trainee, "服务", limit=2, offset=2)
    assert total2 == total and hit_keys(page2) == hit_keys(everything)[2:4]


@pytest.mark.skipif(BACKEND != "postgres", reason="PostgreSQL's GIN index")
def test_postgres_query_can_use_the_gin_index(session, trainee, library) -> None:
    terms = search.query_terms("桌签")
    from sqlmodel import select

    from app.standards.models import SearchEntry

    stmt, _rank = search.apply_match(select(SearchEntry.id), "postgresql", terms, SearchEntry.id)
    session.execute(sa.text("SET LOCAL enable_seqscan = off"))
    compiled = stmt.compile(dialect=session.get_bind().dialect, compile_kwargs={"literal_binds": True})
    plan = "\n".join(r[0] for r in session.execute(sa.text(f"EXPLAIN {compiled}")))
    assert search.PG_INDEX in plan, plan
    assert len(session.execute(stmt).all()) == 2


@pytest.mark.skipif(BACKEND != "sqlite", reason="SQLite's FTS5 table")
def test_sqlite_search_goes_through_fts5(session, trainee, library) -> None:
    rows = session.execute(sa.text("SELECT count(*) FROM standards_search_fts WHERE standards_search_fts MATCH '\"桌签\"'")).scalar()
    assert rows == 2  # 3.1.1 and 2.2
