"""Builds the Redis client and turns redis-py exceptions into Frontdesk's error tree.

A dropped connection or a restarted Redis costs a retry, not a failed request: every command
is retried with exponential backoff on connection errors, timeouts and BUSY/LOADING, on a
fresh connection. Scripts survive a restart too: redis-py's Script reloads itself when
EVALSHA answers NOSCRIPT.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, ParamSpec, TypeVar

import redis.asyncio as redis
from redis import exceptions as redis_errors
from redis.asyncio.retry import Retry
from redis.backoff import EqualJitterBackoff

from shared.errors import DependencyTimeout, DependencyUnavailable
from shared.settings import Settings

P = ParamSpec("P")
T = TypeVar("T")
# Backoff doubles from 0.1 s to 1 s, half of it random: the retries span 1.7 to 3.4 s, over a
# restart's gap, and a Redis that is really down still gets its 503 within a few seconds.
RETRIES = 5
RETRY_ON = (redis_errors.ConnectionError, redis_errors.TimeoutError, redis_errors.BusyLoadingError)


def _retry() -> Retry:
    return Retry(EqualJitterBackoff(cap=1.0, base=0.1), RETRIES, RETRY_ON)


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
        # A connection idle this long is PINGed before use (and replaced if dead).
        health_check_interval=15,
        retry=_retry(),
        decode_responses=True,
    )
    return redis.Redis(connection_pool=pool)


def translate_redis_errors(
    fn: Callable[P, Awaitable[T]],
) -> Callable[P, Coroutine[Any, Any, T]]:
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
