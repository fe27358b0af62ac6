"""Request/reply clients the orchestrator uses to reach the retriever and the escalation worker."""

from __future__ import annotations

from faststream.rabbit import RabbitBroker

from shared.events import (
    CustomerMessaged,
    EscalationCard,
    EscalationRequested,
    RetrievalCompleted,
    RetrievalRequested,
)
from shared.rpc import RpcClient
from shared.stores.event_log import RedisEventLog
from shared.topology import Topology

RETRIEVAL_TIMEOUT_SECONDS = 5.0
ESCALATION_TIMEOUT_SECONDS = 10.0


class BrokerRetrieval:
    """Asks a retriever for passages."""

    def __init__(self, rpc: RpcClient, topology: Topology) -> None:
        self._rpc = rpc
        self._queue = topology.retrieval_requests.name

    async def __call__(self, request: RetrievalRequested) -> RetrievalCompleted:
        """Passages for the request."""
        body = await self._rpc.request(request, self._queue, RETRIEVAL_TIMEOUT_SECONDS)
        return RetrievalCompleted.model_validate_json(body)


class BrokerEscalation:
    """Asks the escalation worker to open a hand-off and returns its card."""

    def __init__(self, rpc: RpcClient, topology: Topology) -> None:
        self._rpc = rpc
        self._queue = topology.escalation_requests.name

    async def __call__(self, request: EscalationRequested) -> EscalationCard:
        """The card of the new (or already opened) escalation."""
        body = await self._rpc.request(request, self._queue, ESCALATION_TIMEOUT_SECONDS)
        return EscalationCard.model_validate_json(body)


class AgentForwarder:
    """Hands a customer's message to the agent holding the session: the agents' live feed and
    the escalations exchange (for other workbenches) both get it."""

    def __init__(self, broker: RabbitBroker, topology: Topology, events: RedisEventLog) -> None:
        self._broker = broker
        self._exchange = topology.escalations
        self._events = events

    async def __call__(self, message: CustomerMessaged) -> None:
        """Deliver the message."""
        await self._events.append(
            self._events.agent_feed(message.tenant_id),
            "customer_message",
            {
                "ticket_id": message.ticket_id,
                "session_id": message.session_id,
                "agent_id": message.agent_id,
                "text": message.text,
            },
        )
        await self._broker.publish(
            message,
            exchange=self._exchange,
            routing_key=f"{CustomerMessaged.routing_key}.{message.tenant_id}",
            persist=True,
        )
