"""Builds the Redis client and turns redis-py exceptions into Frontdesk's error tree."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import ParamSpec, TypeVar

import redis.asyncio as redis
from redis import exceptions as redis_errors

from shared.errors import DependencyTimeout, DependencyUnavailable
from shared.settings import Settings

P = ParamSpec("P")
T = TypeVar("T")


def connect_redis(
    settings: Settings, max_connections: int = 200, socket_timeout: float = 5
) -> redis.Redis:
    """A real Redis client for ``REDIS_URL``, or an in-process fakeredis when it is empty."""
    if not settings.redis_url:
        import fakeredis

        return fakeredis.FakeAsyncRedis(decode_responses=True)
    # A blocking pool waits for a free connection instead of failing past max_connections.
    pool = redis.BlockingConnectionPool.from_url(
        settings.redis_url,
        max_connections=max_connections,
        timeout=5,
        socket_connect_timeout=2,
        socket_timeout=socket_timeout,
        health_check_interval=15,
        decode_responses=True,
    )
    return redis.Redis(connection_pool=pool)


def translate_redis_errors(fn: Callable[P, Awaitable[T]]) -> Callable[P, Awaitable[T]]:
    """Decorator: redis timeouts and connection errors become Frontdesk errors."""

    @functools.wraps(fn)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return await fn(*args, **kwargs)
        except redis_errors.TimeoutError as exc:
            raise DependencyTimeout("Redis did not answer in time") from exc
        except (redis_errors.ConnectionError, OSError) as exc:
            raise DependencyUnavailable("Redis is unreachable") from exc

    return wrapper


class KeySpace:
    """Builds tenant-scoped Redis keys: every key starts with ``<prefix>:<tenant>:``."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    def __call__(self, tenant_id: str, *parts: str) -> str:
        return ":".join((self.prefix, tenant_id, *parts))
