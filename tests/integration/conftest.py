"""Integration fixtures: real Redis and RabbitMQ, fresh key and queue prefixes per test."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import redis.asyncio as redis

from shared.settings import Settings
from shared.stores.redis_client import connect_redis


@pytest.fixture
async def redis_client(real_settings: Settings) -> AsyncIterator[redis.Redis]:
    client = connect_redis(real_settings)
    yield client
    keys = [k async for k in client.scan_iter(f"{real_settings.redis_prefix}:*")]
    if keys:
        await client.delete(*keys)
    await client.aclose()
