"""Adapters for apps written against other chat APIs, each under its own prefix (README:
Compatibility). Each is a thin layer over Frontdesk's own turns and sessions."""

from __future__ import annotations

from collections.abc import Iterable

from fastapi import HTTPException, Request
from starlette.routing import BaseRoute, Match


def refuse_another_method(request: Request, routes: Iterable[BaseRoute]) -> None:
    """405 when one of ``routes`` has the request's path but takes another method: a layer's
    catch-all says "not supported" only of what the layer lacks altogether."""
    if any(route.matches(request.scope)[0] is Match.PARTIAL for route in routes):
        raise HTTPException(405, "Method Not Allowed")
