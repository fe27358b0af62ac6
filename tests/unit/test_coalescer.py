"""Token coalescing: the first token goes at once, the rest travel in fewer events."""

from __future__ import annotations

import asyncio

from services.orchestrator.coalescer import TokenCoalescer


async def test_first_token_is_sent_alone_and_text_is_preserved() -> None:
    events: list[str] = []

    async def emit(text: str) -> None:
        events.append(text)

    out = TokenCoalescer(emit, window_seconds=60)
    tokens = [f"w{i} " for i in range(50)]
    for token in tokens:
        await out.add(token)
    assert events == ["w0 "]  # the rest waits for the window
    await out.close()
    assert "".join(events) == "".join(tokens)
    assert len(events) == 2


async def test_size_cap_flushes_before_the_window() -> None:
    events: list[str] = []

    async def emit(text: str) -> None:
        events.append(text)

    out = TokenCoalescer(emit, window_seconds=60, max_chars=10)
    for _ in range(30):
        await out.add("abc")
    await out.close()
    assert "".join(events) == "abc" * 30
    assert all(len(e) <= 12 for e in events)


async def test_a_stalled_stream_still_delivers_buffered_text() -> None:
    events: list[str] = []

    async def emit(text: str) -> None:
        events.append(text)

    out = TokenCoalescer(emit, window_seconds=0.01)
    await out.add("first ")
    await out.add("second ")
    # No more tokens and no close(): the timer must flush "second " on its own.
    for _ in range(100):
        if len(events) == 2:
            break
        await asyncio.sleep(0.01)
    assert events == ["first ", "second "]
    await out.close()
