"""RAGFlow's HTTP API (``/compat/ragflow/api/v1``), as `ragflow-sdk` calls it with
``RAGFlow(api_key, base_url="http://host/compat/ragflow")``: datasets, documents, retrieval,
chat assistants, sessions and completions. Errors use RAGFlow's ``{"code", "message"}``
(services/gateway/errors.py); agents, chunk editing and RAGFlow's other APIs say they are
not supported."""

from __future__ import annotations

from fastapi import APIRouter, Request

from services.gateway.compat import refuse_another_method
from services.gateway.compat.ragflow import chats, datasets, sessions
from services.gateway.compat.ragflow.common import PREFIX
from services.gateway.deps import PrincipalDep
from shared.errors import InvalidInput

supported = (datasets.router, chats.router, sessions.router)
unsupported = APIRouter(prefix=PREFIX, include_in_schema=False)


@unsupported.api_route("/{name:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
async def not_supported(name: str, request: Request, _: PrincipalDep) -> None:
    """RAGFlow features Frontdesk does not have: agents, chunk editing, files, graphs."""
    refuse_another_method(request, (route for router in supported for route in router.routes))
    what = name.split("/", 1)[0] or "this endpoint"
    if name.startswith("datasets/") and "/chunks" in name:
        what = "editing chunks"
    raise InvalidInput(f"{what} is not supported by Frontdesk's RAGFlow layer")


routers = (*supported, unsupported)
