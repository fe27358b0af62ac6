"""A query parameter named twice is refused: every parameter of the API takes one value, and
silently keeping the last of several would hide what the caller meant."""

from __future__ import annotations

from starlette.requests import HTTPConnection

from shared.errors import InvalidInput

NAME_SHOWN = 40  # characters of a repeated name quoted back in the error


async def refuse_repeated_query_parameters(connection: HTTPConnection) -> None:
    """App-wide dependency: 422 when the query string names a parameter more than once."""
    if connection.scope.get("query_string", b"").count(b"&") == 0:
        return  # one parameter at most: nothing can repeat (the hot path)
    seen: set[str] = set()
    for name, _ in connection.query_params.multi_items():
        if name in seen:
            raise InvalidInput(f"query parameter {name[:NAME_SHOWN]!r} is given more than once")
        seen.add(name)
