"""Request/reply clients the orchestrator uses to reach the retriever and the escalation worker."""

from __future__ import annotations

import logging

from faststream.exceptions import FastStreamException
from faststream.rabbit import RabbitBroker

from shared.errors import DependencyTimeout, DependencyUnavailable
from shared.events import (
    EscalationCard,
    EscalationRequested,
    RetrievalCompleted,
    RetrievalRequested,
)
from shared.topology import Topology

logger = logging.getLogger(__name__)
RETRIEVAL_TIMEOUT_SECONDS = 5.0
ESCALATION_TIMEOUT_SECONDS = 10.0


async def _request(broker: RabbitBroker, body: object, queue: str, timeout: float) -> bytes:
    try:
        response = await broker.request(body, queue=queue, timeout=timeout)
    except TimeoutError as exc:
        raise DependencyTimeout(f"No answer from {queue} within {timeout:.0f}s") from exc
    except (FastStreamException, ConnectionError, OSError) as exc:
        raise DependencyUnavailable(f"Could not reach {queue}") from exc
    return response.body


class BrokerRetrieval:
    """Asks a retriever for passages."""

    def __init__(self, broker: RabbitBroker, topology: Topology) -> None:
        self._broker = broker
        self._queue = topology.retrieval_requests.name

    async def __call__(self, request: RetrievalRequested) -> RetrievalCompleted:
        """Passages for the request."""
        body = await _request(self._broker, request, self._queue, RETRIEVAL_TIMEOUT_SECONDS)
        return RetrievalCompleted.model_validate_json(body)


class BrokerEscalation:
    """Asks the escalation worker to open a hand-off and returns its card."""

    def __init__(self, broker: RabbitBroker, topology: Topology) -> None:
        self._broker = broker
        self._queue = topology.escalation_requests.name

    async def __call__(self, request: EscalationRequested) -> EscalationCard:
        """The card of the new (or already opened) escalation."""
        body = await _request(self._broker, request, self._queue, ESCALATION_TIMEOUT_SECONDS)
        return EscalationCard.model_validate_json(body)
