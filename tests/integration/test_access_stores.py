"""API keys, rate limits and turn logs against a real Redis."""

from __future__ import annotations

import asyncio

import pytest
import redis.asyncio as redis

from services.gateway.app import FEED_SOCKET_TIMEOUT
from services.gateway.stores.api_keys import RedisApiKeyStore
from services.gateway.stores.rate_limits import RedisRateLimiter
from shared.conversation import TurnRecord
from shared.errors import InvalidInput, NotFound
from shared.settings import Settings
from shared.stores.redis_client import connect_redis
from shared.stores.sessions import RedisSessionStore
from shared.stores.turn_log import RedisTurnLog


async def test_keys_are_stored_hashed_and_revoked_at_once(
    redis_client: redis.Redis, real_settings: Settings
) -> None:
    store = RedisApiKeyStore(redis_client, real_settings.redis_prefix)
    plain, issued = await store.create("acme", "agent", "alice")
    assert (await store.lookup(plain)) == issued
    stored = [
        value
        async for key in redis_client.scan_iter(f"{real_settings.redis_prefix}:*")
        for value in (await redis_client.hgetall(key)).values()
    ]
    assert stored and not any(plain in value for value in stored), "only hashes are kept"
    assert [k.key_id for k in await store.list("acme")] == [issued.key_id]
    assert await store.list("globex") == []
    await store.revoke(issued.key_id)
    assert await store.lookup(plain) is None
    with pytest.raises(NotFound):
        await store.revoke(issued.key_id)
    with pytest.raises(InvalidInput, match="name"):
        await store.create("acme", "agent")  # an agent key names its agent


async def test_concurrent_requests_never_exceed_the_limit(
    redis_client: redis.Redis, real_settings: Settings
) -> None:
    limiter = RedisRateLimiter(redis_client, real_settings.redis_prefix, per_key=10, per_tenant=0)
    decisions = await asyncio.gather(*(limiter.hit("acme", "k1") for _ in range(25)))
    assert sum(d.allowed for d in decisions) == 10
    assert (await limiter.hit("globex", "k1")).allowed, "tenants have separate counters"


async def test_a_turn_log_replays_in_order_after_any_event(
    redis_client: redis.Redis, real_settings: Settings
) -> None:
    log = RedisTurnLog(redis_client, real_settings.redis_prefix, 600)
    await log.accept("acme", "t1")
    assert await log.exists("acme", "t1") and not await log.exists("globex", "t1")
    assert await log.read("acme", "t1", 0, block_ms=1) == []
    for seq in range(1, 6):
        await log.append("acme", "t1", seq, f"event {seq}")
    assert [s for s, _ in await log.read("acme", "t1", 0, block_ms=1)] == [1, 2, 3, 4, 5]
    assert await log.read("acme", "t1", 3, block_ms=1) == [(4, "event 4"), (5, "event 5")]
    assert await log.last_seq("acme", "t1") == 5


async def test_a_users_sessions_are_listed_newest_first_and_forget_expired_ones(
    redis_client: redis.Redis, real_settings: Settings
) -> None:
    store = RedisSessionStore(redis_client, real_settings.redis_prefix, 600)
    await store.get_or_create("acme", "s-old", "u1", "web")
    turn = TurnRecord("t1", "hi", "hello", "chitchat", 1.0, "neutral", "u1", "web")
    await store.record_turn("acme", "s-new", turn)  # a session created by its first turn
    sessions, total = await store.of_user("acme", "u1", 0, 10)
    assert [s.session_id for s in sessions] == ["s-new", "s-old"] and total == 2
    await redis_client.delete(
        *[k async for k in redis_client.scan_iter(f"{real_settings.redis_prefix}:*s-old*")]
    )
    sessions, total = await store.of_user("acme", "u1", 0, 10)
    assert [s.session_id for s in sessions] == ["s-new"] and total == 1
    assert await store.of_user("globex", "u1", 0, 10) == ([], 0)
    await store.get_or_create("acme", "s-anon", "anonymous", "web")
    assert await store.of_user("acme", "anonymous", 0, 10) == ([], 0), "not one person"


async def test_a_resumed_reader_blocks_longer_than_the_usual_socket_timeout(
    redis_client: redis.Redis, real_settings: Settings
) -> None:
    # The gateway's feed pool, as app.py builds it: a reader waits out quiet LLM pauses.
    feeds = connect_redis(real_settings, max_connections=2, socket_timeout=FEED_SOCKET_TIMEOUT)
    reader = RedisTurnLog(feeds, real_settings.redis_prefix, 600)
    writer = RedisTurnLog(redis_client, real_settings.redis_prefix, 600)
    await writer.accept("acme", "quiet")

    async def after_a_pause() -> None:
        await asyncio.sleep(5.5)  # longer than the default 5 s socket timeout
        await writer.append("acme", "quiet", 1, "late event")

    pending = asyncio.create_task(after_a_pause())
    try:
        assert await reader.read("acme", "quiet", 0, block_ms=8_000) == [(1, "late event")]
    finally:
        await pending
        await feeds.aclose()
