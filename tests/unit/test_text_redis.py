"""The typed Redis wrapper: stores read text, and a client that would hand them bytes is refused."""

from __future__ import annotations

import fakeredis
import pytest

from shared.stores.text_redis import TextRedis


def test_a_client_that_does_not_decode_is_refused() -> None:
    with pytest.raises(ValueError, match="decode_responses"):
        TextRedis(fakeredis.FakeAsyncRedis(decode_responses=False))


async def test_replies_come_back_as_text() -> None:
    store = TextRedis(fakeredis.FakeAsyncRedis(decode_responses=True))
    await store.hset("h", mapping={"n": 1, "s": "é"})
    await store.pipeline(transaction=False).xadd("s", {"e": "x"}, id="1-0").execute()
    assert await store.hgetall("h") == {"n": "1", "s": "é"}
    assert await store.xrevrange("s", count=1) == [("1-0", {"e": "x"})]
    assert await store.xread({"s": "0"}) == [("s", [("1-0", {"e": "x"})])]
    assert await store.script("return {1, 2}", "pair").integers(keys=[]) == [1, 2]
