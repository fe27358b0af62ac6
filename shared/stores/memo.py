"""What this process read recently, kept for a few seconds so a hot read skips its store."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Memo(Generic[K, V]):
    """Values by key for ``seconds`` each; at ``entries`` it starts again from empty."""

    def __init__(self, seconds: float, entries: int) -> None:
        self._seconds = seconds
        self._most = entries
        self._entries: dict[K, tuple[float, V]] = {}

    async def get(self, key: K, load: Callable[[], Awaitable[V]]) -> V:
        """The remembered value, or what ``load`` returns now (remembered from now on)."""
        now = time.monotonic()
        remembered = self._entries.get(key)
        if remembered is not None and remembered[0] > now:
            return remembered[1]
        value = await load()
        if len(self._entries) >= self._most:
            self._entries.clear()
        self._entries[key] = (now + self._seconds, value)
        return value

    def forget(self, which: Callable[[K], bool]) -> None:
        """Drop every remembered value whose key ``which`` picks."""
        for key in [k for k in self._entries if which(k)]:
            del self._entries[key]
