"""Tenant-scoped conversation sessions in Redis: state hash, message history, committed turns.

A history keeps its newest ``max_messages`` messages; ``turn_count`` still counts every turn.
"""

from __future__ import annotations

import json
import time
from typing import Any

import redis.asyncio as redis

from shared.conversation import (
    ANONYMOUS,
    FAILED_ATTEMPTS_CHANGE,
    AgentStatus,
    Message,
    Session,
    TurnCounts,
    TurnRecord,
)
from shared.observability import RESOLUTIONS
from shared.settings import Settings
from shared.stores.analytics import COUNT_TURN, RedisAnalytics
from shared.stores.redis_client import KeySpace, translate_redis_errors
from shared.stores.text_redis import TextRedis

MAX_SESSIONS_PER_USER = 1_000  # a user's list keeps the newest
MAX_HISTORY_MESSAGES = 200  # a history keeps the newest (MAX_HISTORY_MESSAGES)
MIN_TURN_IDS = 100  # a redelivery comes within minutes: remembering this many ids is plenty
DEFAULT_RESOLUTION_WINDOW_SECONDS = 86_400

# One round trip, atomic and idempotent: a turn id already recorded changes nothing, so a
# redelivered turn can never appear twice in the history. The history and the recorded turn
# ids (scored by turn number) keep only their newest entries. The failed-attempts change comes
# from the counter rule (shared/conversation.py); the script only applies it.
# KEYS: the session's state, history and turn ids, its user's session index.
# ARGV[1]: the JSON that record_turn builds, its fields named as read here.
# A new turn is also counted for analytics (COUNT_TURN), in the same atomic step.
_RECORD_TURN = """
local state, history, turn_ids, user_index = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local t = cjson.decode(ARGV[1])
if redis.call('ZSCORE', turn_ids, t.turn_id) then
  return {0, tonumber(redis.call('HGET', state, 'turn_count') or '0'),
          tonumber(redis.call('HGET', state, 'failed_attempts') or '0'), 0}
end
if redis.call('HSETNX', state, 'created_at', t.now) == 1 and t.listed then
  redis.call('ZADD', user_index, t.now, t.session_id)
  redis.call('ZREMRANGEBYRANK', user_index, 0, -1 - t.max_sessions)
  redis.call('EXPIRE', user_index, t.ttl)
end
redis.call('HSETNX', state, 'user_id', t.user_id)
redis.call('HSETNX', state, 'channel', t.channel)
redis.call('HSETNX', state, 'agent_status', 'bot')
local turns = redis.call('HINCRBY', state, 'turn_count', 1)
redis.call('ZADD', turn_ids, turns, t.turn_id)
redis.call('ZREMRANGEBYRANK', turn_ids, 0, -1 - t.max_turn_ids)
local failed
if t.failed_attempts == 'add_one' then
  failed = redis.call('HINCRBY', state, 'failed_attempts', 1)
elseif t.failed_attempts == 'reset' then
  redis.call('HSET', state, 'failed_attempts', 0)
  failed = 0
else
  failed = tonumber(redis.call('HGET', state, 'failed_attempts') or '0')
end
redis.call('HSET', state, 'current_intent', t.intent, 'emotion_score', t.emotion_score,
           'updated_at', t.now)
"""
_RECORD_TURN += COUNT_TURN
_RECORD_TURN += """
if t.reply == '' then
  redis.call('RPUSH', history, t.question)
else
  redis.call('RPUSH', history, t.question, t.reply)
end
redis.call('LTRIM', history, -t.max_messages, -1)
for _, key in ipairs({state, history, turn_ids}) do redis.call('EXPIRE', key, t.ttl) end
return {1, turns, failed, reopened}
"""


def _count_resolution(analytics: dict[str, Any], reopened: bool) -> None:
    """The Prometheus side of what COUNT_TURN just counted for the turn."""
    if analytics["resolved"]:
        RESOLUTIONS.labels(outcome="resolved_by_bot").inc()
    if analytics["handoff"]:
        RESOLUTIONS.labels(outcome="handed_off").inc()
    if analytics["no_answer"]:
        RESOLUTIONS.labels(outcome="no_answer").inc()
    if reopened:
        RESOLUTIONS.labels(outcome="reopened").inc()


def _session_from_hash(session_id: str, raw: dict[str, str]) -> Session:
    return Session(
        session_id=session_id,
        user_id=raw.get("user_id", ""),
        channel=raw.get("channel", "api"),
        created_at=float(raw.get("created_at", "0")),
        turn_count=int(raw.get("turn_count", "0")),
        failed_attempts=int(raw.get("failed_attempts", "0")),
        current_intent=raw.get("current_intent", ""),
        emotion_score=float(raw.get("emotion_score", "1.0")),
        agent_status=raw.get("agent_status", "bot"),  # type: ignore[arg-type]
        ticket_id=raw.get("ticket_id", ""),
        agent_id=raw.get("agent_id", ""),
        name=raw.get("name", ""),
    )


class RedisSessionStore:
    """Sessions keyed ``<prefix>:<tenant>:session:{<id>}``; idle sessions expire after the TTL."""

    def __init__(
        self,
        client: redis.Redis,
        prefix: str,
        ttl_seconds: int,
        max_messages: int = MAX_HISTORY_MESSAGES,
        resolution_window_seconds: int = DEFAULT_RESOLUTION_WINDOW_SECONDS,
    ) -> None:
        self._redis = TextRedis(client)
        self._key = KeySpace(prefix)
        self._ttl = ttl_seconds
        self._max_messages = max_messages
        self.analytics = RedisAnalytics(client, prefix, resolution_window_seconds)
        self._record = self._redis.script(_RECORD_TURN, "session.record_turn")

    def _keys(self, tenant_id: str, session_id: str) -> tuple[str, str, str]:
        # The hash tag keeps a session's three keys in one Redis Cluster slot for the script.
        base = self._key(tenant_id, "session", "{" + session_id + "}")
        return base, f"{base}:history", f"{base}:turn-ids"

    def _user_index(self, tenant_id: str, user_id: str) -> str:
        return self._key(tenant_id, "user", "{" + user_id + "}", "sessions")

    async def _index(self, tenant_id: str, user_id: str, session_id: str, created: float) -> None:
        index = self._user_index(tenant_id, user_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.zadd(index, {session_id: created})
            pipe.zremrangebyrank(index, 0, -1 - MAX_SESSIONS_PER_USER)
            pipe.expire(index, self._ttl)
            await pipe.execute()

    @classmethod
    def for_settings(cls, client: redis.Redis, settings: Settings) -> RedisSessionStore:
        """The store as a service configures it."""
        return cls(
            client,
            settings.redis_prefix,
            settings.session_ttl_seconds,
            settings.max_history_messages,
            settings.resolution_window_seconds,
        )

    @translate_redis_errors
    async def open(
        self, tenant_id: str, session_id: str, user_id: str, channel: str, last: int = 20
    ) -> tuple[Session, list[Message]]:
        """The session (created with these owner fields if new) and its last messages."""
        state, history, turns = self._keys(tenant_id, session_id)
        now = time.time()
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hsetnx(state, "created_at", repr(now))
            pipe.hsetnx(state, "user_id", user_id)
            pipe.hsetnx(state, "channel", channel)
            pipe.hsetnx(state, "agent_status", "bot")
            for key in (state, history, turns):
                pipe.expire(key, self._ttl)
            pipe.hgetall(state)
            if last:
                pipe.lrange(history, -last, -1)
            results = await pipe.execute()
        state_raw, history_raw = (results[-2], results[-1]) if last else (results[-1], [])
        if results[0] and user_id != ANONYMOUS:  # created just now: list it under its user
            await self._index(tenant_id, user_id, session_id, now)
        messages = [Message(**json.loads(item)) for item in history_raw]
        return _session_from_hash(session_id, state_raw), messages

    async def get_or_create(
        self, tenant_id: str, session_id: str, user_id: str, channel: str
    ) -> Session:
        """The session, created with these owner fields if it did not exist."""
        session, _ = await self.open(tenant_id, session_id, user_id, channel, last=0)
        return session

    @translate_redis_errors
    async def get(self, tenant_id: str, session_id: str) -> Session | None:
        """The session, or None when it does not exist (or expired)."""
        raw = await self._redis.hgetall(self._keys(tenant_id, session_id)[0])
        return _session_from_hash(session_id, raw) if raw else None

    @translate_redis_errors
    async def history(self, tenant_id: str, session_id: str, last: int = 20) -> list[Message]:
        """The last ``last`` messages, oldest first."""
        raw = await self._redis.lrange(self._keys(tenant_id, session_id)[1], -last, -1)
        return [Message(**json.loads(item)) for item in raw]

    @translate_redis_errors
    async def record_turn(self, tenant_id: str, session_id: str, turn: TurnRecord) -> TurnCounts:
        """Append the turn's two messages and update counters, at most once per turn id.

        A session that does not exist yet is created with the turn's owner fields.
        """
        now = time.time()
        user = Message("user", turn.user_message, now, turn.turn_id)
        bot = Message("assistant", turn.reply, now, turn.turn_id, turn.stopped)
        keys = self._keys(tenant_id, session_id)
        analytics = self.analytics.turn_fields(tenant_id, keys[0], self._ttl, turn, now)
        recorded, turn_count, failed, reopened = await self._record.integers(
            keys=[*keys, self._user_index(tenant_id, turn.user_id)],
            args=[
                json.dumps(
                    {
                        "turn_id": turn.turn_id,
                        "session_id": session_id,
                        "user_id": turn.user_id,
                        "channel": turn.channel,
                        "listed": turn.user_id != ANONYMOUS,
                        "now": repr(now),  # a string: a Lua number would lose digits
                        "question": json.dumps(user.__dict__),
                        "reply": json.dumps(bot.__dict__) if turn.reply else "",
                        "intent": turn.intent,
                        "emotion_score": repr(turn.emotion_score),
                        "failed_attempts": FAILED_ATTEMPTS_CHANGE[turn.outcome],
                        "ttl": self._ttl,
                        "max_sessions": MAX_SESSIONS_PER_USER,
                        "max_messages": self._max_messages,
                        "max_turn_ids": max(self._max_messages, MIN_TURN_IDS),
                        "analytics": analytics,
                    }
                )
            ],
        )
        if recorded:
            _count_resolution(analytics, bool(reopened))
        return TurnCounts(bool(recorded), turn_count, failed)

    async def rate_agent(self, tenant_id: str, session_id: str, score: int) -> bool:
        """The customer's 1-5 score of the agent in this session; False without one."""
        state = self._keys(tenant_id, session_id)[0]
        return await self.analytics.rate_agent(tenant_id, state, score)

    @translate_redis_errors
    async def set_agent_status(
        self,
        tenant_id: str,
        session_id: str,
        status: AgentStatus,
        ticket_id: str = "",
        agent_id: str = "",
    ) -> None:
        """Record who answers this session: the bot, or a human agent (and on which ticket)."""
        await self._redis.hset(
            self._keys(tenant_id, session_id)[0],
            mapping={"agent_status": status, "ticket_id": ticket_id, "agent_id": agent_id},
        )

    @translate_redis_errors
    async def append_message(self, tenant_id: str, session_id: str, message: Message) -> None:
        """Add one message (an agent's reply, an opener) to the history."""
        _, history, _ = self._keys(tenant_id, session_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.rpush(history, json.dumps(message.__dict__))
            pipe.ltrim(history, -self._max_messages, -1)
            pipe.expire(history, self._ttl)
            await pipe.execute()

    @translate_redis_errors
    async def page(
        self, tenant_id: str, session_id: str, offset: int, limit: int, newest_first: bool
    ) -> tuple[list[Message], int]:
        """A page of the history and the total number of messages."""
        _, history, _ = self._keys(tenant_id, session_id)
        total = await self._redis.llen(history)
        if newest_first:
            end = total - 1 - offset
            start = max(0, end - limit + 1)
            raw = list(reversed(await self._redis.lrange(history, start, end))) if end >= 0 else []
        else:
            raw = await self._redis.lrange(history, offset, offset + limit - 1)
        return [Message(**json.loads(item)) for item in raw], total

    @translate_redis_errors
    async def delete(self, tenant_id: str, session_id: str) -> bool:
        """Remove the session and its history; False if it did not exist."""
        keys = self._keys(tenant_id, session_id)
        user_id = await self._redis.hget(keys[0], "user_id")
        if user_id is not None:
            await self._redis.zrem(self._user_index(tenant_id, user_id), session_id)
        return bool(await self._redis.delete(*keys))

    @translate_redis_errors
    async def rename(self, tenant_id: str, session_id: str, name: str) -> Session | None:
        """Give the session a display name; None if it does not exist."""
        state = self._keys(tenant_id, session_id)[0]
        if not await self._redis.exists(state):
            return None
        await self._redis.hset(state, "name", name)
        return await self.get(tenant_id, session_id)

    @translate_redis_errors
    async def of_user(
        self, tenant_id: str, user_id: str, offset: int, limit: int
    ) -> tuple[list[Session], int]:
        """A user's live sessions, newest first, and how many there are."""
        index = self._user_index(tenant_id, user_id)
        ids = await self._redis.zrevrange(index, 0, -1)
        async with self._redis.pipeline(transaction=False) as pipe:
            for session_id in ids:
                pipe.hgetall(self._keys(tenant_id, session_id)[0])
            states = await pipe.execute()
        expired = [sid for sid, raw in zip(ids, states, strict=True) if not raw]
        if expired:  # sessions expire on their own; the index learns it here
            await self._redis.zrem(index, *expired)
        live = [_session_from_hash(sid, raw) for sid, raw in zip(ids, states, strict=True) if raw]
        return live[offset : offset + limit], len(live)

    @translate_redis_errors
    async def reset(self, tenant_id: str, session_id: str) -> bool:
        """Forget the conversation but keep the session (owner fields stay)."""
        state, history, turns = self._keys(tenant_id, session_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.exists(state)
            pipe.delete(history, turns)
            pipe.hset(
                state,
                mapping={
                    "turn_count": 0,
                    "failed_attempts": 0,
                    "current_intent": "",
                    "agent_status": "bot",
                    "ticket_id": "",
                    "agent_id": "",
                },
            )
            existed, *_ = await pipe.execute()
        if not existed:
            await self._redis.delete(state)
        return bool(existed)
