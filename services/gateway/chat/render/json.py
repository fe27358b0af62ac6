"""JSON: the whole answer as one response, once the turn completes."""

from __future__ import annotations

import contextlib

from services.gateway.chat.render import render
from services.gateway.chat.turn import Turn, TurnEvents
from services.gateway.schemas import ChatData, ChatResponse, ReferenceOut, SubTaskOut
from shared.errors import DependencyUnavailable
from shared.events import TokensStreamed, TurnCompleted, TurnFailed, TurnStarted


class JsonAnswer:
    """Only the completion counts; a failure raises."""

    async def started(self, event: TurnStarted) -> list[ChatResponse]:
        """Nothing yet."""
        return []

    async def tokens(self, event: TokensStreamed) -> list[ChatResponse]:
        """Nothing yet."""
        return []

    async def completed(self, event: TurnCompleted) -> list[ChatResponse]:
        """The response ``POST /api/v1/chat`` returns."""
        return [
            ChatResponse(
                session_id=event.session_id,
                reply=event.reply,
                data=ChatData(
                    turn_id=event.correlation_id,
                    intent=event.intent,
                    sources=event.sources,
                    escalate_to_human=event.escalate_to_human,
                    escalation_card=event.escalation_card,
                    turn_count=event.turn_count,
                    failed_attempts=event.failed_attempts,
                    emotion_score=event.emotion_score,
                    sub_tasks=[SubTaskOut.model_validate(s.model_dump()) for s in event.sub_tasks],
                    references=[
                        ReferenceOut.model_validate(r.model_dump()) for r in event.references
                    ],
                    grounding=event.grounding,
                ),
            )
        ]

    async def failed(self, event: TurnFailed) -> list[ChatResponse]:
        """A 503."""
        raise DependencyUnavailable(event.message)


async def until_done(events: TurnEvents) -> ChatResponse:
    """The turn's response once it completes."""
    async with contextlib.aclosing(render(events, JsonAnswer())) as answers:
        async for answer in answers:
            return answer
    raise AssertionError("unreachable: a turn's events end with its completion or failure")


async def answer_of(turn: Turn) -> ChatResponse:
    """A turn's whole response: the cached answer, or its completion."""
    return turn.cached if turn.cached is not None else await until_done(turn.events)
