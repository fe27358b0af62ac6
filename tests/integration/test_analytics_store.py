"""Outcome counters against a real Redis: each turn counts once, resolutions that do not last
are reopened, and an attacker's stream of unique questions cannot grow a day without bound."""

from __future__ import annotations

import datetime as dt
from typing import Any
from unittest import mock

import redis.asyncio as redis

from shared.analytics import MAX_GAPS_PER_DAY
from shared.conversation import Outcome, TurnRecord
from shared.settings import Settings
from shared.stores.analytics import RATING_WINDOW_SECONDS
from shared.stores.sessions import RedisSessionStore

TODAY = dt.datetime.now(dt.UTC).date()


def _turn(
    turn_id: str,
    question: str = "How long does shipping take?",
    outcome: Outcome = "resolved",
    user_id: str = "anonymous",
    **fields: Any,
) -> TurnRecord:
    return TurnRecord(
        turn_id, question, "An answer.", "knowledge_qa", 0.7, outcome, user_id, **fields
    )


async def _today(store: RedisSessionStore) -> dict[str, Any]:
    (figures,) = (await store.analytics.days("acme", TODAY, TODAY)).values()
    return figures.as_json()


async def test_a_redelivered_turn_is_counted_once(
    redis_client: redis.Redis, real_settings: Settings
) -> None:
    store = RedisSessionStore(redis_client, real_settings.redis_prefix, 600)
    for _ in range(3):
        await store.record_turn("acme", "s1", _turn("turn-1", ttft_ms=120))
    await store.record_turn("acme", "s1", _turn("turn-2", "Can I pay by card?", ttft_ms=480))
    today = await _today(store)
    assert (today["conversations"], today["turns"], today["resolved_by_bot"]) == (1, 2, 2)
    # 120 ms and 480 ms: the median lies between, read from the buckets.
    assert 100 <= today["median_time_to_first_token_ms"] <= 500


async def test_a_resolution_is_reopened_by_the_same_question_or_a_request_for_an_agent(
    redis_client: redis.Redis, real_settings: Settings
) -> None:
    store = RedisSessionStore(redis_client, real_settings.redis_prefix, 600)
    # A known customer asks again in another session: the first answer did not last.
    await store.record_turn("acme", "s1", _turn("turn-1", user_id="u1"))
    await store.record_turn(
        "acme", "s2", _turn("turn-2", "how long does SHIPPING take", user_id="u1")
    )
    # An anonymous one asks for an agent right after an answer, in the same session.
    await store.record_turn("acme", "s3", _turn("turn-3"))
    handoff = _turn("turn-4", "agent please", "neutral", handoff_reason="explicit_request")
    await store.record_turn("acme", "s3", handoff)
    # Another anonymous session asking the same question is someone else.
    await store.record_turn("acme", "s4", _turn("turn-5"))
    today = await _today(store)
    assert today["reopened"] == 2
    assert today["resolved_by_bot"] == 2  # turn-2 and turn-5 still stand
    assert today["handed_off"] == 1 and today["containment_rate"] == 0.75


async def test_a_resolution_outside_the_window_stands(
    redis_client: redis.Redis, real_settings: Settings
) -> None:
    store = RedisSessionStore(
        redis_client, real_settings.redis_prefix, 600, resolution_window_seconds=60
    )
    await store.record_turn("acme", "s1", _turn("turn-1"))
    later = dt.datetime.now(dt.UTC).timestamp() + 120
    with mock.patch("shared.stores.sessions.time.time", return_value=later):
        await store.record_turn("acme", "s1", _turn("turn-2"))
    assert (await _today(store))["reopened"] == 0


async def test_unique_unanswered_questions_stop_growing_a_day_at_its_cap(
    redis_client: redis.Redis, real_settings: Settings
) -> None:
    store = RedisSessionStore(redis_client, real_settings.redis_prefix, 600)
    for n in range(MAX_GAPS_PER_DAY + 20):
        turn = _turn(f"turn-{n}", f"question number {n}?", "unresolved", no_answer=True)
        await store.record_turn("acme", f"s{n}", turn)
    gaps = await store.analytics.gaps("acme", TODAY, TODAY, limit=MAX_GAPS_PER_DAY + 100)
    assert len(gaps) == MAX_GAPS_PER_DAY
    assert (await _today(store))["no_answer_turns"] == MAX_GAPS_PER_DAY + 20  # still counted


async def test_only_a_help_centre_answer_rated_down_becomes_a_gap(
    redis_client: redis.Redis, real_settings: Settings
) -> None:
    store = RedisSessionStore(redis_client, real_settings.redis_prefix, 600)
    await store.record_turn("acme", "s1", _turn("turn-1", "How long does shipping take?"))
    handoff = TurnRecord(
        "turn-2",
        "I want a human",
        "Connecting you.",
        "transfer_to_human",
        0.5,
        "neutral",
        handoff_reason="explicit_request",
    )
    await store.record_turn("acme", "s2", handoff)
    unanswered = _turn("turn-3", "Do you sell kites?", "unresolved", no_answer=True)
    await store.record_turn("acme", "s3", unanswered)
    for turn_id in ("turn-1", "turn-2", "turn-3"):
        assert await store.analytics.rate("acme", turn_id, "down", "") == ""
    gaps = await store.analytics.gaps("acme", TODAY, TODAY, limit=10)
    # The unanswered question counts once, not once more for its rating.
    assert sorted((g.question, g.count) for g in gaps) == [
        ("Do you sell kites?", 1),
        ("How long does shipping take?", 1),
    ]
    assert (await _today(store))["feedback"] == {"up": 0, "down": 3}


async def test_what_a_turn_leaves_behind_for_its_rating_expires_within_a_week(
    redis_client: redis.Redis, real_settings: Settings
) -> None:
    store = RedisSessionStore(redis_client, real_settings.redis_prefix, 600)
    await store.record_turn("acme", "s1", _turn("turn-1"))
    keys = [
        k
        async for k in redis_client.scan_iter(f"{real_settings.redis_prefix}:acme:analytics:turn:*")
    ]
    assert len(keys) == 1
    assert 0 < await redis_client.ttl(keys[0]) <= RATING_WINDOW_SECONDS
