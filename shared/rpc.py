"""Request/reply over RabbitMQ with many requests in flight at once.

FastStream's ``broker.request`` serialises every request of a process behind one lock and
re-subscribes to the reply queue each time; under load that queues retrievals behind each
other. Here each process owns one reply queue and matches replies to futures by
correlation id.
"""

from __future__ import annotations

import asyncio
import uuid

from faststream import AckPolicy
from faststream.rabbit import RabbitBroker, RabbitQueue, RabbitRouter
from faststream.rabbit.annotations import RabbitMessage
from pydantic import BaseModel

from shared.errors import DependencyTimeout
from shared.messaging import publish_confirmed
from shared.tracing import traced


class RpcClient:
    """Sends requests whose handlers' return values come back on this process's reply queue."""

    def __init__(self, broker: RabbitBroker, reply_queue: RabbitQueue) -> None:
        self._broker = broker
        self._reply_queue = reply_queue
        self._pending: dict[str, asyncio.Future[bytes]] = {}

    def router(self) -> RabbitRouter:
        """The subscriber on the reply queue; include it in the process's broker."""
        router = RabbitRouter()

        @router.subscriber(self._reply_queue, ack_policy=AckPolicy.ACK_FIRST)
        async def on_reply(message: RabbitMessage) -> None:
            """Complete the waiting request, if it has not timed out."""
            waiter = self._pending.pop(message.correlation_id, None)
            if waiter is not None and not waiter.done():
                waiter.set_result(message.body)

        return router

    async def request(self, body: BaseModel, queue: str, timeout: float) -> bytes:
        """Publish ``body`` to ``queue`` and wait for the handler's reply."""
        correlation_id = uuid.uuid4().hex
        waiter: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self._pending[correlation_id] = waiter
        try:
            with traced(f"rpc {queue}", **{"messaging.destination.name": queue}):
                # Confirmed and mandatory: a missing queue fails now, not after the timeout.
                # It expires with the wait: a worker that comes back later must not spend
                # time on requests nobody is waiting for any more.
                await publish_confirmed(
                    self._broker,
                    body,
                    queue=queue,
                    reply_to=self._reply_queue.name,
                    correlation_id=correlation_id,
                    expiration=timeout,
                )
                try:
                    return await asyncio.wait_for(waiter, timeout)
                except TimeoutError as exc:
                    raise DependencyTimeout(
                        f"No answer from {queue} within {timeout:.0f}s"
                    ) from exc
        finally:
            self._pending.pop(correlation_id, None)
