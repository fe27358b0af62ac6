"""FastAPI dependencies: the app's services, and the authenticated, rate-counted caller."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.responses import StreamingResponse
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from starlette.background import BackgroundTask
from starlette.requests import HTTPConnection

from services.gateway.auth import Authenticator, Principal
from services.gateway.chat import ChatService
from services.gateway.connections import ConnectionSlots
from shared import observability
from shared.events import new_id
from shared.settings import Settings


def get_settings(request: Request) -> Settings:
    """The app's settings."""
    return request.app.state.settings  # type: ignore[no-any-return]


def get_chat_service(request: Request) -> ChatService:
    """The app's chat service."""
    return request.app.state.chat  # type: ignore[no-any-return]


# Declared for the OpenAPI document; the Authenticator reads the headers itself.
API_KEY_HEADER = APIKeyHeader(
    name="X-API-Key", auto_error=False, description="An API key (see `frontdesk keys create`)."
)
BEARER = HTTPBearer(
    auto_error=False, description="An API key, or an end-user JWT when JWT_* is configured."
)


async def authenticate(
    request: Request,
    _key: Annotated[str | None, Security(API_KEY_HEADER)] = None,
    _bearer: Annotated[HTTPAuthorizationCredentials | None, Security(BEARER)] = None,
) -> Principal:
    """The caller, counted against its rate limits (the headers are added on the way out)."""
    return await admit_caller(request)


async def admit_caller(connection: HTTPConnection, query_key: str = "") -> Principal:
    """The caller of a request or socket, counted against its rate limits."""
    auth: Authenticator = connection.app.state.auth
    principal = await auth.identify(connection.headers, query_key)
    observability.tenant_id.set(principal.tenant_id)  # on every log line of the connection
    connection.state.rate_limit = await auth.admit(principal)
    return principal


async def client(principal: Annotated[Principal, Depends(authenticate)]) -> Principal:
    """A caller allowed to chat: a client key, an end-user token or an admin key."""
    return principal.require("client", "admin")


async def admin(principal: Annotated[Principal, Depends(authenticate)]) -> Principal:
    """A caller allowed to manage the tenant: knowledge, assistants, cache."""
    return principal.require("admin")


async def client_tenant(principal: Annotated[Principal, Depends(client)]) -> str:
    """The tenant of a caller allowed to chat."""
    return principal.tenant_id


async def admin_tenant(principal: Annotated[Principal, Depends(admin)]) -> str:
    """The tenant of an admin caller."""
    return principal.tenant_id


async def open_connection(connection: HTTPConnection, principal: Principal, holder: str) -> None:
    """Count an open stream or socket against its tenant's and its caller's caps (429 past
    either)."""
    slots: ConnectionSlots = connection.app.state.connections
    await slots.open(principal, holder)


async def close_connection(connection: HTTPConnection, principal: Principal, holder: str) -> None:
    """Free a connection slot (safe to call twice)."""
    slots: ConnectionSlots = connection.app.state.connections
    await slots.close(principal, holder)


async def held_stream(
    connection: HTTPConnection,
    principal: Principal,
    frames: AsyncIterator[bytes],
    media_type: str,
    headers: Mapping[str, str],
) -> StreamingResponse:
    """A stream that holds a connection slot until it ends or its client leaves."""
    slot = new_id("conn")
    await open_connection(connection, principal, slot)
    return StreamingResponse(
        frames,
        media_type=media_type,
        headers=headers,
        # Runs after the stream ends or the client disconnects, even before the first byte.
        background=BackgroundTask(close_connection, connection, principal, slot),
    )


PrincipalDep = Annotated[Principal, Depends(client)]
TenantDep = Annotated[str, Depends(client_tenant)]
AdminTenantDep = Annotated[str, Depends(admin_tenant)]
ChatDep = Annotated[ChatService, Depends(get_chat_service)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
