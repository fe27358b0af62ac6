"""Client JSON must decode to text that UTF-8 can hold: a lone surrogate (``"\\ud800"``) is
refused with 422 before anything runs, instead of failing later in Redis, a hash or the broker."""

from __future__ import annotations

import json
import re
from typing import Any

from starlette.requests import HTTPConnection, Request

from shared.errors import InvalidInput

# Where a lone surrogate can come from: a \uD800-\uDFFF escape, or surrogate bytes (ED A0-BF),
# which json.loads lets through. Most bodies have neither, so they are never parsed twice.
_SUSPECT_BYTES = re.compile(rb"\\u[dD][89a-fA-F]|\xed[\xa0-\xbf]")
_SURROGATE = re.compile("[\ud800-\udfff]")
BODY_METHODS = ("POST", "PUT", "PATCH")


Where = tuple[Any, object] | None  # (parent, key): built only for the string that fails


def _dotted(where: Where) -> str:
    parts: list[str] = []
    while where is not None:
        where, key = where
        parts.append(str(key))
    return ".".join(reversed(parts)) or "body"


def lone_surrogate_at(data: Any) -> str | None:
    """The dotted path of the first string (key or value) holding a lone surrogate, if any."""
    pending: list[tuple[Where, Any]] = [(None, data)]
    while pending:  # iterative, and linear in the body: nesting depth is the client's choice
        where, value = pending.pop()
        if isinstance(value, str):
            if _SURROGATE.search(value):
                return _dotted(where)
        elif isinstance(value, dict):
            for key, item in value.items():
                if _SURROGATE.search(key):
                    return _dotted((where, key))
                pending.append(((where, key), item))
        elif isinstance(value, list):
            pending.extend(((where, i), item) for i, item in enumerate(value))
    return None


def refuse_text(data: Any) -> None:
    """InvalidInput naming the field whose text holds a lone surrogate."""
    if (where := lone_surrogate_at(data)) is not None:
        where = where[:200].encode("utf-8", "backslashreplace").decode()  # a key may hold one
        raise InvalidInput(
            f"{where}: text must be valid Unicode (a lone surrogate such as \\ud800 is not allowed)"
        )


async def refuse_lone_surrogates(connection: HTTPConnection) -> None:
    """App-wide dependency: a JSON body with a lone surrogate is a 422."""
    if not isinstance(connection, Request) or connection.method not in BODY_METHODS:
        return
    if "json" not in connection.headers.get("content-type", "json"):
        return
    body = await connection.body()  # already read (and bounded) by the time dependencies run
    if not _SUSPECT_BYTES.search(body):
        return
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return  # not JSON: the route's own parsing says so
    refuse_text(data)
