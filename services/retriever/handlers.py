"""Retriever subscribers: answer retrieval requests from the index."""

from __future__ import annotations

import logging

from faststream.rabbit import RabbitRouter

from services.retriever.hybrid_search import HybridIndex
from shared.events import Passage, RetrievalCompleted, RetrievalRequested
from shared.messaging import settle_errors
from shared.observability import bind_turn
from shared.topology import Topology

logger = logging.getLogger(__name__)


def build_router(index: HybridIndex, topology: Topology) -> RabbitRouter:
    """Subscribers of the retriever, bound to ``index``."""
    router = RabbitRouter()

    @router.subscriber(topology.retrieval_requests)
    @settle_errors
    async def on_retrieval_requested(request: RetrievalRequested) -> RetrievalCompleted:
        """Search the knowledge base and reply with the best passages."""
        bind_turn(turn=request.correlation_id, tenant=request.tenant_id, session="-")
        hits = index.search(request.query, request.top_k)
        logger.debug("retrieval found %d passages", len(hits))
        return RetrievalCompleted(
            tenant_id=request.tenant_id,
            correlation_id=request.correlation_id,
            passages=[
                Passage(
                    doc_name=h.chunk.doc_name, title=h.chunk.title, text=h.chunk.text, score=h.score
                )
                for h in hits
            ],
        )

    return router
