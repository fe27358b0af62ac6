"""OpenAI streaming: the reply as ``chat.completion.chunk`` events, ending with ``[DONE]``."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from services.gateway.chat.render import render
from services.gateway.chat.turn import TurnEvents
from services.gateway.openai_schemas import CompletionRequest, usage_of
from services.gateway.sse import unnamed
from shared.errors import AppError, DependencyUnavailable
from shared.events import TokensStreamed, TurnCompleted, TurnFailed, TurnStarted

DONE = b"data: [DONE]\n\n"
Remember = Callable[[str], Awaitable[None]]  # the reply text the client saw


class CompletionChunks:
    """Chunks of one completion; ``head`` holds the id, object, created and model."""

    def __init__(self, body: CompletionRequest, head: dict[str, Any], remember: Remember) -> None:
        self._body = body
        self._head = head
        self._remember = remember
        self._sent: list[str] = []

    def chunk(self, delta: dict[str, str], finish: str | None = None) -> bytes:
        """One chunk with one choice."""
        choice = {"index": 0, "delta": delta, "finish_reason": finish}
        return unnamed({**self._head, "choices": [choice]})

    async def started(self, event: TurnStarted) -> list[bytes]:
        """OpenAI has no such event."""
        return []

    async def tokens(self, event: TokensStreamed) -> list[bytes]:
        """A content delta."""
        self._sent.append(event.content)
        return [self.chunk({"content": event.content})]

    async def completed(self, event: TurnCompleted) -> list[bytes]:
        """The stop chunk, the usage if asked for, ``[DONE]``."""
        sent = "".join(self._sent)
        await self._remember(sent)  # what the client saw is what it will send back
        frames = [self.chunk({}, "stop")]
        if self._body.stream_options and self._body.stream_options.include_usage:
            usage = usage_of(self._body, sent).model_dump()
            frames.append(unnamed({**self._head, "choices": [], "usage": usage}))
        return [*frames, DONE]

    async def failed(self, event: TurnFailed) -> list[bytes]:
        """Raised, to be sent as an ``error`` object."""
        raise DependencyUnavailable(event.message)


async def completion_chunks(
    events: TurnEvents, body: CompletionRequest, head: dict[str, Any], remember: Remember
) -> AsyncIterator[bytes]:
    """The turn as chunks, starting with the assistant's role."""
    chunks = CompletionChunks(body, head, remember)
    yield chunks.chunk({"role": "assistant", "content": ""})
    try:
        async for output in render(events, chunks):
            yield output
    except AppError as exc:
        # Headers are sent; the openai client raises APIError on an ``error`` object.
        yield unnamed({"error": {"message": exc.message, "type": "server_error"}})
        yield DONE
