"""Chunking of help-centre pages, hybrid search over the sample base, extractive answers."""

from __future__ import annotations

import pytest

from services.orchestrator.extractive import extractive_answer
from services.retriever.chunking import chunk_markdown, load_directory
from services.retriever.hybrid_search import HybridIndex
from shared.events import Passage
from shared.settings import SAMPLE_KNOWLEDGE_DIR


@pytest.fixture(scope="module")
def index() -> HybridIndex:
    return HybridIndex(load_directory(SAMPLE_KNOWLEDGE_DIR))


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
    assert [c.position for c in chunks] == [0, 1, 2]


def test_sample_base_is_a_real_help_centre() -> None:
    docs = {c.doc_name for c in load_directory(SAMPLE_KNOWLEDGE_DIR)}
    assert len(docs) >= 10


@pytest.mark.parametrize(
    ("question", "document"),
    [
        ("How long does standard shipping take?", "ShippingGuide.md"),
        ("can i return opened headphones", "ReturnsAndExchanges.md"),
        ("do you take apple pay", "PaymentMethods.md"),
        ("how do I turn on two factor authentication", "AccountAndSecurity.md"),
        ("what do platinum members get", "MembershipProgram.md"),
        ("my charger stopped working after 8 months, is that covered?", "WarrantyAndRepairs.md"),
        ("退货需要多少天", "ReturnsAndExchanges.md"),
        ("中国大陆配送要几天", "ShippingGuide.md"),
    ],
)
def test_search_finds_the_right_page(index: HybridIndex, question: str, document: str) -> None:
    assert document in [hit.chunk.doc_name for hit in index.search(question, 3)]


def test_gibberish_finds_nothing(index: HybridIndex) -> None:
    assert index.search("xylophone quantum zebra") == []


def test_extractive_answer_quotes_the_figure_asked_for(index: HybridIndex) -> None:
    question = "How much does express shipping cost?"
    passages = [
        Passage(doc_name=h.chunk.doc_name, title=h.chunk.title, text=h.chunk.text, score=h.score)
        for h in index.search(question)
    ]
    answer = extractive_answer(question, passages)
    assert answer.startswith("According to our Shipping Guide:")
    assert "$14.99" in answer
