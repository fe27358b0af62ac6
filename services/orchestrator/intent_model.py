"""A small multinomial logistic regression over hashed word and character n-grams.

Trained at start-up from the labelled examples kept in the repo (well under a second), it
needs no LLM and no model download, and handles typos and Chinese through character n-grams.
"""

from __future__ import annotations

import math
import random
import re
import zlib
from collections.abc import Sequence

import numpy as np

from shared.text import CJK_CHAR

DIMENSIONS = 2**18
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?|[\u3400-\u9fff\uf900-\ufaff]+")


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


class IntentModel:
    """Softmax regression trained by SGD on sparse features; ``predict`` returns probabilities."""

    def __init__(self, labels: Sequence[str]) -> None:
        self.labels = list(labels)
        self._weights = np.zeros((DIMENSIONS, len(self.labels)), dtype=np.float32)
        self._bias = np.zeros(len(self.labels), dtype=np.float32)

    def _scores(self, feats: dict[int, float]) -> np.ndarray:
        idx = np.fromiter(feats.keys(), dtype=np.int64, count=len(feats))
        val = np.fromiter(feats.values(), dtype=np.float32, count=len(feats))
        logits = val @ self._weights[idx] + self._bias
        logits -= logits.max()
        exp = np.exp(logits)
        return exp / exp.sum()  # type: ignore[no-any-return]

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
        order = list(range(len(data)))
        rng = random.Random(seed)
        for epoch in range(epochs):
            rng.shuffle(order)
            step = rate / (1 + epoch * 0.2)
            for i in order:
                feats, target = data[i]
                idx = np.fromiter(feats.keys(), dtype=np.int64, count=len(feats))
                val = np.fromiter(feats.values(), dtype=np.float32, count=len(feats))
                probs = self._scores(feats)
                probs[target] -= 1.0
                self._weights[idx] -= step * (np.outer(val, probs) + l2 * self._weights[idx])
                self._bias -= step * probs

    def predict(self, text: str) -> tuple[str, float]:
        """The most likely label and its probability."""
        probs = self._scores(features(text))
        best = int(np.argmax(probs))
        return self.labels[best], float(probs[best])
