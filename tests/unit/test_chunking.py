"""Chunks fit the embedder: long PDF pages, paragraphs and unbroken runs are cut by its tokens."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from services.retriever.chunking import MAX_CHUNK_CHARS, TokenBudget, chunk_markdown, fit_chunks
from services.retriever.embeddings import LocalUseEmbedder, default_embedder
from services.retriever.ingestion import Ingestor, Parse
from services.retriever.isolated_parsing import IsolatedParser, ParseLimits, parse_document
from services.retriever.sqlite_index import SqliteIndex
from tests.support.hostile_pdfs import text_lines_pdf

# A 60-line page: before chunks followed tokens it became one 4,800-character chunk.
PDF_LINES = [
    f"Clause {i}: opened accessories bought in store {i} may be returned within 15 days "
    "when complete."
    for i in range(60)
]
LONG_PARAGRAPH = " ".join(
    f"Sentence {i} says that parcels sent to region {i} arrive within {i % 7 + 2} business "
    "days, unless customs hold them."
    for i in range(80)
)
# Chinese without a single punctuation mark: only the last resort (characters) can cut it.
UNBROKEN_CHINESE = "已拆封的电子配件和小家电十五天内可退须配件齐全无明显使用痕迹" * 60


@pytest.fixture(scope="module")
def embedder() -> LocalUseEmbedder:
    return default_embedder()


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", text)


@pytest.mark.parametrize(
    "parse",
    [parse_document, IsolatedParser(ParseLimits())],
    ids=["in-process", "child-process (the retriever's)"],
)
def test_a_long_pdf_page_and_paragraph_are_ingested_as_chunks_within_the_window(
    tmp_path: Path, embedder: LocalUseEmbedder, parse: Parse
) -> None:
    index = SqliteIndex(tmp_path)
    ingestor = Ingestor(index, embedder, parse)
    pdf = ingestor.ingest("acme", "kb", "returns.pdf", text_lines_pdf(PDF_LINES)).document
    page = ingestor.ingest(
        "acme", "kb", "regions.md", f"# Regions\n\n{LONG_PARAGRAPH}\n\n{UNBROKEN_CHINESE}".encode()
    ).document
    for document in (pdf, page):
        chunks = index.chunks("acme", "kb", document.doc_id)
        assert len(chunks) > 3, "a long page must be cut into several chunks"
        for chunk in chunks:
            # What the model reads is the heading path, a newline and the text.
            tokens = embedder.count_tokens(f"{chunk.title}\n{chunk.text}")
            assert tokens <= embedder.max_tokens, (document.doc_name, tokens)
            assert len(chunk.text) <= MAX_CHUNK_CHARS
    # Nothing is lost or reordered: the chunks hold the page's words in order.
    pdf_text = " ".join(c.text for c in index.chunks("acme", "kb", pdf.doc_id))
    assert _words(pdf_text) == _words(" ".join(PDF_LINES))
    page_text = " ".join(c.text for c in index.chunks("acme", "kb", page.doc_id))
    assert _words(page_text.replace(" ", "")) == _words(
        (LONG_PARAGRAPH + UNBROKEN_CHINESE).replace(" ", "")
    )


def test_pdf_lines_are_kept_whole_when_a_page_is_cut(embedder: LocalUseEmbedder) -> None:
    markdown = "## Page 1\n\n" + "\n".join(PDF_LINES)
    budget = TokenBudget(embedder.count_tokens, embedder.max_tokens)
    chunks = fit_chunks(chunk_markdown("returns.pdf", markdown), budget)
    lines = [line for chunk in chunks for line in chunk.text.split("\n")]
    assert lines == PDF_LINES


def test_short_sections_stay_whole_and_keep_their_order(embedder: LocalUseEmbedder) -> None:
    markdown = "# Gifts\nWrapping is free.\n## Cards\n- Never expire\n- Up to 5 per order\n"
    budget = TokenBudget(embedder.count_tokens, embedder.max_tokens)
    chunks = fit_chunks(chunk_markdown("gifts.md", markdown), budget)
    assert [(c.title, c.text, c.position) for c in chunks] == [
        ("Gifts", "Wrapping is free.", 0),
        ("Gifts > Cards", "- Never expire\n- Up to 5 per order", 1),
    ]


def test_a_tiny_window_still_gives_chunks_that_fit() -> None:
    # Any embedder: here one "token" per word and a window of 12.
    budget = TokenBudget(lambda text: len(text.split()), 12)
    chunks = fit_chunks(chunk_markdown("regions.md", f"# Regions\n{LONG_PARAGRAPH}"), budget)
    assert all(budget.count(f"{c.title}\n{c.text}") <= 12 for c in chunks)
    assert " ".join(c.text for c in chunks).split() == LONG_PARAGRAPH.split()


def test_an_overlong_heading_is_shortened_so_the_text_still_fits(
    embedder: LocalUseEmbedder,
) -> None:
    # 200 characters of Chinese (the heading cap) are about 200 tokens, most of a window.
    heading = "退货政策说明" * 40
    budget = TokenBudget(embedder.count_tokens, embedder.max_tokens)
    chunks = fit_chunks(chunk_markdown("long.md", f"# {heading}\n{LONG_PARAGRAPH}"), budget)
    for chunk in chunks:
        assert embedder.count_tokens(f"{chunk.title}\n{chunk.text}") <= embedder.max_tokens
        assert embedder.count_tokens(chunk.title) <= embedder.max_tokens // 4
    assert chunks[0].title.startswith("退货政策说明") and chunks[0].title.endswith("…")


def test_without_an_embedder_sections_are_cut_by_characters_only() -> None:
    # What the parser (a child process without the model) produces.
    chunks = chunk_markdown("regions.md", f"# Regions\n{LONG_PARAGRAPH}")
    assert len(chunks) > 1
    assert all(len(c.text) <= MAX_CHUNK_CHARS for c in chunks)
