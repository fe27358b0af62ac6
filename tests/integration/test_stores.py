"""Sessions, hot cache and LLM leases against a real Redis."""

from __future__ import annotations

import redis.asyncio as redis

from services.gateway.stores.leases import RedisLeasePool
from shared.conversation import CachedAnswer, TurnRecord
from shared.settings import Settings
from shared.stores.hot_cache import RedisHotCache
from shared.stores.sessions import RedisSessionStore
from shared.stores.turn_log import RedisTurnLog


def _turn(turn_id: str, outcome: str = "resolved") -> TurnRecord:
    return TurnRecord(turn_id, "question?", "answer.", "knowledge_qa", 0.7, outcome)  # type: ignore[arg-type]


async def test_a_turn_is_recorded_once_even_if_delivered_twice(
    redis_client: redis.Redis, real_settings: Settings
) -> None:
    store = RedisSessionStore(redis_client, real_settings.redis_prefix, 600)
    await store.get_or_create("acme", "s1", "u1", "web")
    first = await store.record_turn("acme", "s1", _turn("t1"))
    again = await store.record_turn("acme", "s1", _turn("t1"))
    assert (first.recorded, first.turn_count) == (True, 1)
    assert (again.recorded, again.turn_count) == (False, 1)
    history = await store.history("acme", "s1")
    assert [(m.role, m.content) for m in history] == [
        ("user", "question?"),
        ("assistant", "answer."),
    ]


async def test_failed_attempts_count_unresolved_turns_and_reset_on_success(
    redis_client: redis.Redis, real_settings: Settings
) -> None:
    store = RedisSessionStore(redis_client, real_settings.redis_prefix, 600)
    outcomes = ["unresolved", "unresolved", "neutral", "resolved", "unresolved"]
    failed = [
        (await store.record_turn("acme", "s2", _turn(f"t{i}", o))).failed_attempts
        for i, o in enumerate(outcomes)
    ]
    assert failed == [1, 2, 2, 0, 1]


async def test_sessions_expire_and_are_tenant_scoped(
    redis_client: redis.Redis, real_settings: Settings
) -> None:
    store = RedisSessionStore(redis_client, real_settings.redis_prefix, 600)
    created = await store.get_or_create("acme", "shared-id", "u1", "app")
    assert created.channel == "app"
    assert await store.get("globex", "shared-id") is None
    ttl = await redis_client.ttl(f"{real_settings.redis_prefix}:acme:session:{{shared-id}}")
    assert 0 < ttl <= 600


async def test_cache_hits_normalised_questions_until_invalidated(
    redis_client: redis.Redis, real_settings: Settings
) -> None:
    cache = RedisHotCache(redis_client, real_settings.redis_prefix, 600)
    answer = CachedAnswer("3-5 business days.", "knowledge_qa", ["ShippingGuide.md"], 0.75)
    await cache.put("acme", "How long is shipping?", answer, await cache.epoch("acme"))
    assert await cache.lookup("acme", "  how long is SHIPPING ") == (answer, 0)
    assert (await cache.lookup("globex", "How long is shipping?"))[0] is None
    await cache.invalidate("acme")
    assert await cache.lookup("acme", "How long is shipping?") == (None, 1)


async def test_an_answer_composed_before_an_invalidation_is_never_served(
    redis_client: redis.Redis, real_settings: Settings
) -> None:
    cache = RedisHotCache(redis_client, real_settings.redis_prefix, 600)
    epoch_when_started = await cache.epoch("acme")
    await cache.invalidate("acme")  # the policy changed while the answer was being written
    await cache.put("acme", "q", CachedAnswer("old", "knowledge_qa", [], 0.75), epoch_when_started)
    assert (await cache.lookup("acme", "q"))[0] is None


async def test_lease_pool_caps_concurrency_and_frees_expired_leases(
    redis_client: redis.Redis, real_settings: Settings
) -> None:
    pool = RedisLeasePool(
        redis_client, real_settings.redis_prefix, limit=2, lease_seconds=600, name="llm"
    )
    assert await pool.acquire("a") and await pool.acquire("b")
    assert not await pool.acquire("c")
    assert await pool.acquire("a"), "a holder renews its own lease even at the cap"
    assert await pool.acquire("c", scope="acme"), "another scope has its own cap"
    await pool.release("a")
    assert await pool.acquire("c")

    dying = RedisLeasePool(
        redis_client, real_settings.redis_prefix + "x", limit=1, lease_seconds=-1, name="llm"
    )  # already expired: its holder "died"
    assert await dying.acquire("ghost")
    assert await dying.acquire("next")


async def test_recording_a_turn_creates_a_missing_session(
    redis_client: redis.Redis, real_settings: Settings
) -> None:
    store = RedisSessionStore(redis_client, real_settings.redis_prefix, 600)
    turn = TurnRecord("t1", "q?", "a.", "knowledge_qa", 0.7, "resolved", "u-9", "wechat")
    await store.record_turn("acme", "fresh", turn)
    session = await store.get("acme", "fresh")
    assert session is not None
    assert (session.user_id, session.channel, session.turn_count) == ("u-9", "wechat", 1)
    assert session.agent_status == "bot"


async def test_a_turn_log_lost_mid_turn_still_expires_once_the_turn_ends(
    redis_client: redis.Redis, real_settings: Settings
) -> None:
    log = RedisTurnLog(redis_client, real_settings.redis_prefix, 600)
    await log.accept("acme", "t-1")
    await log.append("acme", "t-1", 1, '{"type": "meta"}')
    (stream,) = await redis_client.keys(f"{real_settings.redis_prefix}*t-1*events")
    await redis_client.delete(stream)  # Redis restarted empty while the turn ran
    await log.append("acme", "t-1", 2, '{"type": "token"}')
    await log.append("acme", "t-1", 3, '{"type": "done"}', final=True)

    assert 0 < await redis_client.ttl(stream) <= 600
    assert await log.last_event("acme", "t-1") == (3, '{"type": "done"}')
