"""Stores that stay bounded and keep callers apart, against a real Redis."""

from __future__ import annotations

import pytest
import redis.asyncio as redis

from services.gateway.auth import Principal
from services.gateway.connections import ConnectionSlots
from services.gateway.stores.idempotency import RedisIdempotencyStore
from services.gateway.stores.leases import RedisLeaseCaps
from shared.conversation import TurnRecord
from shared.errors import TooManyRequests
from shared.settings import Settings
from shared.stores.sessions import RedisSessionStore
from shared.stores.turn_log import RedisTurnLog


async def test_a_lease_is_taken_under_every_cap_or_none(
    redis_client: redis.Redis, real_settings: Settings
) -> None:
    caps = RedisLeaseCaps(redis_client, real_settings.redis_prefix, 60, name="connections")
    alice = [("acme", 3), ("acme:alice", 1)]
    bob = [("acme", 3), ("acme:bob", 5)]
    assert await caps.acquire("a1", alice) is None
    assert await caps.acquire("a2", alice) == 1, "alice's own cap is full"
    assert await caps.acquire("a1", alice) is None, "a holder renews even at the cap"
    assert [await caps.acquire(h, bob) for h in ("b1", "b2", "b3")] == [None, None, 0]
    await caps.release("b1", ["acme", "acme:bob"])
    assert await caps.acquire("b3", bob) is None, "the refused one took nothing, so it fits now"


async def test_by_default_an_end_user_is_capped_but_a_backend_key_only_by_its_tenant(
    redis_client: redis.Redis, real_settings: Settings
) -> None:
    slots = ConnectionSlots(
        redis_client,
        real_settings.redis_prefix,
        per_tenant=real_settings.max_connections_per_tenant,
        per_user=real_settings.max_connections_per_user,
        per_key=real_settings.max_connections_per_key,
        lease_seconds=60,
    )
    user = Principal("acme", "client", "user:alice", user_id="alice")
    backend = Principal("acme", "client", "key_backend")
    for n in range(real_settings.max_connections_per_user):
        await slots.open(user, f"u{n}")
    with pytest.raises(TooManyRequests, match="this API key or user"):
        await slots.open(user, "one-too-many")
    others = real_settings.max_connections_per_tenant - real_settings.max_connections_per_user
    for n in range(others):
        await slots.open(backend, f"b{n}")  # one backend key may take the rest
    with pytest.raises(TooManyRequests, match="for this tenant"):
        await slots.open(backend, "past-the-tenant")


async def test_idempotency_keys_never_collide_across_callers_whose_ids_hold_separators(
    redis_client: redis.Redis, real_settings: Settings
) -> None:
    keys = RedisIdempotencyStore(redis_client, real_settings.redis_prefix, 60)
    assert await keys.claim("acme", "user:a:b", "c") is None
    await keys.complete("acme", "user:a:b", "c", '{"first": true}')
    assert await keys.claim("acme", "user:a", "b:c") is None, "another caller's own key"
    assert await keys.claim("acme", "user:a:b", "c") == '{"first": true}'


async def test_a_turn_names_its_owner_and_only_its_tenant_has_it(
    redis_client: redis.Redis, real_settings: Settings
) -> None:
    log = RedisTurnLog(redis_client, real_settings.redis_prefix, 600)
    await log.accept("acme", "t-mine", "alice")
    await log.accept("acme", "t-server")
    assert await log.owner("acme", "t-mine") == "alice"
    assert await log.owner("acme", "t-server") == ""
    assert await log.owner("globex", "t-mine") is None
    await log.append("acme", "t-mine", 1, "event 1")
    assert await log.read("acme", "t-mine", 0, block_ms=1) == [(1, "event 1")]


async def test_a_history_keeps_its_newest_messages_and_still_refuses_a_redelivered_turn(
    redis_client: redis.Redis, real_settings: Settings
) -> None:
    store = RedisSessionStore(redis_client, real_settings.redis_prefix, 600, max_messages=4)
    for n in range(5):
        turn = TurnRecord(f"t{n}", f"question {n}", f"answer {n}", "chitchat", 1.0, "neutral")
        assert (await store.record_turn("acme", "s1", turn)).recorded
    again = TurnRecord("t4", "question 4", "answer 4", "chitchat", 1.0, "neutral")
    assert not (await store.record_turn("acme", "s1", again)).recorded
    messages, total = await store.page("acme", "s1", 0, 50, newest_first=False)
    assert total == 4
    assert [m.content for m in messages] == ["question 3", "answer 3", "question 4", "answer 4"]
    session = await store.get("acme", "s1")
    assert session is not None and session.turn_count == 5
