"""Coalesces streamed tokens into fewer broker events without delaying the first one."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable


class TokenCoalescer:
    """Sends the first token at once, then at most one event per window (or per size cap)."""

    def __init__(
        self,
        emit: Callable[[str], Awaitable[None]],
        window_seconds: float = 0.1,
        max_chars: int = 512,
    ) -> None:
        self._emit = emit
        self._window = window_seconds
        self._max_chars = max_chars
        self._buffer: list[str] = []
        self._size = 0
        self._last_flush: float | None = None
        self._timer: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    async def add(self, text: str) -> None:
        """Queue a token; flush if the window has passed or the buffer is full."""
        if not text:
            return
        self._buffer.append(text)
        self._size += len(text)
        due = self._last_flush is None or time.monotonic() - self._last_flush >= self._window
        if due or self._size >= self._max_chars:
            await self.flush()
        elif self._timer is None:
            # A stalled upstream must not hold back text that already arrived.
            self._timer = asyncio.create_task(self._flush_later())

    async def _flush_later(self) -> None:
        assert self._last_flush is not None
        await asyncio.sleep(max(0.0, self._last_flush + self._window - time.monotonic()))
        self._timer = None
        await self.flush()

    async def flush(self) -> None:
        """Emit whatever is buffered as one event."""
        async with self._lock:
            if not self._buffer:
                return
            text = "".join(self._buffer)
            self._buffer.clear()
            self._size = 0
            self._last_flush = time.monotonic()
            await self._emit(text)

    async def close(self) -> None:
        """Flush the rest and stop the timer."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        await self.flush()
