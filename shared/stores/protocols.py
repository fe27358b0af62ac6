"""What domain code asks of each store, as small Protocols: the Redis stores implement them,
and a test passes anything else that does.
"""

from __future__ import annotations

from typing import Protocol

from shared.conversation import AgentStatus, CachedAnswer, Message, Session, TurnCounts, TurnRecord


class SessionStore(Protocol):
    """A tenant's conversations, as the workers read and write them."""

    async def open(
        self, tenant_id: str, session_id: str, user_id: str, channel: str, last: int = 20
    ) -> tuple[Session, list[Message]]:
        """The session (created with these owner fields if new) and its last messages."""
        ...

    async def record_turn(self, tenant_id: str, session_id: str, turn: TurnRecord) -> TurnCounts:
        """Add a finished turn and update the counters, at most once per turn id."""
        ...

    async def set_agent_status(
        self,
        tenant_id: str,
        session_id: str,
        status: AgentStatus,
        ticket_id: str = "",
        agent_id: str = "",
    ) -> None:
        """Record who answers the session: the bot, or a human agent (and on which ticket)."""
        ...

    async def append_message(self, tenant_id: str, session_id: str, message: Message) -> None:
        """Add one message (an agent's reply, an opener) to the history."""
        ...


class HotCache(Protocol):
    """Answers any customer may be served again, stamped with the tenant's epoch."""

    async def lookup(self, tenant_id: str, question: str) -> tuple[CachedAnswer | None, int]:
        """The cached answer (None if missing or older than the epoch), and the epoch: one read."""
        ...

    async def epoch(self, tenant_id: str) -> int:
        """The tenant's current epoch; read it before answering, stamp the answer with it."""
        ...

    async def put(self, tenant_id: str, question: str, answer: CachedAnswer, epoch: int) -> None:
        """Store an answer stamped with the epoch read before it was composed."""
        ...

    async def invalidate(self, tenant_id: str) -> int:
        """Make every entry of the tenant stale; returns the new epoch."""
        ...


class TurnLog(Protocol):
    """A turn's events as the worker running it writes them, and a stop asked before it ran."""

    async def append(
        self, tenant_id: str, turn_id: str, seq: int, event_json: str, final: bool = False
    ) -> None:
        """Add event ``seq`` (sequence numbers only grow within a turn; ``final``: its last)."""
        ...

    async def last_event(self, tenant_id: str, turn_id: str) -> tuple[int, str | None]:
        """The newest event's sequence number and JSON; ``(0, None)`` before the first event."""
        ...

    async def stop_requested(self, tenant_id: str, turn_id: str) -> bool:
        """True if the turn's client asked it to stop."""
        ...
