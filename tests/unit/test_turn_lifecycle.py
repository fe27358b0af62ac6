"""ChatService.open_turn on its own: what leaving the block does to a published turn."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import pytest

from services.gateway.auth import Principal
from services.gateway.chat import ChatService
from services.gateway.schemas import ChatRequest
from shared.errors import DependencyUnavailable
from shared.events import ChatRequested, Event, TurnCancelled, TurnCompleted, TurnEvent
from shared.settings import Settings

CALLER = Principal("acme", "client", "key-1")


class _Relay:
    """The relay's interface, with the turns' queues in the open."""

    queue = type("Queue", (), {"name": "replies"})()

    def __init__(self) -> None:
        self.turns: dict[str, asyncio.Queue[TurnEvent]] = {}

    def register(self, turn_id: str) -> asyncio.Queue[TurnEvent]:
        self.turns[turn_id] = asyncio.Queue()
        return self.turns[turn_id]

    def unregister(self, turn_id: str) -> None:
        self.turns.pop(turn_id, None)


class _Misses:
    """A hot cache that never has the answer."""

    async def lookup(self, tenant_id: str, message: str) -> tuple[None, int]:
        return None, 0


class _TurnLog:
    async def accept(self, tenant_id: str, turn_id: str, user_id: str) -> None:
        return None


@dataclass
class _Broker:
    fail: bool = False
    requests: list[Event] = field(default_factory=list)
    controls: list[Event] = field(default_factory=list)

    async def request(self, event: Event) -> None:
        if self.fail:
            raise DependencyUnavailable("broker down")
        self.requests.append(event)

    async def control(self, event: Event) -> None:
        self.controls.append(event)


def _service(relay: _Relay, broker: _Broker) -> ChatService:
    settings = Settings(_env_file=None, openai_api_key="", openai_base_url="")  # type: ignore[call-arg]
    unused: Any = None  # sessions, leases and slots: no LLM, no cache hit, no slot asked for
    return ChatService(
        settings=settings,
        sessions=unused,
        cache=_Misses(),  # type: ignore[arg-type]
        leases=unused,
        relay=relay,  # type: ignore[arg-type]
        turn_log=_TurnLog(),  # type: ignore[arg-type]
        connections=unused,
        publish_request=broker.request,
        publish_control=broker.control,
    )


async def test_leaving_an_unfinished_turn_cancels_it_for_the_workers() -> None:
    relay, broker = _Relay(), _Broker()
    async with _service(relay, broker).open_turn(CALLER, ChatRequest(message="hi")) as turn:
        assert [type(e) for e in broker.requests] == [ChatRequested]
    assert [(type(e), e.correlation_id) for e in broker.controls] == [(TurnCancelled, turn.turn_id)]
    assert not relay.turns


async def test_a_finished_turn_is_not_cancelled() -> None:
    relay, broker = _Relay(), _Broker()
    async with _service(relay, broker).open_turn(CALLER, ChatRequest(message="hi")) as turn:
        done = TurnCompleted(
            tenant_id="acme",
            correlation_id=turn.turn_id,
            seq=1,
            session_id=turn.session_id,
            reply="Hello!",
            intent="chitchat",
            turn_count=1,
            failed_attempts=0,
            emotion_score=0.0,
        )
        relay.turns[turn.turn_id].put_nowait(done)
        assert [e async for e in turn.events] == [done]
    assert broker.controls == []
    assert not relay.turns


async def test_a_turn_that_was_never_sent_is_not_cancelled() -> None:
    relay, broker = _Relay(), _Broker(fail=True)
    with pytest.raises(DependencyUnavailable):
        async with _service(relay, broker).open_turn(CALLER, ChatRequest(message="hi")):
            pass
    assert broker.controls == []
    assert not relay.turns
