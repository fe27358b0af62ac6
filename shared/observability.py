"""Logging with turn context on every line, and the Prometheus metrics all services share."""

from __future__ import annotations

import contextvars
import json
import logging
import sys
from datetime import UTC, datetime

from prometheus_client import Counter, Histogram

correlation_id: contextvars.ContextVar[str] = contextvars.ContextVar("correlation_id", default="-")
tenant_id: contextvars.ContextVar[str] = contextvars.ContextVar("tenant_id", default="-")
session_id: contextvars.ContextVar[str] = contextvars.ContextVar("session_id", default="-")


def bind_turn(*, turn: str, tenant: str, session: str) -> None:
    """Put a turn's ids on every log line written from this context."""
    correlation_id.set(turn)
    tenant_id.set(tenant)
    session_id.set(session)


class _ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.correlation_id = correlation_id.get()
        record.tenant_id = tenant_id.get()
        record.session_id = session_id.get()
        return True


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
            "correlation_id": getattr(record, "correlation_id", "-"),
            "tenant_id": getattr(record, "tenant_id", "-"),
            "session_id": getattr(record, "session_id", "-"),
        }
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


def configure_logging(level: str = "INFO", fmt: str = "text", service: str = "frontdesk") -> None:
    """Root logging: JSON lines for production, readable text for a terminal."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_ContextFilter())
    if fmt == "json":
        handler.setFormatter(_JsonFormatter())
    else:
        handler.setFormatter(
            logging.Formatter(
                f"%(asctime)s %(levelname)s {service} %(name)s "
                "[turn=%(correlation_id)s tenant=%(tenant_id)s session=%(session_id)s] %(message)s"
            )
        )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())


TURNS = Counter(
    "frontdesk_turns_total", "Turns finished, by intent and outcome.", ["intent", "outcome"]
)
TURN_SECONDS = Histogram(
    "frontdesk_turn_duration_seconds",
    "Time from a turn's arrival at the orchestrator to its completion.",
    ["intent"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
CACHE_LOOKUPS = Counter(
    "frontdesk_cache_lookups_total", "Hot-cache lookups at the gateway.", ["outcome"]
)
ESCALATIONS = Counter("frontdesk_escalations_total", "Escalation cards created.", ["reason"])
RETRIEVAL_DEGRADED = Counter(
    "frontdesk_retrieval_degraded_total",
    "Searches that lost a side (lexical, vector) or the whole retriever.",
    ["path"],
)
LLM_CALLS = Counter("frontdesk_llm_calls_total", "Calls to the LLM, by outcome.", ["outcome"])
GROUNDING_EVENTS = Counter(
    "frontdesk_grounding_events_total",
    "Generated answers by the grounding guard's verdict: verified, regenerated, flagged, "
    "replaced or unchecked.",
    ["outcome"],
)
TOKEN_EVENTS = Counter(
    "frontdesk_token_events_total", "Coalesced token events published by orchestrators."
)
