"""Documents, chunking, the embedded index, hybrid search and ingestion over the sample base."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from services.orchestrator.extractive import extractive_answer
from services.retriever.chunking import chunk_markdown
from services.retriever.documents import html_to_markdown, to_markdown
from services.retriever.embeddings import default_embedder
from services.retriever.hybrid_search import HybridSearch
from services.retriever.ingestion import Ingestor
from services.retriever.sqlite_index import SqliteIndex
from shared.errors import DependencyUnavailable, InvalidInput
from shared.events import Passage
from shared.settings import SAMPLE_KNOWLEDGE_DIR
from tests.support.hostile_pdfs import text_pdf


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> HybridSearch:
    index = SqliteIndex(tmp_path_factory.mktemp("index"))
    ingestor = Ingestor(index, default_embedder())
    ingestor.sync_directory("acme", "default", SAMPLE_KNOWLEDGE_DIR)
    return HybridSearch(index, ingestor.embedder)


def test_chunks_follow_headings_and_flatten_tables() -> None:
    page = (
        "# Shipping\nIntro.\n## Costs\n| Option | Price |\n|---|---|\n| **Express** | $14.99 |\n"
        "### Islands\nSlower.\n"
    )
    chunks = chunk_markdown("Ship.md", page)
    assert [c.title for c in chunks] == [
        "Shipping",
        "Shipping > Costs",
        "Shipping > Costs > Islands",
    ]
    assert chunks[1].text == "Option: Express; Price: $14.99."


def test_html_keeps_headings_lists_and_tables_and_drops_scripts() -> None:
    html = (
        "<html><head><script>var x=1;</script><style>p{}</style></head><body><nav>Home</nav>"
        "<h1>Gift cards</h1><p>Gift cards <b>never</b> expire.</p><h2>Limits</h2>"
        "<ul><li>Up to 5 per order</li></ul><table><tr><th>Value</th><th>Currency</th></tr>"
        "<tr><td>10-500</td><td>USD</td></tr></table></body></html>"
    )
    chunks = chunk_markdown("gift.html", html_to_markdown(html))
    assert [c.title for c in chunks] == ["Gift cards", "Gift cards > Limits"]
    assert chunks[0].text == "Gift cards never expire."
    assert "- Up to 5 per order" in chunks[1].text
    assert "Value: 10-500; Currency: USD." in chunks[1].text
    assert "var x" not in html_to_markdown(html) and "Home" not in html_to_markdown(html)


def test_pdf_text_is_extracted_by_page() -> None:
    text = to_markdown("wrap.pdf", text_pdf("Gift wrapping costs 4 dollars per item."))
    assert text.startswith("## Page 1")
    assert "Gift wrapping costs 4 dollars per item." in text


@pytest.mark.parametrize(
    ("name", "content", "says"),
    [
        ("notes.docx", b"x", "unsupported file type"),
        ("empty.md", b"   \n", "no text found"),
        ("latin1.txt", "caf\xe9".encode("latin-1"), "not UTF-8"),
        ("broken.pdf", b"%PDF-1.4 garbage", "not a readable PDF"),
    ],
)
def test_unreadable_documents_are_refused_clearly(name: str, content: bytes, says: str) -> None:
    with pytest.raises(InvalidInput, match=says):
        to_markdown(name, content)


@pytest.mark.parametrize(
    ("question", "document"),
    [
        ("How long does standard shipping take?", "ShippingGuide.md"),
        ("can i return opened headphones", "ReturnsAndExchanges.md"),
        ("do you take apple pay", "PaymentMethods.md"),
        ("I forgot my password", "AccountAndSecurity.md"),
        ("how do points work", "MembershipProgram.md"),
        ("my charger stopped working after 8 months, is that covered?", "WarrantyAndRepairs.md"),
        ("退货需要多少天", "ReturnsAndExchanges.md"),
        ("中国大陆配送要几天", "ShippingGuide.md"),
    ],
)
def test_search_finds_the_right_page(sample: HybridSearch, question: str, document: str) -> None:
    hits = sample.search("acme", "default", question, 3).hits
    assert document in [hit.chunk.doc_name for hit in hits]


@pytest.mark.parametrize("question", ["xylophone quantum zebra", "what's the weather on mars"])
def test_unrelated_questions_find_nothing(sample: HybridSearch, question: str) -> None:
    assert sample.search("acme", "default", question).hits == []


def test_hits_carry_their_metadata(sample: HybridSearch) -> None:
    hit = sample.search("acme", "default", "do you take apple pay", 1).hits[0]
    chunk = hit.chunk
    assert (chunk.tenant_id, chunk.kb_id, chunk.doc_name) == (
        "acme",
        "default",
        "PaymentMethods.md",
    )
    assert chunk.doc_id.startswith("doc-") and chunk.chunk_id.startswith(chunk.doc_id)
    assert chunk.title.startswith("Payment Methods")


def test_other_tenants_and_knowledge_bases_see_nothing(sample: HybridSearch) -> None:
    assert sample.search("globex", "default", "do you take apple pay").hits == []
    assert sample.search("acme", "internal", "do you take apple pay").hits == []


def test_extractive_answer_quotes_the_figure_asked_for(sample: HybridSearch) -> None:
    question = "How much does express shipping cost?"
    passages = [
        Passage(doc_name=h.chunk.doc_name, title=h.chunk.title, text=h.chunk.text, score=h.score)
        for h in sample.search("acme", "default", question).hits
    ]
    answer = extractive_answer(question, passages)
    assert answer.startswith("According to our Shipping Guide:")
    assert "$14.99" in answer


class BrokenEmbedder:
    model_id = "broken"
    dimensions = 512
    multilingual = False
    max_tokens = 256
    relevance = default_embedder().relevance

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def embed(self, texts: list[str]) -> np.ndarray:
        raise DependencyUnavailable("embedding model crashed")


def test_reingesting_replaces_only_that_document(tmp_path: Path) -> None:
    index = SqliteIndex(tmp_path)
    ingestor = Ingestor(index, default_embedder())
    first = ingestor.ingest("acme", "kb", "gifts.md", b"# Gifts\nGift wrapping is free.")
    ingestor.ingest("acme", "kb", "hours.md", b"# Hours\nWe open at nine.")
    again = ingestor.ingest("acme", "kb", "gifts.md", b"# Gifts\nGift wrapping is free.")
    changed = ingestor.ingest("acme", "kb", "gifts.md", b"# Gifts\nGift wrapping costs $4.")
    assert (first.status, again.status, changed.status) == ("created", "unchanged", "replaced")
    assert changed.document.doc_id == first.document.doc_id
    search = HybridSearch(index, ingestor.embedder)
    texts = [h.chunk.text for h in search.search("acme", "kb", "gift wrapping cost").hits]
    assert texts == ["Gift wrapping costs $4."]
    assert [d.doc_name for d in index.documents("acme", "kb")] == ["gifts.md", "hours.md"]
    assert ingestor.delete("acme", "kb", first.document.doc_id)
    assert not ingestor.delete("acme", "kb", first.document.doc_id)
    assert search.search("acme", "kb", "gift wrapping cost").hits == []
    assert [d.doc_name for d in index.documents("acme", "kb")] == ["hours.md"]


def test_a_failing_embedder_degrades_to_lexical(tmp_path: Path) -> None:
    index = SqliteIndex(tmp_path)
    Ingestor(index, BrokenEmbedder()).ingest(  # type: ignore[arg-type]
        "acme", "kb", "gifts.md", b"# Gifts\nGift wrapping costs $4."
    )
    result = HybridSearch(index, BrokenEmbedder()).search("acme", "kb", "gift wrapping cost")  # type: ignore[arg-type]
    assert [h.chunk.doc_name for h in result.hits] == ["gifts.md"]
    assert result.failed == ("vector",)


def test_an_index_that_fails_entirely_finds_nothing(tmp_path: Path) -> None:
    index = SqliteIndex(tmp_path)
    index.close()
    index._directory = tmp_path / "missing" / "dir"  # every open now fails
    result = HybridSearch(index, BrokenEmbedder()).search("acme", "kb", "gift wrapping")  # type: ignore[arg-type]
    assert result.hits == [] and set(result.failed) == {"lexical", "vector"}
