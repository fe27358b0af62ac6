"""Escalation subscribers: open hand-offs and tickets, and carry out agents' actions.

Every state change is announced three ways: on the ``escalations`` exchange (for any
workbench), on the tenant's agent feed, and on the customer's session stream.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime

from faststream.rabbit import RabbitRouter
from faststream.rabbit.annotations import RabbitBroker

from services.escalation.escalation_card import build_card
from services.escalation.support_hours import SupportHours
from shared.conversation import Message
from shared.events import (
    AgentCommandCompleted,
    AgentCommandRequested,
    EscalationCard,
    EscalationCreated,
    EscalationRequested,
    EscalationUpdated,
)
from shared.events.escalation import CommandStatus
from shared.messaging import settle_errors
from shared.observability import ESCALATIONS, bind_turn
from shared.stores.escalations import TICKET_ID, RedisEscalationStore
from shared.stores.event_log import RedisEventLog
from shared.stores.protocols import SessionStore
from shared.topology import Topology

logger = logging.getLogger(__name__)


def build_router(
    cards: RedisEscalationStore,
    sessions: SessionStore,
    events: RedisEventLog,
    topology: Topology,
    hours: SupportHours,
) -> RabbitRouter:
    """Subscribers of the escalation worker."""
    router = RabbitRouter()

    async def announce(
        broker: RabbitBroker, event: EscalationCreated | EscalationUpdated, state: str
    ) -> None:
        card = event.card
        await broker.publish(
            event,
            exchange=topology.escalations,
            routing_key=f"escalation.{state}.v1.{event.tenant_id}",
            persist=True,
        )
        await events.append(
            events.agent_feed(event.tenant_id), f"escalation_{state}", card.model_dump(mode="json")
        )

    async def tell_customer(
        card: EscalationCard, tenant_id: str, kind: str, **data: object
    ) -> None:
        stream = events.session_stream(tenant_id, card.session_id)
        await events.append(stream, kind, {"ticket_id": card.ticket_id, **data})

    @router.subscriber(topology.escalation_requests)
    @settle_errors
    async def on_escalation_requested(
        request: EscalationRequested, broker: RabbitBroker
    ) -> EscalationCard:
        """Store the card, queue the session for an agent, announce it; reply with the card."""
        bind_turn(turn=request.correlation_id, tenant=request.tenant_id, session=request.session_id)
        card = build_card(request, hours, datetime.now(UTC))
        tenant = request.tenant_id
        if not await cards.save(tenant, card):  # a redelivery: the ticket exists already
            return await cards.get(tenant, card.ticket_id) or card
        card = await cards.get(tenant, card.ticket_id) or card
        if card.status == "pending" and card.reason != "ticket":
            await sessions.set_agent_status(tenant, card.session_id, "pending", card.ticket_id)
            await tell_customer(card, tenant, "queued", position=card.queue_position)
        elif card.status == "offline":
            await tell_customer(card, tenant, "ticket_created", agents_back_at=card.agents_back_at)
        await announce(
            broker,
            EscalationCreated(tenant_id=tenant, correlation_id=request.correlation_id, card=card),
            "created",
        )
        ESCALATIONS.labels(reason=card.reason).inc()
        logger.info(
            "escalation %s created (%s, %s, %s)",
            card.ticket_id,
            card.reason,
            card.priority,
            card.status,
        )
        return card

    @router.subscriber(topology.agent_commands)
    @settle_errors
    async def on_agent_command_requested(
        command: AgentCommandRequested, broker: RabbitBroker
    ) -> AgentCommandCompleted:
        """Claim, reply, resolve or hand back, if the ticket's state allows it."""
        tenant = command.tenant_id

        def completed(
            status: CommandStatus, card: EscalationCard | None = None, error: str | None = None
        ) -> AgentCommandCompleted:
            return AgentCommandCompleted(
                tenant_id=tenant,
                correlation_id=command.correlation_id,
                status=status,
                card=card,
                error=error,
            )

        if not TICKET_ID.fullmatch(command.ticket_id):  # it would address another key
            return completed("invalid", error="malformed ticket id")
        if command.action == "reply" and not command.text.strip():
            return completed("invalid", error="a reply needs text")
        outcome = await cards.apply(tenant, command.ticket_id, command.agent_id, command.action)
        card = await cards.get(tenant, command.ticket_id)
        if outcome == "not_found" or card is None:
            return completed("not_found", error="no such ticket")
        if outcome == "conflict":
            holder = f"held by {card.agent_id}" if card.agent_id else card.status
            return completed("conflict", card, f"ticket is {holder}")
        agent = command.agent_id
        if command.action == "claim":
            await sessions.set_agent_status(
                tenant, card.session_id, "assigned", card.ticket_id, agent
            )
            await tell_customer(card, tenant, "agent_joined", agent_id=agent)
            await announce(
                broker,
                EscalationUpdated(
                    tenant_id=tenant, correlation_id=command.correlation_id, card=card
                ),
                "assigned",
            )
        elif command.action == "reply":
            text = command.text.strip()
            await sessions.append_message(
                tenant, card.session_id, Message("agent", text, time.time(), agent)
            )
            await tell_customer(card, tenant, "agent_message", agent_id=agent, text=text)
            await events.append(
                events.agent_feed(tenant),
                "agent_message",
                {"ticket_id": card.ticket_id, "agent_id": agent, "text": text},
            )
        else:
            await sessions.set_agent_status(tenant, card.session_id, "bot")
            await tell_customer(
                card, tenant, "agent_left", agent_id=agent, resolved=command.action == "resolve"
            )
            state = "resolved" if command.action == "resolve" else "returned"
            await announce(
                broker,
                EscalationUpdated(
                    tenant_id=tenant, correlation_id=command.correlation_id, card=card
                ),
                state,
            )
        return completed("ok", card)

    return router
