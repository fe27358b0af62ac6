"""Outcome analytics in Redis: day counters per tenant, knowledge gaps, ratings on turns.

A turn is counted by the script that records it in its session (sessions.py runs
``COUNT_TURN`` there), once per turn id, so redeliveries never count twice. Each tenant has
one hash of counters per UTC day, one hash of unanswered questions per day, and a small
hash per recorded turn (who asked, which day, what) that ratings are checked against.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from dataclasses import dataclass
from typing import Any, Literal

import redis.asyncio as redis

from shared.analytics import (
    MAX_GAP_CHARS,
    MAX_GAP_EXAMPLES,
    MAX_GAPS_PER_DAY,
    RETENTION_DAYS,
    Figures,
    day_of,
    days_between,
    gap_key,
    ttft_bucket,
)
from shared.conversation import ANONYMOUS, TurnRecord
from shared.stores.redis_client import KeySpace, translate_redis_errors
from shared.stores.text_redis import TextRedis

Rating = Literal["up", "down"]
RETENTION_SECONDS = RETENTION_DAYS * 86_400
RATING_WINDOW_SECONDS = 7 * 86_400  # how long a turn can be rated; then its hash expires

# Lua shared by both scripts. ``a`` carries the key prefixes and limits (see _limits).
_FUNCTIONS = """
local function count(a, key, field, by)
  redis.call('HINCRBY', key, field, by)
  redis.call('EXPIRE', key, a.retention)
end
local function add_gap(a, day, qkey, text, now, by)
  if qkey == '' then return end
  local key = a.gaps_prefix .. day
  if by > 0 and redis.call('HEXISTS', key, qkey) == 0
     and redis.call('HLEN', key) >= a.max_gaps then return end
  local detail = key .. ':detail'
  if redis.call('HINCRBY', key, qkey, by) <= 0 then
    redis.call('HDEL', key, qkey)
    redis.call('HDEL', detail, qkey)
    return
  end
  redis.call('EXPIRE', key, a.retention)
  if by <= 0 then return end
  local raw = redis.call('HGET', detail, qkey)
  local d = raw and cjson.decode(raw) or {examples = {}}
  d.last = now
  local seen = false
  for _, e in ipairs(d.examples) do if e == text then seen = true end end
  if not seen and #d.examples < a.max_examples then table.insert(d.examples, text) end
  redis.call('HSET', detail, qkey, cjson.encode(d))
  redis.call('EXPIRE', detail, a.retention)
end
"""

# Runs inside the record-turn script, after a new turn id was recorded. Needs ``state`` (the
# session hash), ``turns`` (its turn count now) and ``t`` (the turn, ``t.analytics`` from
# turn_fields); sets ``reopened`` (1 when it reopened an earlier resolution).
# Durable resolution: a resolved turn whose customer, within the window, asks the same
# question again or asks for an agent no longer counts as resolved (but as reopened).
COUNT_TURN = (
    _FUNCTIONS
    + """
local a = t.analytics
local day = a.day_prefix .. a.day
local reopened = 0
count(a, day, 'turns', 1)
if turns == 1 then
  count(a, day, 'conversations', 1)
  redis.call('HSET', state, 'day', a.day)
end
local holder = a.holder
local before = redis.call('HMGET', holder, 'resolved_at', 'resolved_q', 'resolved_day')
if before[1] and tonumber(t.now) - tonumber(before[1]) <= a.window
   and (a.asks_agent or before[2] == a.question_key) then
  count(a, a.day_prefix .. before[3], 'resolved_by_bot', -1)
  count(a, a.day_prefix .. before[3], 'reopened', 1)
  redis.call('HDEL', holder, 'resolved_at', 'resolved_q', 'resolved_day')
  reopened = 1
end
if a.resolved then
  count(a, day, 'resolved_by_bot', 1)
  redis.call('HSET', holder, 'resolved_at', t.now, 'resolved_q', a.question_key,
             'resolved_day', a.day)
  redis.call('EXPIRE', holder, a.holder_ttl)
end
if a.handoff ~= '' then
  count(a, day, 'handed_off', 1)
  count(a, day, 'handoff:' .. a.handoff, 1)
  if redis.call('HSETNX', state, 'handed_off', '1') == 1 then
    count(a, a.day_prefix .. (redis.call('HGET', state, 'day') or a.day),
          'conversations_handed_off', 1)
  end
end
if a.no_answer then
  count(a, day, 'no_answer_turns', 1)
  add_gap(a, a.day, a.question_key, a.question, t.now, 1)
end
if a.ttft_bucket >= 0 then count(a, day, 'ttft:' .. a.ttft_bucket, 1) end
redis.call('HSET', a.meta, 'session_id', t.session_id, 'user_id', t.user_id, 'day', a.day,
           'question_key', a.question_key, 'question', a.question,
           'gap', a.no_answer and 'unanswered' or (a.knowledge and 'answered' or 'other'))
redis.call('EXPIRE', a.meta, a.rating_window)
"""
)

# KEYS: the turn's hash. ARGV: the limits (JSON), the rating, the comment, now.
# Returns the rating it replaced ('' for none), or false for an unknown turn.
_RATE = (
    _FUNCTIONS
    + """
local a = cjson.decode(ARGV[1])
local info = redis.call('HMGET', KEYS[1], 'day', 'rating', 'question_key', 'question', 'gap')
if not info[1] then return false end
local old, new = info[2] or '', ARGV[2]
redis.call('HSET', KEYS[1], 'rating', new, 'comment', ARGV[3])
if old == new then return old end
local day = a.day_prefix .. info[1]
if old ~= '' then count(a, day, 'feedback_' .. old, -1) end
count(a, day, 'feedback_' .. new, 1)
-- A help-centre answer rated down is a gap too (an unanswered one already is one; a
-- hand-off request or small talk never is).
if info[5] == 'answered' then
  if new == 'down' then add_gap(a, info[1], info[3], info[4], ARGV[4], 1) end
  if old == 'down' then add_gap(a, info[1], info[3], info[4], ARGV[4], -1) end
end
return old
"""
)


# KEYS: the session's hash. ARGV: the limits (JSON), the score, today. A later score of
# the conversation replaces the earlier one. Returns 0 when no agent ever took part.
_RATE_AGENT = (
    _FUNCTIONS
    + """
local a = cjson.decode(ARGV[1])
local info = redis.call('HMGET', KEYS[1], 'handed_off', 'csat', 'csat_day')
if info[1] ~= '1' then return 0 end
if info[2] then
  count(a, a.day_prefix .. info[3], 'csat_sum', -tonumber(info[2]))
  count(a, a.day_prefix .. info[3], 'csat_count', -1)
end
count(a, a.day_prefix .. ARGV[3], 'csat_sum', tonumber(ARGV[2]))
count(a, a.day_prefix .. ARGV[3], 'csat_count', 1)
redis.call('HSET', KEYS[1], 'csat', ARGV[2], 'csat_day', ARGV[3])
return 1
"""
)


@dataclass(frozen=True)
class Gap:
    """A question the bot could not answer (or that was rated down), grouped by its text."""

    question: str
    count: int
    last_asked: str
    examples: list[str]


class RedisAnalytics:
    """The tenant's outcome counters, gaps and ratings (see the module docstring)."""

    def __init__(self, client: redis.Redis, prefix: str, resolution_window_seconds: int) -> None:
        self._redis = TextRedis(client)
        self._key = KeySpace(prefix)
        self._window = resolution_window_seconds
        self._rate = self._redis.script(_RATE, "analytics.rate")
        self._rate_agent = self._redis.script(_RATE_AGENT, "analytics.rate_agent")

    def _daily(self, tenant_id: str, kind: Literal["day", "gaps"]) -> str:
        """The prefix of a tenant's per-day keys; the UTC day (YYYY-MM-DD) completes them."""
        return self._key(tenant_id, "analytics", kind, "")

    def _limits(self, tenant_id: str) -> dict[str, Any]:
        return {
            "day_prefix": self._daily(tenant_id, "day"),
            "gaps_prefix": self._daily(tenant_id, "gaps"),
            "retention": RETENTION_SECONDS,
            "max_gaps": MAX_GAPS_PER_DAY,
            "max_examples": MAX_GAP_EXAMPLES,
        }

    def _turn(self, tenant_id: str, turn_id: str) -> str:
        return self._key(tenant_id, "analytics", "turn", "{" + turn_id + "}")

    def turn_fields(
        self, tenant_id: str, session_key: str, session_ttl: int, turn: TurnRecord, now: float
    ) -> dict[str, Any]:
        """What the record-turn script needs to count ``turn`` (its ``analytics`` field)."""
        # A known customer's resolution is reopened from any of their sessions; an
        # anonymous one's only from the same session.
        if turn.user_id and turn.user_id != ANONYMOUS:
            holder = self._key(tenant_id, "analytics", "resolved", "{" + turn.user_id + "}")
            holder_ttl = self._window
        else:
            holder, holder_ttl = session_key, session_ttl
        asks_agent = bool(turn.handoff_reason) or turn.intent == "transfer_to_human"
        return {
            **self._limits(tenant_id),
            "day": day_of(now),
            "meta": self._turn(tenant_id, turn.turn_id),
            "rating_window": RATING_WINDOW_SECONDS,
            "holder": holder,
            "holder_ttl": max(holder_ttl, 1),
            "window": self._window,
            "resolved": turn.outcome == "resolved" and not turn.handoff_reason,
            "asks_agent": asks_agent,
            "handoff": turn.handoff_reason,
            "no_answer": turn.no_answer,
            "knowledge": turn.intent == "knowledge_qa",
            "ttft_bucket": -1 if turn.ttft_ms is None else ttft_bucket(turn.ttft_ms),
            "question_key": gap_key(turn.user_message),
            "question": turn.user_message.strip()[:MAX_GAP_CHARS],
        }

    @translate_redis_errors
    async def owner(self, tenant_id: str, turn_id: str) -> str | None:
        """The user id of the recorded turn; None for no such turn of this tenant."""
        return await self._redis.hget(self._turn(tenant_id, turn_id), "user_id")

    @translate_redis_errors
    async def rate(self, tenant_id: str, turn_id: str, rating: Rating, comment: str) -> str | None:
        """Rate a recorded turn, replacing an earlier rating: the one replaced ('' for
        none), or None for no such turn."""
        limits = json.dumps(self._limits(tenant_id))
        return await self._rate.text(
            keys=[self._turn(tenant_id, turn_id)],
            args=[limits, rating, comment, repr(time.time())],
        )

    @translate_redis_errors
    async def rate_agent(self, tenant_id: str, session_key: str, score: int) -> bool:
        """Record the customer's 1-5 score of the agent who helped in the session (its
        hash is ``session_key``); False when no agent ever took part."""
        limits = json.dumps(self._limits(tenant_id))
        done = await self._rate_agent.integer(
            keys=[session_key], args=[limits, score, day_of(time.time())]
        )
        return bool(done)

    @translate_redis_errors
    async def days(self, tenant_id: str, since: dt.date, until: dt.date) -> dict[str, Figures]:
        """Each day's figures, from ``since`` to ``until`` (UTC days, both included): one
        round trip whatever the range."""
        names, prefix = days_between(since, until), self._daily(tenant_id, "day")
        async with self._redis.pipeline(transaction=False) as pipe:
            for day in names:
                pipe.hgetall(prefix + day)
            raw: list[dict[str, str]] = await pipe.execute()
        return {day: Figures.of(counters) for day, counters in zip(names, raw, strict=True)}

    @translate_redis_errors
    async def gaps(self, tenant_id: str, since: dt.date, until: dt.date, limit: int) -> list[Gap]:
        """The most asked unanswered questions over the days, most asked first."""
        names, prefix = days_between(since, until), self._daily(tenant_id, "gaps")
        async with self._redis.pipeline(transaction=False) as pipe:
            for day in names:
                key = prefix + day
                pipe.hgetall(key)
                pipe.hgetall(f"{key}:detail")
            raw: list[dict[str, str]] = await pipe.execute()
        counts: dict[str, int] = {}
        last: dict[str, float] = {}
        examples: dict[str, list[str]] = {}
        for day_counts, day_detail in zip(raw[::2], raw[1::2], strict=True):
            for question, count in day_counts.items():
                counts[question] = counts.get(question, 0) + int(count)
                detail = json.loads(day_detail.get(question, "{}"))
                last[question] = max(last.get(question, 0.0), float(detail.get("last", 0)))
                seen = examples.setdefault(question, [])
                for text in detail.get("examples", []):
                    if text not in seen and len(seen) < MAX_GAP_EXAMPLES:
                        seen.append(text)
        ranked = sorted(counts, key=lambda q: (-counts[q], -last[q]))[:limit]
        return [
            Gap(
                question=examples[q][0] if examples[q] else q,
                count=counts[q],
                last_asked=dt.datetime.fromtimestamp(last[q], dt.UTC).isoformat(),
                examples=examples[q],
            )
            for q in ranked
        ]
