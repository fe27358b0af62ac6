"""Request/reply clients the orchestrator uses to reach the retriever and the escalation worker."""

from __future__ import annotations

from shared.events import (
    EscalationCard,
    EscalationRequested,
    RetrievalCompleted,
    RetrievalRequested,
)
from shared.rpc import RpcClient
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
