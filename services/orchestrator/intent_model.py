"""A small multinomial logistic regression over hashed word and character n-grams, calibrated.

Trained at start-up from the labelled examples kept in the repo (well under a second), it
needs no LLM and no model download, and handles typos and Chinese through character n-grams.
Its probabilities are temperature-scaled on held-out folds of the same examples, so that 0.6
means right about six times in ten; and it says how familiar a message's words are, since on
words it never saw it has learnt nothing and its probabilities mean little.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import re
import zlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from shared.text import CJK_CHAR, STOPWORDS

DIMENSIONS = 2**18
FOLDS = 5
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?|[\u3400-\u9fff\uf900-\ufaff]+")
# Temperatures tried when calibrating: 0.25 to 4, evenly on a log scale.
_TEMPERATURES = np.exp(np.linspace(math.log(0.25), math.log(4.0), 81))


def features(text: str) -> dict[int, float]:
    """Hashed, L2-normalised counts of words, word pairs and character 2-4-grams."""
    counts: dict[int, float] = {}

    def add(key: str) -> None:
        slot = zlib.crc32(key.encode()) % DIMENSIONS
        counts[slot] = counts.get(slot, 0.0) + 1.0

    words = _WORD.findall(text.lower())
    for i, word in enumerate(words):
        if not CJK_CHAR.match(word):
            add("w:" + word)
            if i + 1 < len(words):
                add("b:" + word + " " + words[i + 1])
        padded = f" {word} "
        for n in (2, 3, 4):
            for j in range(len(padded) - n + 1):
                add(f"c{n}:" + padded[j : j + n])
    norm = math.sqrt(sum(v * v for v in counts.values())) or 1.0
    return {k: v / norm for k, v in counts.items()}


def content_terms(text: str) -> list[str]:
    """The words that carry meaning: no stopwords, plural -s dropped; CJK as character pairs.

    Anything with a digit in it (an order number, a model, a reference) is a name, not a word.
    """
    terms: list[str] = []
    for word in _WORD.findall(text.lower()):
        if CJK_CHAR.match(word):
            terms.extend(word[i : i + 2] for i in range(max(1, len(word) - 1)))
        elif word not in STOPWORDS and len(word) > 2 and not any(c.isdigit() for c in word):
            terms.append(word[:-1] if len(word) > 3 and word.endswith("s") else word)
    return terms


class IntentModel:
    """Softmax regression trained by SGD on sparse features; ``probabilities`` are calibrated."""

    def __init__(self, labels: Sequence[str]) -> None:
        self.labels = list(labels)
        self.temperature = 1.0
        self._weights = np.zeros((DIMENSIONS, len(self.labels)), dtype=np.float32)
        self._bias = np.zeros(len(self.labels), dtype=np.float32)
        self._known: frozenset[str] = frozenset()

    def _logits(self, feats: dict[int, float]) -> np.ndarray:
        idx = np.fromiter(feats.keys(), dtype=np.int64, count=len(feats))
        val = np.fromiter(feats.values(), dtype=np.float32, count=len(feats))
        return val @ self._weights[idx] + self._bias

    def fit(
        self,
        texts: Sequence[str],
        labels: Sequence[str],
        epochs: int = 40,
        rate: float = 1.0,
        l2: float = 1e-6,
        seed: int = 7,
    ) -> None:
        """Train from scratch; a fixed seed keeps every process's model identical."""
        data = [
            (features(t), self.labels.index(label)) for t, label in zip(texts, labels, strict=True)
        ]
        self._known = frozenset(term for t in texts for term in content_terms(t))
        order = list(range(len(data)))
        rng = random.Random(seed)
        for epoch in range(epochs):
            rng.shuffle(order)
            step = rate / (1 + epoch * 0.2)
            for i in order:
                feats, target = data[i]
                idx = np.fromiter(feats.keys(), dtype=np.int64, count=len(feats))
                val = np.fromiter(feats.values(), dtype=np.float32, count=len(feats))
                probs = _softmax(self._logits(feats))
                probs[target] -= 1.0
                self._weights[idx] -= step * (np.outer(val, probs) + l2 * self._weights[idx])
                self._bias -= step * probs

    def logits(self, text: str) -> np.ndarray:
        """Raw scores per label, before calibration."""
        return self._logits(features(text))

    def probabilities(self, text: str) -> dict[str, float]:
        """Calibrated probability of every label."""
        probs = _softmax(self.logits(text) / self.temperature)
        return dict(zip(self.labels, probs.tolist(), strict=True))

    def predict(self, text: str) -> tuple[str, float]:
        """The most likely label and its calibrated probability."""
        probs = self.probabilities(text)
        best = max(probs, key=probs.__getitem__)
        return best, probs[best]

    def unfamiliar(self, text: str) -> tuple[int, int]:
        """How many of the message's meaningful words training never saw, and of how many."""
        terms = content_terms(text)
        return sum(t not in self._known for t in terms), len(terms)


def _softmax(logits: np.ndarray) -> np.ndarray:
    exp = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return exp / exp.sum(axis=-1, keepdims=True)  # type: ignore[no-any-return]


def cross_validated_temperature(
    labels: Sequence[str], texts: Sequence[str], targets: Sequence[str], folds: int = FOLDS
) -> float:
    """The temperature that best fits held-out folds (least negative log-likelihood).

    Each fold is scored by a model trained on the others, so the temperature reflects how
    sure the model should be on messages it has not seen.
    """
    order = list(range(len(texts)))
    random.Random(7).shuffle(order)
    held_out = np.zeros((len(texts), len(labels)), dtype=np.float64)
    for fold in range(folds):
        test = set(order[fold::folds])
        train = [i for i in order if i not in test]
        model = IntentModel(labels)
        model.fit([texts[i] for i in train], [targets[i] for i in train])
        for i in test:
            held_out[i] = model.logits(texts[i])
    truth = np.array([labels.index(t) for t in targets])

    def loss(temperature: float) -> float:
        scaled = held_out / temperature
        scaled -= scaled.max(axis=1, keepdims=True)
        log_probs = scaled - np.log(np.exp(scaled).sum(axis=1, keepdims=True))
        return float(-log_probs[np.arange(len(truth)), truth].mean())

    return float(min(_TEMPERATURES, key=loss))


def fingerprint(examples: Path) -> str:
    """Identifies a training file's content, so a stored calibration is known to match it."""
    return hashlib.sha256(examples.read_bytes()).hexdigest()


def stored_temperature(calibration: Path, examples: Path) -> float | None:
    """The temperature saved for exactly this training file, if there is one."""
    if not calibration.exists():
        return None
    saved = json.loads(calibration.read_text())
    if saved.get("training_sha256") != fingerprint(examples):
        return None
    return float(saved["temperature"])
