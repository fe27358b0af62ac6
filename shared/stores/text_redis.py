"""The Redis commands the stores use, typed by what they return: text, never ``bytes | str``.

redis-py types each reply as ``bytes | str`` because only the client knows whether it
decodes. ``TextRedis`` takes only a client that does (``connect_redis`` builds them so), and
checks each reply's shape once, here, so a store reads plain ``str``, lists and dicts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import redis.asyncio as redis
from redis.asyncio.client import Pipeline
from redis.commands.core import AsyncScript
from redis.typing import EncodableT, FieldT, KeyT, StreamIdT

from shared.tracing import traced

Value = str | int | float  # what the stores write: Redis stores each one as its text
StreamEntry = tuple[str, dict[str, str]]  # an entry's id and its fields


class TextRedis:
    """A decoding redis-py client, each command the stores use typed by its reply."""

    def __init__(self, client: redis.Redis) -> None:
        if not client.connection_pool.connection_kwargs.get("decode_responses"):
            raise ValueError("TextRedis needs a client built with decode_responses=True")
        self._client = client

    def pipeline(self, transaction: bool = True) -> Pipeline:
        """A pipeline of the underlying client (its replies are read by position)."""
        return self._client.pipeline(transaction=transaction)

    def script(self, source: str, name: str) -> TextScript:
        """A Lua script, registered once and run by its SHA; ``name`` names its trace span."""
        return TextScript(self._client.register_script(source), name)

    async def get(self, name: str) -> str | None:
        """GET."""
        return _maybe_text(await self._client.get(name))

    async def mget(self, *names: str) -> list[str | None]:
        """MGET."""
        return [_maybe_text(item) for item in _list(await self._client.mget(names))]

    async def set(
        self,
        name: str,
        value: Value,
        ex: int | None = None,
        px: int | None = None,
        nx: bool = False,
    ) -> bool:
        """SET; False when ``nx`` found the key already there."""
        return bool(await self._client.set(name, value, ex=ex, px=px, nx=nx))

    async def exists(self, *names: str) -> int:
        """EXISTS: how many of ``names`` exist."""
        return _integer(await self._client.exists(*names))

    async def delete(self, *names: str) -> int:
        """DEL: how many keys were removed."""
        return _integer(await self._client.delete(*names))

    async def incr(self, name: str) -> int:
        """INCR: the new value."""
        return _integer(await self._client.incr(name))

    async def hget(self, name: str, field: str) -> str | None:
        """HGET."""
        return _maybe_text(await self._client.hget(name, field))

    async def hgetall(self, name: str) -> dict[str, str]:
        """HGETALL ({} for a missing key)."""
        return _text_map(await self._client.hgetall(name))

    async def hset(
        self,
        name: str,
        field: str | None = None,
        value: Value | None = None,
        mapping: Mapping[str, Value] | None = None,
    ) -> int:
        """HSET: how many fields were added."""
        # Rebuilt because redis-py's Mapping is invariant in its key type.
        fields: dict[FieldT, EncodableT] = {key: item for key, item in (mapping or {}).items()}
        return _integer(await self._client.hset(name, field, value, mapping=fields))

    async def hlen(self, name: str) -> int:
        """HLEN: how many fields the hash has."""
        return _integer(await self._client.hlen(name))

    async def llen(self, name: str) -> int:
        """LLEN."""
        return _integer(await self._client.llen(name))

    async def lrange(self, name: str, start: int, end: int) -> list[str]:
        """LRANGE."""
        return _texts(await self._client.lrange(name, start, end))

    async def zrange(self, name: str, start: int, end: int) -> list[str]:
        """ZRANGE by rank, lowest score first."""
        return _texts(await self._client.zrange(name, start, end))

    async def zrevrange(self, name: str, start: int, end: int) -> list[str]:
        """ZREVRANGE by rank, highest score first."""
        return _texts(await self._client.zrevrange(name, start, end))

    async def zscore(self, name: str, member: str) -> float | None:
        """ZSCORE: the member's score, or None when it is not in the set."""
        reply = await self._client.zscore(name, member)
        return None if reply is None else float(reply)

    async def zrem(self, name: str, *members: str) -> int:
        """ZREM: how many members were removed."""
        return _integer(await self._client.zrem(name, *members))

    async def xadd(self, name: str, fields: Mapping[str, str], entry_id: str) -> str:
        """XADD with an explicit entry id: the id added."""
        values: dict[FieldT, EncodableT] = {field: value for field, value in fields.items()}
        return _text(await self._client.xadd(name, values, id=entry_id))

    async def xrange(
        self, name: str, min: str = "-", max: str = "+", count: int | None = None
    ) -> list[StreamEntry]:
        """XRANGE, oldest first."""
        return _entries(await self._client.xrange(name, min, max, count))

    async def xrevrange(
        self, name: str, max: str = "+", min: str = "-", count: int | None = None
    ) -> list[StreamEntry]:
        """XREVRANGE, newest first."""
        return _entries(await self._client.xrevrange(name, max, min, count))

    async def xread(
        self, streams: Mapping[str, str], count: int | None = None, block: int | None = None
    ) -> list[tuple[str, list[StreamEntry]]]:
        """XREAD: per stream with news, its entries after the id given for it."""
        after: dict[KeyT, StreamIdT] = {stream: last for stream, last in streams.items()}
        found = await self._client.xread(after, count=count, block=block)
        return [(_text(stream), _entries(entries)) for stream, entries in map(_pair, _list(found))]


class TextScript:
    """A registered Lua script, run with the reply's shape named by the method called."""

    def __init__(self, script: AsyncScript, name: str) -> None:
        self._script = script
        self._span = f"redis {name}"

    async def _run(self, keys: Sequence[str], args: Sequence[Value]) -> object:
        # A span per script, not per command: the scripts are where a turn waits on Redis
        # for something other than one key (limits, leases, the turn's record).
        with traced(self._span, **{"db.system": "redis", "db.operation.name": "EVALSHA"}):
            return await self._script(keys=keys, args=args)

    async def text(self, keys: Sequence[str], args: Sequence[Value] = ()) -> str | None:
        """Run it for a string reply (None for Lua's false or nil)."""
        return _maybe_text(await self._run(keys, args))

    async def integer(self, keys: Sequence[str], args: Sequence[Value] = ()) -> int:
        """Run it for an integer reply."""
        return _integer(await self._run(keys, args))

    async def integers(self, keys: Sequence[str], args: Sequence[Value] = ()) -> list[int]:
        """Run it for a table of integers."""
        return [_integer(item) for item in _list(await self._run(keys, args))]


def _unexpected(reply: object, wanted: str) -> TypeError:
    return TypeError(f"Redis replied {type(reply).__name__} where {wanted} was expected")


def _text(reply: object) -> str:
    if isinstance(reply, str):
        return reply
    raise _unexpected(reply, "text")


def _maybe_text(reply: object) -> str | None:
    return None if reply is None else _text(reply)


def _integer(reply: object) -> int:
    if isinstance(reply, int):
        return reply
    raise _unexpected(reply, "an integer")


def _list(reply: object) -> list[object]:
    if isinstance(reply, list):
        return reply
    raise _unexpected(reply, "a list")


def _pair(reply: object) -> tuple[object, object]:
    if isinstance(reply, list | tuple) and len(reply) == 2:
        return reply[0], reply[1]
    raise _unexpected(reply, "a pair")


def _texts(reply: object) -> list[str]:
    return [_text(item) for item in _list(reply)]


def _text_map(reply: object) -> dict[str, str]:
    if isinstance(reply, dict):
        return {_text(field): _text(value) for field, value in reply.items()}
    raise _unexpected(reply, "a hash")


def _entries(reply: object) -> list[StreamEntry]:
    if reply is None:  # redis-py passes a nil reply on as None
        return []
    return [(_text(entry_id), _text_map(fields)) for entry_id, fields in map(_pair, _list(reply))]
