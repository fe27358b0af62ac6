"""Search across languages: Chinese words for BM25, one vector space for Chinese and English,
bounded queries, the query cache, a strong-match signal, and vectors of one model only."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from services.orchestrator.crosslingual import TERMS_FILE, english_search_terms, read_support_terms
from services.retriever.app import build_embedder, create_retriever
from services.retriever.embeddings import (
    CachedEmbedder,
    LocalUseEmbedder,
    OpenAIEmbedder,
    default_embedder,
)
from services.retriever.hybrid_search import (
    MAX_EMBEDDED_QUERY_CHARS,
    MAX_QUERY_CHARS,
    HybridSearch,
    ranked_for_answers,
)
from services.retriever.index import ChunkRecord, Hit
from services.retriever.ingestion import Ingestor
from services.retriever.sqlite_index import SqliteIndex
from shared.events.retrieval import MAX_ENGLISH_TERMS
from shared.settings import SAMPLE_KNOWLEDGE_DIR, Settings
from shared.stores.hot_cache import RedisHotCache
from shared.stores.redis_client import connect_redis
from shared.text import search_terms

REPO = Path(__file__).resolve().parents[2]


class RecordingEmbedder:
    """The real model, recording what it is asked to embed."""

    def __init__(self, inner: LocalUseEmbedder) -> None:
        self.inner = inner
        self.model_id = inner.model_id
        self.dimensions = inner.dimensions
        self.multilingual = inner.multilingual
        self.max_tokens = inner.max_tokens
        self.relevance = inner.relevance
        self.count_tokens = inner.count_tokens
        self.calls: list[list[str]] = []

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.calls.append(list(texts))
        return self.inner.embed(texts)


class OtherModel(RecordingEmbedder):
    """Stands for a different model: same vectors, another id (as after an upgrade)."""

    def __init__(self, inner: LocalUseEmbedder) -> None:
        super().__init__(inner)
        self.model_id = "other-model/1"


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> HybridSearch:
    index = SqliteIndex(tmp_path_factory.mktemp("index"))
    Ingestor(index, default_embedder()).sync_directory("acme", "default", SAMPLE_KNOWLEDGE_DIR)
    return HybridSearch(index, default_embedder())


# --- Chinese words for BM25 ---------------------------------------------------------------


def test_chinese_is_cut_into_words_and_stopwords_are_dropped() -> None:
    assert search_terms("退货政策是什么") == ["退货", "政策"]
    assert search_terms("保修期多长") == ["保修", "保修期"]  # the parts of a long word too


def test_negations_stay_searchable() -> None:
    assert search_terms("不退") == ["不", "退"]
    assert "没" in search_terms("还没发货")
    assert "不能" in search_terms("不能退货吗")


def test_mixed_chinese_and_english_keeps_both() -> None:
    terms = search_terms("我的iPhone充电器退货要多久？Returns ＯＫ")
    assert {"iphone", "充电器", "退货", "return", "ok"} <= set(terms)


def test_segmentation_ignores_words_other_code_adds_to_jiebas_global_dictionary() -> None:
    import jieba

    before = search_terms("退货政策是什么")
    jieba.add_word("政策是什么")  # cnsenti adds its sentiment words the same way
    try:
        assert search_terms("退货政策是什么") == before
    finally:
        jieba.del_word("政策是什么")


def test_warm_up_keeps_the_dictionary_cache_where_it_is_told(tmp_path: Path) -> None:
    script = (
        "import sys; from pathlib import Path; from shared import segmentation; "
        "segmentation.warm_up(Path(sys.argv[1])); print(segmentation.chinese_words('退货政策'))"
    )
    cache = tmp_path / "jieba"
    done = subprocess.run(
        [sys.executable, "-c", script, str(cache)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "退货" in done.stdout
    assert [p.name for p in cache.iterdir()] == ["jieba.cache"]


def test_bm25_finds_a_chinese_page_by_its_words(tmp_path: Path) -> None:
    index = SqliteIndex(tmp_path)
    Ingestor(index, None).ingest(
        "acme",
        "kb",
        "退货.md",
        "# 退货政策\n未拆封商品签收后30天内可以退货，退货运费由买家承担。".encode(),
    )
    Ingestor(index, None).ingest("acme", "kb", "配送.md", "# 配送\n标准配送需要三到五天。".encode())
    hits = HybridSearch(index, None).search("acme", "kb", "退货政策是什么", mode="lexical").hits
    assert [h.chunk.doc_name for h in hits] == ["退货.md"]


# --- one vector space for Chinese and English ---------------------------------------------


@pytest.mark.parametrize(
    ("question", "page"),
    [
        ("能用礼品卡付款吗", "PaymentMethods.md"),  # the page has no Chinese at all
        ("怎么开启两步验证", "AccountAndSecurity.md"),
        ("旧电池怎么回收", "ProductCareAndSafety.md"),
        ("How long is delivery to mainland China?", "ShippingGuide.md"),
    ],
)
def test_a_question_finds_its_page_in_another_language(
    sample: HybridSearch, question: str, page: str
) -> None:
    hits = sample.search("acme", "default", question, 3).hits
    assert page in [h.chunk.doc_name for h in hits]


def _english(question: str) -> list[str]:
    return english_search_terms(question, MAX_ENGLISH_TERMS)


def test_a_chinese_questions_words_come_in_english_too() -> None:
    assert set(_english("礼品卡会过期吗")) >= {"gift", "card", "expire"}  # not 礼品 / 卡会
    assert set(_english("生日券有效期多久")) >= {"birthday", "coupon", "valid"}
    assert "defeated" not in _english("付款失败了")  # 失败 in a shop is "failed"
    assert _english("How long does shipping take?") == []


def test_the_support_glossary_refuses_a_line_it_cannot_read(tmp_path: Path) -> None:
    assert read_support_terms(TERMS_FILE)["评价"] == "review reviews"
    for bad in ("评价 review", "评价\treview\n评价\tcomment", "\treview"):
        (tmp_path / "terms.tsv").write_text(f"# a comment\n{bad}\n", "utf-8")
        with pytest.raises(ValueError, match="terms.tsv:"):
            read_support_terms(tmp_path / "terms.tsv")


def test_a_name_in_the_dictionary_is_searched_by_its_name_first() -> None:
    # CC-CEDICT: "Alipay, online payment platform"; the name is the sense.
    assert "alipay" in _english("可以用支付宝吗")  # it was a quarter of a sense, not searched


def test_english_words_bring_the_english_passage_that_answers_into_the_top_three(
    sample: HybridSearch,
) -> None:
    question = "生日券有效期多久"  # the birthday coupon's terms are a line on the member page
    plain = sample.search("acme", "default", question, 3).hits
    helped = sample.search("acme", "default", question, 3, english_terms=_english(question))
    answer = "valid for 30 days"
    assert not any(answer in h.chunk.text for h in plain)
    assert any(answer in h.chunk.text for h in helped.hits)


@pytest.mark.parametrize("message", ["嗨，很高兴见到你", "你好呀", "我告诉你一个秘密"])
def test_english_words_find_nothing_the_question_alone_does_not(
    sample: HybridSearch, message: str
) -> None:
    plain = sample.search("acme", "default", message, 6).hits
    helped = sample.search("acme", "default", message, 6, english_terms=_english(message)).hits
    assert {h.chunk.chunk_id for h in helped} <= {
        h.chunk.chunk_id for h in sample.search("acme", "default", message, 30).hits
    }
    assert bool(helped) == bool(plain), "small talk finds a page no more often than before"


# --- the passage with the details first -------------------------------------------------


def test_the_section_with_the_details_comes_before_the_pages_overview(
    sample: HybridSearch,
) -> None:
    methods = sample.search("acme", "default", "What payment methods do you accept?", 3).hits
    assert methods[0].chunk.title == "Payment Methods > Accepted payment methods"
    shipping = sample.search("acme", "default", "How long does standard shipping take?", 3).hits
    assert any("3-5 business days" in h.chunk.text for h in shipping[:2])


def test_a_pages_overview_found_first_brings_the_section_it_leads_into(
    sample: HybridSearch,
) -> None:
    question = "Tell me about your return and exchange policy"
    hits = sample.search("acme", "default", question, 6, overview=True).hits
    assert [h.chunk.title for h in hits[:2]] == [
        "Returns and Exchanges",
        "Returns and Exchanges > Return windows",  # found by neither side on its own
    ]
    assert len(hits) == 6
    plain = sample.search("acme", "default", question, 6).hits
    assert "Returns and Exchanges > Return windows" not in [h.chunk.title for h in plain]


def test_an_overview_yields_only_to_its_own_pages_sections() -> None:
    def hit(doc: str, position: int, title: str, score: float) -> Hit:
        chunk = ChunkRecord(
            "acme", "kb", doc, f"{doc}.md", f"{doc}-{position}", position, title, ""
        )
        return Hit(chunk, score)

    overview = hit("pay", 0, "Payment Methods", 0.50)
    section = hit("pay", 1, "Payment Methods > Accepted", 0.48)
    alone = hit("gift", 0, "Gift Cards", 0.49)  # a page of one section: nothing to yield to
    assert ranked_for_answers([overview, alone, section]) == [alone, section, overview]


# --- strong match -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "question",
    [
        "Tell me about your return and exchange policy",
        "How much does express shipping cost?",
        "能用礼品卡付款吗",
    ],
)
def test_a_question_the_help_centre_answers_is_a_strong_match(
    sample: HybridSearch, question: str
) -> None:
    assert sample.search("acme", "default", question, 3).strong


@pytest.mark.parametrize(
    "message",
    ["hello, how are you today?", "tell me a joke", "你好呀", "thanks, bye!", "what's your name"],
)
def test_chit_chat_is_never_a_strong_match(sample: HybridSearch, message: str) -> None:
    assert not sample.search("acme", "default", message, 3).strong


def test_without_vectors_nothing_is_called_strong(sample: HybridSearch) -> None:
    lexical = HybridSearch(sample.index, None)
    result = lexical.search("acme", "default", "How much does express shipping cost?", 3)
    assert result.hits and not result.strong


# --- bounded queries and the query cache --------------------------------------------------


def test_a_very_long_message_is_searched_by_its_opening_only(sample: HybridSearch) -> None:
    recording = RecordingEmbedder(default_embedder())
    search = HybridSearch(sample.index, recording)
    opening = "How much does express shipping cost? " * 14
    message = (opening + "and also " * 600)[:4000]
    long_result = search.search("acme", "default", message, 3)
    assert all(len(text) <= MAX_EMBEDDED_QUERY_CHARS for call in recording.calls for text in call)
    short_result = search.search("acme", "default", message[:MAX_QUERY_CHARS], 3)
    assert [h.chunk.chunk_id for h in long_result.hits] == [
        h.chunk.chunk_id for h in short_result.hits
    ]


def test_a_repeated_question_is_embedded_once(sample: HybridSearch) -> None:
    recording = RecordingEmbedder(default_embedder())
    search = HybridSearch(sample.index, recording)
    first = search.search("acme", "default", "Do you ship to Hong Kong?", 3)
    again = search.search("acme", "default", "  Do you   ship to Hong Kong?\n", 3)
    assert len(recording.calls) == 1
    assert [h.chunk.chunk_id for h in first.hits] == [h.chunk.chunk_id for h in again.hits]


# --- vectors of one model only ------------------------------------------------------------

PAGE = b"# Gifts\nGift wrapping costs $4 per item and takes one extra day."


def test_vectors_of_another_model_are_refused_then_re_embedded(tmp_path: Path) -> None:
    index = SqliteIndex(tmp_path)
    Ingestor(index, default_embedder()).ingest("acme", "kb", "gifts.md", PAGE)
    upgraded = OtherModel(default_embedder())

    before = HybridSearch(index, upgraded).search("acme", "kb", "how much is gift wrapping")
    assert before.failed == ("vector",)  # never a silent comparison of two models' vectors
    assert [h.chunk.doc_name for h in before.hits] == ["gifts.md"]  # BM25 still answers

    assert Ingestor(index, upgraded).refresh_all_vectors() == ["acme"]
    after = HybridSearch(index, upgraded).search("acme", "kb", "how much is gift wrapping")
    assert after.failed == () and [h.chunk.doc_name for h in after.hits] == ["gifts.md"]
    assert Ingestor(index, upgraded).refresh_all_vectors() == []  # nothing left to do


def test_an_index_from_before_models_were_recorded_is_re_embedded(tmp_path: Path) -> None:
    index = SqliteIndex(tmp_path)
    Ingestor(index, default_embedder()).ingest("acme", "kb", "gifts.md", PAGE)
    db = index._db("acme")
    # What an older release left: 384-d MiniLM vectors and no record of the model.
    db.execute("DELETE FROM kb_vector_models")
    db.execute("UPDATE chunks SET vector = ?", (np.ones(384, dtype=np.float32).tobytes(),))
    db.execute("UPDATE kb_versions SET version = version + 1")
    search = HybridSearch(index, default_embedder())
    assert search.search("acme", "kb", "gift wrapping price").failed == ("vector",)
    assert Ingestor(index, default_embedder()).refresh_all_vectors() == ["acme"]
    result = search.search("acme", "kb", "gift wrapping price")
    assert result.failed == () and [h.chunk.doc_name for h in result.hits] == ["gifts.md"]


def test_a_new_models_first_upload_drops_the_old_vectors_and_the_rest_follows(
    tmp_path: Path,
) -> None:
    index = SqliteIndex(tmp_path)
    Ingestor(index, default_embedder()).ingest("acme", "kb", "gifts.md", PAGE)
    upgraded = OtherModel(default_embedder())
    hours = b"# Hours\nWe answer the phone from nine to five."
    Ingestor(index, upgraded).ingest("acme", "kb", "hours.md", hours)
    search = HybridSearch(index, upgraded)
    vector_only = search.search("acme", "kb", "gift wrapping price", mode="vector")
    assert vector_only.failed == () and "gifts.md" not in [
        h.chunk.doc_name for h in vector_only.hits
    ]
    assert [
        d.doc_name for d in index.stale_documents("acme", "kb", upgraded.model_id + "+title0.3")
    ] == ["gifts.md"]
    Ingestor(index, upgraded).refresh_all_vectors()
    vector_only = search.search("acme", "kb", "gift wrapping price", mode="vector")
    assert [h.chunk.doc_name for h in vector_only.hits][:1] == ["gifts.md"]


# --- the embedding_provider setting -------------------------------------------------------


def test_embedding_provider_picks_the_model() -> None:
    assert isinstance(build_embedder(Settings(embedding_provider="local")), LocalUseEmbedder)
    assert build_embedder(Settings(embedding_provider="none")) is None
    remote = build_embedder(
        Settings(embedding_provider="openai", openai_api_key="sk-test-0123456789abcdef")
    )
    assert isinstance(remote, CachedEmbedder) and isinstance(remote.inner, OpenAIEmbedder)


async def test_the_retriever_re_embeds_stale_knowledge_when_it_starts(tmp_path: Path) -> None:
    index = SqliteIndex(tmp_path)
    Ingestor(index, OtherModel(default_embedder())).ingest("acme", "default", "gifts.md", PAGE)
    index.close()
    settings = Settings(index_dir=tmp_path, knowledge_dir="", redis_url="")
    client = connect_redis(settings)
    cache = RedisHotCache(client, settings.redis_prefix, 600)
    epoch = await cache.epoch("acme")
    await create_retriever(settings, client).seed()
    assert await cache.epoch("acme") == epoch + 1  # answers quoting the old index are stale
    reopened = SqliteIndex(tmp_path)
    search = HybridSearch(reopened, default_embedder())
    result = search.search("acme", "default", "how much is gift wrapping", mode="vector")
    assert result.failed == () and [h.chunk.doc_name for h in result.hits][:1] == ["gifts.md"]
