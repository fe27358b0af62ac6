"""Broker construction and how handler errors settle a message (ack, requeue or dead-letter)."""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from typing import ParamSpec, TypeVar

from faststream.exceptions import NackMessage, RejectMessage
from faststream.rabbit import Channel, RabbitBroker

from shared.errors import PermanentError, RetryableError
from shared.settings import Settings
from shared.topology import Topology

P = ParamSpec("P")
T = TypeVar("T")
logger = logging.getLogger(__name__)


def topology_for(settings: Settings) -> Topology:
    """The topology named by ``BROKER_PREFIX``."""
    return Topology(prefix=settings.broker_prefix, max_deliveries=settings.max_deliveries)


def build_broker(settings: Settings, service: str) -> RabbitBroker:
    """A RabbitMQ broker with bounded prefetch for one service.

    FastStream's Prometheus middleware is left out on purpose: it cost about 10% of the
    gateway's and orchestrator's CPU per turn (bench, 20 concurrent streams), and the
    ``frontdesk_*`` metrics plus RabbitMQ's own queue metrics cover what operators watch.
    """
    return RabbitBroker(
        settings.rabbitmq_url or "amqp://guest:guest@127.0.0.1:5672/",
        default_channel=Channel(prefetch_count=settings.worker_prefetch),
        # FastStream logs every message at INFO by default; that is noise at our volumes.
        log_level=logging.DEBUG,
        graceful_timeout=10.0,
        app_id=f"frontdesk-{service}",
    )


async def declare_topology(broker: RabbitBroker, topology: Topology) -> None:
    """Declare what subscribers do not: the dead-letter path and the escalations exchange."""
    dlx = await broker.declare_exchange(topology.dead_letter_exchange)
    dlq = await broker.declare_queue(topology.dead_letter_queue)
    await dlq.bind(dlx)
    await broker.declare_exchange(topology.escalations)
    await broker.declare_exchange(topology.turn_control)


def settle_errors(handler: Callable[P, Awaitable[T]]) -> Callable[P, Awaitable[T]]:
    """Retryable failures are requeued (bounded by the queue's delivery limit); permanent
    ones are dead-lettered at once."""

    @functools.wraps(handler)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return await handler(*args, **kwargs)
        except RetryableError as exc:
            logger.warning("%s failed, will retry: %s", handler.__name__, exc.message)
            raise NackMessage() from exc
        except PermanentError as exc:
            logger.error("%s failed for good, dead-lettering: %s", handler.__name__, exc.message)
            raise RejectMessage() from exc

    return wrapper
