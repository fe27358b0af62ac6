"""How a service process is served: what its startup built is out of the collector's way."""

from __future__ import annotations

import gc
from typing import Any

from starlette.types import Message, Receive, Scope, Send

from shared.runner import frozen_after_startup


class Model:
    """Stands in for what a service loads at startup (an embedding model, a dictionary)."""


async def test_what_startup_built_is_frozen_once_it_completes() -> None:
    loaded: list[Model] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        loaded.append(Model())
        await send({"type": "lifespan.startup.complete"})

    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "lifespan.startup"}

    async def send(message: Message) -> None:
        sent.append(message)

    gc.unfreeze()
    try:
        scope: dict[str, Any] = {"type": "lifespan"}
        await frozen_after_startup(app)(scope, receive, send)
        assert sent == [{"type": "lifespan.startup.complete"}]
        assert gc.get_freeze_count() > 0
        assert not any(obj is loaded[0] for obj in gc.get_objects())  # out of the GC's sight
    finally:
        gc.unfreeze()
