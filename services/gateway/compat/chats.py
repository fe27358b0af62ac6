"""The tenant-scoped chat REST API and its WebSocket (``/compat/chats``).

A chat is a Frontdesk session of one user: its ``id`` is the session's id. The socket at
``/compat/chats/ws/chat?api_key=&user_id=&chat_id=`` takes ``{"content": "..."}`` frames and
answers with Frontdesk's WebSocket events (services/gateway/websocket_chat.py), after
``connection_established`` and, when it opened a new chat, ``user_created``. Limits are
Frontdesk's own: RATE_LIMIT_PER_TENANT, WS_MESSAGES_PER_SECOND, MAX_CONNECTIONS_PER_TENANT.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Response, WebSocket
from pydantic import BaseModel, ConfigDict, Field

from services.gateway.auth import Principal
from services.gateway.chat import ChatService
from services.gateway.deps import ChatDep, PrincipalDep, gateway_of
from services.gateway.schemas import ERROR_RESPONSES, SESSION_ID_PATTERN
from services.gateway.session_routes import session_of
from services.gateway.websocket_chat import ChatSocket, serve_socket
from shared.conversation import Session
from shared.errors import InvalidInput
from shared.events import new_id

router = APIRouter(prefix="/compat/chats", tags=["compat: chat REST"], responses=ERROR_RESPONSES)
ChatId = Annotated[str, Path(pattern=SESSION_ID_PATTERN)]
UserId = Annotated[str, Field(min_length=1, max_length=128)]
NO_SUCH_CHAT = "No such chat"


class NewChat(BaseModel):
    """Whose chat it is."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"user_id": "u-1"}]})
    user_id: UserId


def _chat_out(session: Session) -> dict[str, Any]:
    return {
        "id": session.session_id,
        "user_id": session.user_id,
        "title": session.name,
        "created_at": session.created_at,
        "message_count": session.turn_count * 2,
    }


async def _new_chat(principal: Principal, chat: ChatService, user_id: str) -> Session:
    user = principal.user_id or user_id  # an end-user token opens chats only for its user
    return await chat.sessions.get_or_create(principal.tenant_id, new_id("sess"), user, "api")


@router.post("/", status_code=201)
async def create_chat(body: NewChat, principal: PrincipalDep, chat: ChatDep) -> dict[str, Any]:
    """A new chat for the user."""
    return _chat_out(await _new_chat(principal, chat, body.user_id))


@router.get("/user/{user_id}")
async def chats_of_user(
    user_id: Annotated[str, Path(min_length=1, max_length=128)],
    principal: PrincipalDep,
    chat: ChatDep,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> dict[str, Any]:
    """The user's chats, newest first."""
    user = principal.user_id or user_id
    sessions, total = await chat.sessions.of_user(principal.tenant_id, user, offset, limit)
    return {"chats": [_chat_out(s) for s in sessions], "total": total}


@router.get("/{chat_id}")
async def get_chat(chat_id: ChatId, principal: PrincipalDep, chat: ChatDep) -> dict[str, Any]:
    """One chat."""
    return _chat_out(await session_of(principal, chat, chat_id, NO_SUCH_CHAT))


@router.get("/{chat_id}/messages")
async def chat_messages(
    chat_id: ChatId,
    principal: PrincipalDep,
    chat: ChatDep,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    order: Literal["asc", "desc"] = "asc",
) -> dict[str, Any]:
    """The chat's messages, oldest first (``order=desc``: newest first)."""
    session = await session_of(principal, chat, chat_id, NO_SUCH_CHAT)
    page, total = await chat.sessions.page(
        principal.tenant_id, session.session_id, offset, limit, order == "desc"
    )
    messages = [
        {"role": m.role, "content": m.content, "created_at": m.at, "message_id": m.turn_id}
        for m in page
    ]
    return {"messages": messages, "total": total, "offset": offset, "limit": limit}


@router.delete("/{chat_id}", status_code=204, response_class=Response)
async def delete_chat(chat_id: ChatId, principal: PrincipalDep, chat: ChatDep) -> Response:
    """Delete the chat and its messages."""
    session = await session_of(principal, chat, chat_id, NO_SUCH_CHAT)
    await chat.sessions.delete(principal.tenant_id, session.session_id)
    return Response(status_code=204)


class CompatSocket(ChatSocket):
    """Frontdesk's socket, fed ``{"content"}`` frames for one user's chat."""

    def __init__(
        self, websocket: WebSocket, principal: Principal, session: Session, created: bool
    ) -> None:
        super().__init__(websocket, principal)
        self.session = session
        self.created = created

    def greetings(self) -> list[dict[str, Any]]:
        """``user_created`` when this connection opened the chat."""
        if not self.created:
            return []
        user = {"user_id": self.session.user_id, "chat_id": self.session.session_id}
        return [{"type": "user_created", **user}]

    async def dispatch(self, data: object) -> None:
        """``{"content": ...}`` is a message in this chat; ``{"type": "ping"}`` still pongs."""
        if isinstance(data, dict) and "content" in data and "type" not in data:
            message = {
                "message": data["content"],
                "session_id": self.session.session_id,
                "user_id": self.session.user_id,
            }
            await self.enqueue(message)
        else:
            await super().dispatch(data)


@router.websocket("/ws/chat")
async def compat_socket(websocket: WebSocket) -> None:
    """The chat socket; ``chat_id`` continues a chat, without it a new one is opened."""

    async def make(ws: WebSocket, principal: Principal) -> ChatSocket:
        chat = gateway_of(ws).chat
        user_id = ws.query_params.get("user_id", "")
        chat_id = ws.query_params.get("chat_id")
        if chat_id:
            session = await session_of(principal, chat, chat_id, NO_SUCH_CHAT)
            return CompatSocket(ws, principal, session, created=False)
        if not user_id or len(user_id) > 128:
            raise InvalidInput("user_id is required (1-128 characters) to open a chat")
        return CompatSocket(ws, principal, await _new_chat(principal, chat, user_id), True)

    await serve_socket(websocket, make)
