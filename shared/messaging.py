"""Broker construction, confirmed publishing, draining on shutdown, and how handler errors
settle a message (ack, requeue or dead-letter)."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable, Collection
from typing import Any, ParamSpec, TypeVar

from aiormq.abc import DeliveredMessage
from faststream._internal.endpoint.subscriber.utils import MultiLock
from faststream.exceptions import NackMessage, RejectMessage
from faststream.rabbit import Channel, RabbitBroker

from shared.errors import DependencyUnavailable, PermanentError, RetryableError
from shared.observability import DEAD_LETTERED
from shared.settings import Settings
from shared.topology import Topology
from shared.tracing import broker_middlewares

P = ParamSpec("P")
T = TypeVar("T")
logger = logging.getLogger(__name__)
BROKER_DOWN = "The message broker is unavailable"
# RabbitMQ confirms in milliseconds; past this it is blocked (memory or disk alarm) or gone.
CONFIRM_TIMEOUT_SECONDS = 5.0


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
        # No wait inside FastStream's stop(): it would wait before cancelling its consumer.
        # drain() cancels first, then waits for the messages in hand.
        graceful_timeout=None,
        # A RabbitMQ back from a restart is used within a second, not aio-pika's default five.
        reconnect_interval=1.0,
        app_id=f"frontdesk-{service}",
        # With tracing on, each message carries its trace context in its headers.
        middlewares=broker_middlewares(),
    )


async def declare_topology(broker: RabbitBroker, topology: Topology) -> None:
    """Declare every exchange and queue, idempotently (the same arguments everywhere).

    Whoever publishes declares: a gateway up before any orchestrator already has the queue
    its first turn goes to, and the turn waits there for a worker instead of being dropped.
    """
    for exchange in topology.exchanges:
        await broker.declare_exchange(exchange)
    dlq = await broker.declare_queue(topology.dead_letter_queue)
    await dlq.bind(topology.dead_letter_exchange.name)
    for queue in topology.work_queues:
        await broker.declare_queue(queue)


async def start_broker(broker: RabbitBroker, topology: Topology) -> None:
    """Connect, start the subscribers, then declare the rest of the topology.

    In that order because FastStream keeps one declared queue per name: a queue declared
    first on the default channel would be consumed there, under the default channel's
    prefetch instead of its subscriber's own (the orchestrator's TURN_PREFETCH).
    """
    await broker.connect()
    await broker.start()
    await declare_topology(broker, topology)


async def publish_confirmed(
    broker: RabbitBroker, message: Any, *, mandatory: bool = True, **target: Any
) -> None:
    """Publish and wait until RabbitMQ confirms it; with ``mandatory``, a queue must take it.

    Raises DependencyUnavailable when RabbitMQ is unreachable, refuses the message, does not
    confirm in time, or (mandatory) has no queue for it: never a silent drop.
    """
    try:
        result = await broker.publish(
            message, mandatory=mandatory, timeout=CONFIRM_TIMEOUT_SECONDS, **target
        )
    except Exception as exc:  # aio-pika raises many unrelated types when RabbitMQ is down
        raise DependencyUnavailable(BROKER_DOWN) from exc
    # With confirms on, aio-pika hands back the returned message instead of an ack when
    # RabbitMQ could not route a mandatory one.
    if isinstance(result, DeliveredMessage):
        where = target.get("queue") or target.get("exchange")
        name = getattr(where, "name", where)
        logger.error("RabbitMQ has no queue for %s; the message was returned", name)
        raise DependencyUnavailable(f"No queue takes messages for {name}")


async def drain(broker: RabbitBroker, queues: Collection[str], timeout: float) -> None:
    """Stop taking messages from ``queues``, then wait up to ``timeout`` for those in hand.

    Consumers are cancelled first, so RabbitMQ hands new messages to the other workers at
    once; the process's other subscribers (replies, control) keep running meanwhile.
    """
    working = [
        s
        for s in broker.subscribers
        if (queue := getattr(s, "queue", None)) is not None and queue.name in queues
    ]
    await asyncio.gather(*(s.stop() for s in working))  # cancels at once: no graceful_timeout
    in_hand = [s.lock for s in working if isinstance(s.lock, MultiLock)]
    busy = sum(lock.qsize for lock in in_hand)
    if busy:
        logger.info("draining: waiting up to %.0fs for %d message(s) in hand", timeout, busy)
        await asyncio.gather(*(lock.wait_release(timeout) for lock in in_hand))
        left = sum(lock.qsize for lock in in_hand)
        if left:
            logger.warning("drain timed out; %d message(s) go back to the queue", left)


def settle_errors(handler: Callable[P, Awaitable[T]]) -> Callable[P, Awaitable[T]]:
    """Retryable failures are requeued (bounded by the queue's delivery limit); permanent
    ones are dead-lettered at once."""
    DEAD_LETTERED.labels(handler=handler.__name__)  # exported as 0 from the start

    @functools.wraps(handler)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return await handler(*args, **kwargs)
        except RetryableError as exc:
            logger.warning("%s failed, will retry: %s", handler.__name__, exc.message)
            raise NackMessage() from exc
        except PermanentError as exc:
            logger.error("%s failed for good, dead-lettering: %s", handler.__name__, exc.message)
            DEAD_LETTERED.labels(handler=handler.__name__).inc()
            raise RejectMessage() from exc

    return wrapper
