"""FastAPI dependencies: the gateway's collaborators, and the authenticated, rate-counted caller.

Routes take what they need as one of the ``...Dep`` aliases below, never from the app itself.
Every dependency is ``async``: FastAPI runs a plain ``def`` one in a worker thread, a hop that
cost a cache hit about a tenth of its time.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from starlette.requests import HTTPConnection

from services.gateway.agents import AgentDesk
from services.gateway.auth import Principal
from services.gateway.chat import ChatService
from services.gateway.chat.idempotency import Retry
from services.gateway.connections import ConnectionSlots
from services.gateway.knowledge import KnowledgeAdmin
from services.gateway.stores.chat_sessions import RedisChatSessions
from services.gateway.stores.conversations import ConversationMap
from services.gateway.stores.datasets import RedisDatasetStore
from services.gateway.stores.drafts import RedisDraftStore
from services.gateway.wiring import Gateway, GatewayApp
from shared import observability
from shared.settings import Settings
from shared.stores.assistants import RedisAssistantStore
from shared.stores.event_log import RedisEventLog


def gateway_of(connection: HTTPConnection) -> Gateway:
    """The collaborators of the app serving this request or socket."""
    app = connection.app
    if not isinstance(app, GatewayApp):
        raise TypeError("gateway routes are served by the app create_app builds")
    return app.gateway


async def get_gateway(connection: HTTPConnection) -> Gateway:
    """See gateway_of."""
    return gateway_of(connection)


GatewayDep = Annotated[Gateway, Depends(get_gateway)]


async def get_settings(gateway: GatewayDep) -> Settings:
    """The app's settings."""
    return gateway.settings


async def get_chat_service(gateway: GatewayDep) -> ChatService:
    """The app's chat service."""
    return gateway.chat


async def get_assistants(gateway: GatewayDep) -> RedisAssistantStore:
    """The app's assistant store."""
    return gateway.assistants


async def get_knowledge(gateway: GatewayDep) -> KnowledgeAdmin:
    """The app's knowledge admin."""
    return gateway.knowledge


async def get_desk(gateway: GatewayDep) -> AgentDesk:
    """The app's agent desk."""
    return gateway.agents


async def get_events(gateway: GatewayDep) -> RedisEventLog:
    """The app's event log (its own Redis pool: readers block on it)."""
    return gateway.events


async def get_connections(gateway: GatewayDep) -> ConnectionSlots:
    """The cluster-wide connection caps."""
    return gateway.connections


async def get_conversations(gateway: GatewayDep) -> ConversationMap:
    """Which session an OpenAI-style conversation continues."""
    return gateway.conversations


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
    auth = gateway_of(connection).auth
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


PrincipalDep = Annotated[Principal, Depends(client)]


async def get_retry(
    gateway: GatewayDep,
    principal: PrincipalDep,
    idempotency_key: Annotated[
        str | None,
        Header(
            max_length=200,
            description="Retrying with the same key never starts a second turn: a finished "
            "request's answer (or stream) is replayed.",
        ),
    ] = None,
) -> Retry | None:
    """The caller's Idempotency-Key, if the request has one."""
    if idempotency_key is None:
        return None
    return Retry(gateway.idempotency, principal, idempotency_key)


async def get_drafts(gateway: GatewayDep) -> RedisDraftStore:
    """The app's FAQ drafts."""
    return gateway.drafts


async def get_datasets(gateway: GatewayDep) -> RedisDatasetStore:
    """The app's dataset names (RAGFlow's layer)."""
    return gateway.datasets


async def get_chat_sessions(gateway: GatewayDep) -> RedisChatSessions:
    """The app's sessions by assistant (RAGFlow's layer)."""
    return gateway.chat_sessions


async def drafter(principal: Annotated[Principal, Depends(authenticate)]) -> Principal:
    """A caller allowed to draft FAQ entries from conversations: an agent or an admin."""
    return principal.require("agent", "admin")


TenantDep = Annotated[str, Depends(client_tenant)]
AdminDep = Annotated[Principal, Depends(admin)]
DrafterDep = Annotated[Principal, Depends(drafter)]
DraftsDep = Annotated[RedisDraftStore, Depends(get_drafts)]
DatasetsDep = Annotated[RedisDatasetStore, Depends(get_datasets)]
ChatSessionsDep = Annotated[RedisChatSessions, Depends(get_chat_sessions)]
AdminTenantDep = Annotated[str, Depends(admin_tenant)]
ChatDep = Annotated[ChatService, Depends(get_chat_service)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
AssistantsDep = Annotated[RedisAssistantStore, Depends(get_assistants)]
KnowledgeDep = Annotated[KnowledgeAdmin, Depends(get_knowledge)]
DeskDep = Annotated[AgentDesk, Depends(get_desk)]
EventsDep = Annotated[RedisEventLog, Depends(get_events)]
ConnectionsDep = Annotated[ConnectionSlots, Depends(get_connections)]
ConversationsDep = Annotated[ConversationMap, Depends(get_conversations)]
RetryDep = Annotated[Retry | None, Depends(get_retry)]
