"""Retrieval that degrades instead of failing: vectors down → lexical; retriever down → no
relevant content, and the turn counts as a failed attempt."""

from __future__ import annotations

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.conftest import HEADERS, StackFactory
from tests.support.stack import Stack, free_port


@pytest.fixture(scope="module")
def broken_vectors_stack(stack_factory: StackFactory) -> Stack:
    # Embeddings from an "OpenAI" endpoint nobody listens on: every embedding call fails.
    return stack_factory(
        EMBEDDING_PROVIDER="openai",
        OPENAI_BASE_URL=f"http://127.0.0.1:{free_port()}/v1",
        OPENAI_API_KEY="unused",
        LLM_MODEL="unused",
        # The LLM shares that dead endpoint; answers come from its extractive fallback.
    )


def _degraded(retriever_url: str, path: str) -> float:
    text = httpx.get(f"{retriever_url}/metrics", headers=HEADERS).text
    return sum(
        s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == "frontdesk_retrieval_degraded_total" and s.labels.get("path") == path
    )


def test_vector_failure_degrades_to_lexical_and_is_counted(broken_vectors_stack: Stack) -> None:
    gateway = broken_vectors_stack.of("gateway")[0].url
    retriever = broken_vectors_stack.of("retriever")[0]
    before = _degraded(retriever.url, "vector")
    with httpx.Client(base_url=gateway, headers=HEADERS, timeout=60) as client:
        body = client.post("/api/v1/chat", json={"message": "Do you accept Apple Pay?"}).json()
        client.post("/api/v1/chat", json={"message": "How do I reset my password?"})
    assert "PaymentMethods.md" in body["data"]["sources"]
    assert _degraded(retriever.url, "vector") == before + 2
    # Logged once, not per request.
    assert retriever.log.read_text().count("vector search failing") == 1


def test_retriever_down_answers_no_relevant_content(broken_vectors_stack: Stack) -> None:
    retriever = broken_vectors_stack.of("retriever")[0]
    retriever.popen.terminate()
    retriever.popen.wait(timeout=15)
    broken_vectors_stack.processes.remove(retriever)
    gateway = broken_vectors_stack.of("gateway")[0].url
    with httpx.Client(base_url=gateway, headers=HEADERS, timeout=60) as client:
        body = client.post("/api/v1/chat", json={"message": "Do you ship to Hawaii?"}).json()
    assert "couldn't find relevant content" in body["reply"]
    assert body["data"]["sources"] == []
    assert body["data"]["failed_attempts"] == 1
