"""The agent desk at the gateway: reads tickets from Redis, sends actions to the escalation
worker (the only writer of ticket state)."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import SecretStr

from shared.conversation import Message
from shared.errors import Conflict, InvalidInput, NotFound
from shared.events import AgentCommandCompleted, AgentCommandRequested, EscalationCard, new_id
from shared.events.escalation import AgentAction
from shared.rpc import RpcClient
from shared.stores.escalations import RedisEscalationStore
from shared.stores.sessions import RedisSessionStore
from shared.topology import Topology

COMMAND_TIMEOUT_SECONDS = 10.0


def parse_agent_keys(raw: SecretStr) -> dict[str, str]:
    """``"alice:key-a,bob:key-b"`` → ``{"alice": "key-a", "bob": "key-b"}``."""
    pairs = [item.split(":", 1) for item in raw.get_secret_value().split(",") if ":" in item]
    return {name.strip(): key.strip() for name, key in pairs if name.strip() and key.strip()}


@dataclass(frozen=True)
class TicketView:
    """A ticket with the conversation so far."""

    card: EscalationCard
    history: list[Message]


class AgentDesk:
    """What the workbench API does."""

    def __init__(
        self,
        rpc: RpcClient,
        topology: Topology,
        cards: RedisEscalationStore,
        sessions: RedisSessionStore,
    ) -> None:
        self._rpc = rpc
        self._queue = topology.agent_commands.name
        self._cards = cards
        self._sessions = sessions

    async def pending(self, tenant_id: str) -> list[EscalationCard]:
        """Tickets waiting for an agent, most urgent first."""
        cards = [await self._cards.get(tenant_id, t) for t in await self._cards.pending(tenant_id)]
        return [c for c in cards if c is not None]

    async def open(self, tenant_id: str, ticket_id: str) -> TicketView:
        """A ticket and its conversation."""
        card = await self._cards.get(tenant_id, ticket_id)
        if card is None:
            raise NotFound("No such ticket")
        history = await self._sessions.history(tenant_id, card.session_id, last=200)
        return TicketView(card, history)

    async def act(
        self, tenant_id: str, ticket_id: str, agent_id: str, action: AgentAction, text: str = ""
    ) -> EscalationCard:
        """Claim, reply, resolve or hand back; Conflict if another agent holds the ticket."""
        command = AgentCommandRequested(
            tenant_id=tenant_id,
            correlation_id=new_id("agent"),
            ticket_id=ticket_id,
            agent_id=agent_id,
            action=action,
            text=text,
        )
        raw = await self._rpc.request(command, self._queue, COMMAND_TIMEOUT_SECONDS)
        result = AgentCommandCompleted.model_validate_json(raw)
        if result.status == "not_found":
            raise NotFound(result.error or "No such ticket")
        if result.status == "conflict":
            raise Conflict(result.error or "Ticket is held by another agent")
        if result.status == "invalid" or result.card is None:
            raise InvalidInput(result.error or "Invalid command")
        return result.card
