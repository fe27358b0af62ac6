"""Escalation subscribers: turn a request into a stored card announced to every workbench."""

from __future__ import annotations

import logging

from faststream.rabbit import RabbitRouter
from faststream.rabbit.annotations import RabbitBroker

from services.escalation.escalation_card import build_card
from shared.events import EscalationCard, EscalationCreated, EscalationRequested
from shared.messaging import settle_errors
from shared.observability import ESCALATIONS, bind_turn
from shared.stores.escalations import RedisEscalationStore
from shared.stores.sessions import RedisSessionStore
from shared.topology import Topology

logger = logging.getLogger(__name__)


def build_router(
    cards: RedisEscalationStore, sessions: RedisSessionStore, topology: Topology
) -> RabbitRouter:
    """Subscribers of the escalation worker."""
    router = RabbitRouter()

    @router.subscriber(topology.escalation_requests)
    @settle_errors
    async def on_escalation_requested(
        request: EscalationRequested, broker: RabbitBroker
    ) -> EscalationCard:
        """Store the card, mark the session pending, announce it; reply with the card."""
        bind_turn(turn=request.correlation_id, tenant=request.tenant_id, session=request.session_id)
        card = build_card(request)
        if await cards.save(request.tenant_id, card):
            await sessions.set_agent_status(request.tenant_id, request.session_id, "pending")
            await broker.publish(
                EscalationCreated(
                    tenant_id=request.tenant_id, correlation_id=request.correlation_id, card=card
                ),
                exchange=topology.escalations,
                routing_key=f"{EscalationCreated.routing_key}.{request.tenant_id}",
                persist=True,
            )
            ESCALATIONS.labels(reason=card.reason).inc()
            logger.info(
                "escalation %s created (%s, %s)", card.ticket_id, card.reason, card.priority
            )
        else:
            card = await cards.get(request.tenant_id, card.ticket_id) or card
        return card

    return router
