"""The agent workbench API: inbox, ticket view, claim/reply/resolve/hand back, live feed.

Agents authenticate with agent keys (``AGENT_KEYS`` or ``frontdesk keys create --role agent``),
never with client keys.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from services.gateway.agents import AgentDesk
from services.gateway.auth import Principal
from services.gateway.deps import ConnectionsDep, DeskDep, EventsDep, GatewayDep, authenticate
from services.gateway.event_streams import follow, resume_from
from services.gateway.schemas import ERROR_RESPONSES
from services.gateway.streaming import held_stream
from shared.stores.escalations import TICKET_ID_PATTERN


async def agent_principal(
    gateway: GatewayDep, principal: Annotated[Principal, Depends(authenticate)]
) -> Principal:
    """An agent key's holder; in development mode without agent keys, X-Agent-Id names one."""
    if principal.key_id == "dev" and not gateway.agent_keys:
        return Principal(
            principal.tenant_id, "agent", "dev", agent_id=principal.agent_id or "agent"
        )
    return principal.require("agent")


async def require_agent(principal: Annotated[Principal, Depends(agent_principal)]) -> str:
    """The calling agent's id."""
    return principal.agent_id or principal.key_id


async def agent_tenant(principal: Annotated[Principal, Depends(agent_principal)]) -> str:
    """The calling agent's tenant."""
    return principal.tenant_id


AgentDep = Annotated[str, Depends(require_agent)]
AgentTenantDep = Annotated[str, Depends(agent_tenant)]
TicketId = Annotated[str, Path(pattern=TICKET_ID_PATTERN, description="e.g. tkt-1a2b3c4d5e6f")]
router = APIRouter(prefix="/api/v1/agent", tags=["agent workbench"], responses=ERROR_RESPONSES)


class AgentReply(BaseModel):
    """A message from the agent to the customer."""

    text: str = Field(min_length=1, max_length=4000)


class TicketOut(BaseModel):
    """A ticket's card and the conversation so far."""

    card: dict[str, Any]
    history: list[dict[str, Any]]


@router.get("/escalations")
async def pending_escalations(
    agent: AgentDep, tenant: AgentTenantDep, desk: DeskDep
) -> dict[str, Any]:
    """Tickets waiting for an agent, most urgent first (priority, then age)."""
    cards = [c.model_dump(mode="json") for c in await desk.pending(tenant)]
    return {"escalations": cards, "total": len(cards)}


@router.get("/escalations/{ticket_id}", response_model=TicketOut)
async def open_escalation(
    ticket_id: TicketId, agent: AgentDep, tenant: AgentTenantDep, desk: DeskDep
) -> TicketOut:
    """A ticket with its conversation history."""
    view = await desk.open(tenant, ticket_id)
    return TicketOut(
        card=view.card.model_dump(mode="json"), history=[m.__dict__ for m in view.history]
    )


async def _act(
    desk: AgentDesk, tenant: str, ticket_id: str, agent: str, action: str, text: str = ""
) -> dict[str, Any]:
    card = await desk.act(tenant, ticket_id, agent, action, text)  # type: ignore[arg-type]
    return {"card": card.model_dump(mode="json")}


@router.post("/escalations/{ticket_id}/claim")
async def claim(
    ticket_id: TicketId, agent: AgentDep, tenant: AgentTenantDep, desk: DeskDep
) -> dict[str, Any]:
    """Take the conversation; 409 if another agent already holds it."""
    return await _act(desk, tenant, ticket_id, agent, "claim")


@router.post("/escalations/{ticket_id}/messages")
async def reply(
    ticket_id: TicketId, body: AgentReply, agent: AgentDep, tenant: AgentTenantDep, desk: DeskDep
) -> dict[str, Any]:
    """Send the customer a message (only the agent holding the ticket may)."""
    return await _act(desk, tenant, ticket_id, agent, "reply", body.text)


@router.post("/escalations/{ticket_id}/resolve")
async def resolve(
    ticket_id: TicketId, agent: AgentDep, tenant: AgentTenantDep, desk: DeskDep
) -> dict[str, Any]:
    """Close the ticket; the bot answers the session again."""
    return await _act(desk, tenant, ticket_id, agent, "resolve")


@router.post("/escalations/{ticket_id}/hand-back")
async def hand_back(
    ticket_id: TicketId, agent: AgentDep, tenant: AgentTenantDep, desk: DeskDep
) -> dict[str, Any]:
    """Return the session to the bot without resolving the ticket."""
    return await _act(desk, tenant, ticket_id, agent, "hand_back")


@router.get("/feed", response_class=StreamingResponse)
async def agent_feed(
    principal: Annotated[Principal, Depends(agent_principal)],
    events: EventsDep,
    slots: ConnectionsDep,
    last_event_id: Annotated[str | None, Header()] = None,
) -> StreamingResponse:
    """Live: new escalations, state changes, customer messages (SSE; resumes from Last-Event-ID).

    Holds a connection slot of the agent's tenant while open.
    """
    after = resume_from(last_event_id, "$")
    frames = follow(events, events.agent_feed(principal.tenant_id), after)
    return await held_stream(slots, principal, frames, "text/event-stream", {})
