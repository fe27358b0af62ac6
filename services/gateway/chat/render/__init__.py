"""Renderers: one per protocol, each turning a turn's events into what that protocol sends.

The switch over event classes is written once, in ``render``; a renderer only says what each
event becomes.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Protocol, TypeVar

from services.gateway.chat.turn import TurnEvents
from shared.events import TokensStreamed, TurnCompleted, TurnFailed, TurnStarted

Out = TypeVar("Out")


class Renderer(Protocol[Out]):
    """What each turn event becomes in one protocol (nothing, one output, or several)."""

    async def started(self, event: TurnStarted) -> list[Out]:
        """Intent and sources are known."""
        ...

    async def tokens(self, event: TokensStreamed) -> list[Out]:
        """A run of reply text."""
        ...

    async def completed(self, event: TurnCompleted) -> list[Out]:
        """The whole answer, recorded."""
        ...

    async def failed(self, event: TurnFailed) -> list[Out]:
        """The turn could not be answered."""
        ...


async def render(events: TurnEvents, renderer: Renderer[Out]) -> AsyncGenerator[Out, None]:
    """Each event of ``events`` as ``renderer`` renders it, in order."""
    async for event in events:
        if isinstance(event, TurnStarted):
            outputs = await renderer.started(event)
        elif isinstance(event, TokensStreamed):
            outputs = await renderer.tokens(event)
        elif isinstance(event, TurnCompleted):
            outputs = await renderer.completed(event)
        else:
            outputs = await renderer.failed(event)
        for output in outputs:
            yield output
