"""RabbitMQ topology, declared in one place: work queues, exchanges and the dead-letter path.

Work queues are durable quorum queues: RabbitMQ counts deliveries itself and, past
``x-delivery-limit``, dead-letters the message instead of retrying it forever. Every process
declares all of it at start (``shared.messaging.declare_topology``), with these same
arguments, so a message is never published before the queue that takes it exists.
"""

from __future__ import annotations

from dataclasses import dataclass

from faststream.rabbit import ExchangeType, QueueType, RabbitExchange, RabbitQueue


@dataclass(frozen=True)
class Topology:
    """Names and declarations for one deployment (``prefix`` isolates tests and tenants' stacks)."""

    prefix: str = "frontdesk"
    max_deliveries: int = 5

    @property
    def dead_letter_exchange(self) -> RabbitExchange:
        """Where rejected and over-delivered messages go."""
        return RabbitExchange(f"{self.prefix}.dlx", type=ExchangeType.FANOUT, durable=True)

    @property
    def dead_letter_queue(self) -> RabbitQueue:
        """Holds poison messages for an operator to inspect."""
        return RabbitQueue(f"{self.prefix}.dead-letters", durable=True)

    def _work_queue(self, name: str) -> RabbitQueue:
        return RabbitQueue(
            f"{self.prefix}.{name}",
            queue_type=QueueType.QUORUM,
            durable=True,
            arguments={
                "x-dead-letter-exchange": f"{self.prefix}.dlx",
                "x-delivery-limit": self.max_deliveries,
            },
        )

    @property
    def chat_requests(self) -> RabbitQueue:
        """Turns waiting for an orchestrator."""
        return self._work_queue("chat.requested")

    @property
    def retrieval_requests(self) -> RabbitQueue:
        """Search requests waiting for a retriever (request/reply)."""
        return self._work_queue("retrieval.requested")

    @property
    def escalation_requests(self) -> RabbitQueue:
        """Hand-offs waiting for the escalation worker (request/reply)."""
        return self._work_queue("escalation.requested")

    @property
    def agent_commands(self) -> RabbitQueue:
        """Agents' claims, replies, resolutions and hand-backs (request/reply)."""
        return self._work_queue("agent.command.requested")

    @property
    def document_uploads(self) -> RabbitQueue:
        """Documents to ingest (request/reply)."""
        return self._work_queue("knowledge.upload.requested")

    @property
    def document_deletions(self) -> RabbitQueue:
        """Documents to remove (request/reply)."""
        return self._work_queue("knowledge.delete.requested")

    @property
    def document_listings(self) -> RabbitQueue:
        """Requests to list a knowledge base (request/reply)."""
        return self._work_queue("knowledge.list.requested")

    @property
    def work_queues(self) -> tuple[RabbitQueue, ...]:
        """Every work queue: shared by competing workers, drained on shutdown."""
        return (
            self.chat_requests,
            self.retrieval_requests,
            self.escalation_requests,
            self.agent_commands,
            self.document_uploads,
            self.document_deletions,
            self.document_listings,
        )

    @property
    def exchanges(self) -> tuple[RabbitExchange, ...]:
        """Every exchange of the deployment."""
        return (self.dead_letter_exchange, self.turn_control, self.escalations)

    @property
    def turn_control(self) -> RabbitExchange:
        """Fan-out of turn cancellations to every orchestrator."""
        return RabbitExchange(f"{self.prefix}.turn.control", type=ExchangeType.FANOUT, durable=True)

    @property
    def escalations(self) -> RabbitExchange:
        """Topic exchange of escalation cards; each workbench binds its own queue."""
        return RabbitExchange(f"{self.prefix}.escalations", type=ExchangeType.TOPIC, durable=True)

    def private_queue(self, owner: str, routing_key: str = "") -> RabbitQueue:
        """A per-process queue that disappears with its connection (reply and control queues)."""
        return RabbitQueue(
            f"{self.prefix}.{owner}", exclusive=True, auto_delete=True, routing_key=routing_key
        )
