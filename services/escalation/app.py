"""Wiring of the escalation worker."""

from __future__ import annotations

import redis.asyncio as redis
from faststream.rabbit import RabbitRouter
from starlette.applications import Starlette

from services.escalation.handlers import build_router
from services.escalation.support_hours import SupportHours
from shared.messaging import topology_for
from shared.settings import Settings
from shared.stores.escalations import CARD_TTL_SECONDS, RedisEscalationStore
from shared.stores.event_log import RedisEventLog
from shared.stores.redis_client import connect_redis
from shared.stores.sessions import RedisSessionStore
from shared.worker import create_worker_app


def create_router(settings: Settings, client: redis.Redis) -> RabbitRouter:
    """The escalation worker's subscribers over the given Redis."""
    return build_router(
        RedisEscalationStore(client, settings.redis_prefix, CARD_TTL_SECONDS),
        RedisSessionStore.for_settings(client, settings),
        RedisEventLog(client, settings.redis_prefix, settings.session_ttl_seconds),
        topology_for(settings),
        SupportHours.parse(
            settings.support_hours, settings.support_timezone, settings.support_days
        ),
    )


def create_app(settings: Settings | None = None) -> Starlette:
    """The escalation worker as its own process."""
    settings = settings or Settings()
    client = connect_redis(settings)
    return create_worker_app(
        settings, "escalation", lambda _: create_router(settings, client), client
    )
