"""Logging with turn context on every line, and the Prometheus metrics all services share.

No log line, at any level and from any library, carries message bodies or keys: every record
is scrubbed as it is made of the request data pydantic quotes in its errors (``input_value=...``:
message text, user ids), traceback included, and libraries that dump payloads at DEBUG stay at
INFO.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, get_args

from prometheus_client import Counter, Gauge, Histogram

from shared.events.chat import Grounding, Intent
from shared.events.escalation import Reason
from shared.tracing import current_trace_id, traced

correlation_id: contextvars.ContextVar[str] = contextvars.ContextVar("correlation_id", default="-")
tenant_id: contextvars.ContextVar[str] = contextvars.ContextVar("tenant_id", default="-")
session_id: contextvars.ContextVar[str] = contextvars.ContextVar("session_id", default="-")
# The gateway's X-Request-Id of the HTTP request or WebSocket being served.
request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")


def bind_turn(*, turn: str, tenant: str, session: str) -> None:
    """Put a turn's ids on every log line written from this context."""
    correlation_id.set(turn)
    tenant_id.set(tenant)
    session_id.set(session)


# They dump whole AMQP frames or LLM requests (message text included) at DEBUG: never below INFO.
PAYLOAD_LOGGERS = ("aiormq", "aio_pika", "openai", "httpcore")
# It writes every outgoing URL at INFO (an order id in an orders-API path): WARNING and up.
URL_LOGGERS = ("httpx",)
# Greedy to the line's last input_type: the quoted value may itself hold ", input_type=".
_INPUT_VALUE = re.compile(r"input_value=.*, input_type=")
_TRACEBACKS = logging.Formatter()


def scrub(text: str) -> str:
    """``text`` without the input values quoted in validation errors."""
    if "input_value=" not in text:
        return text
    return _INPUT_VALUE.sub("input_value=<hidden>, input_type=", text)


class _ScrubbedRecord(logging.LogRecord):
    """A log record whose message and traceback never quote request data, whoever formats it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.exc_info and self.exc_info[0] is not None:
            # Formatters use a record's exc_text when it is set: theirs is this scrubbed one.
            self.exc_text = scrub(_TRACEBACKS.formatException(self.exc_info))

    def getMessage(self) -> str:  # noqa: N802 - the logging API's name
        return scrub(super().getMessage())


class _ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.correlation_id = correlation_id.get()
        record.tenant_id = tenant_id.get()
        record.session_id = session_id.get()
        record.trace_id = current_trace_id() or "-"
        record.request_id = request_id.get()
        return True


class _JsonFormatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self._service = service

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "service": self._service,
            "logger": record.name,
            "msg": record.getMessage(),
            "correlation_id": getattr(record, "correlation_id", "-"),
            "tenant_id": getattr(record, "tenant_id", "-"),
            "session_id": getattr(record, "session_id", "-"),
            "trace_id": getattr(record, "trace_id", "-"),
            "request_id": getattr(record, "request_id", "-"),
        }
        if isinstance(http := getattr(record, "http", None), dict):  # an access line
            line.update(http)
        if record.exc_info:
            line["exc"] = record.exc_text or scrub(self.formatException(record.exc_info))
        return json.dumps(line, ensure_ascii=False)


def configure_logging(level: str = "INFO", fmt: str = "text", service: str = "frontdesk") -> None:
    """Root logging: JSON lines for production, readable text for a terminal; every record of
    the process (uvicorn's and FastStream's too) is scrubbed of request data."""
    logging.setLogRecordFactory(_ScrubbedRecord)
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_ContextFilter())
    if fmt == "json":
        handler.setFormatter(_JsonFormatter(service))
    else:
        handler.setFormatter(
            logging.Formatter(
                f"%(asctime)s %(levelname)s {service} %(name)s "
                "[turn=%(correlation_id)s tenant=%(tenant_id)s session=%(session_id)s "
                "req=%(request_id)s] %(message)s"
            )
        )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in PAYLOAD_LOGGERS:
        logging.getLogger(name).setLevel(max(root.level, logging.INFO))
    for name in URL_LOGGERS:
        logging.getLogger(name).setLevel(max(root.level, logging.WARNING))


TURNS = Counter(
    "frontdesk_turns_total", "Turns finished, by intent and outcome.", ["intent", "outcome"]
)
TURN_SECONDS = Histogram(
    "frontdesk_turn_duration_seconds",
    "Time from a turn's arrival at the orchestrator to its completion.",
    ["intent"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
# The stages of a turn up to meta, each timed where it runs (bench/turns.py reads them):
# gateway_publish, orchestrator_queue (publish to handler, by the event's own timestamp),
# session_load, routing (intent and the look-up it waits for), retrieval_embed (inside
# retrieval_search), meta_publish, meta_relay (orchestrator's meta to the gateway's relay).
TURN_STAGE_SECONDS = Histogram(
    "frontdesk_turn_stage_seconds",
    "Time a turn spends in each stage on its way to meta.",
    ["stage"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)


@contextmanager
def timed_stage(stage: str) -> Iterator[None]:
    """Observe how long the block takes as ``stage`` of TURN_STAGE_SECONDS, and trace it as a
    span of that name (session load, routing, search...: where a slow turn's time went)."""
    start = time.perf_counter()
    try:
        with traced(stage):
            yield
    finally:
        TURN_STAGE_SECONDS.labels(stage=stage).observe(time.perf_counter() - start)


def seconds_since(occurred_at: datetime) -> float:
    """Seconds since an event occurred in another process (0 if the clocks disagree)."""
    return max(0.0, (datetime.now(UTC) - occurred_at).total_seconds())


def observe_since(stage: str, occurred_at: datetime) -> None:
    """Observe the time since an event occurred (in another process) as ``stage``."""
    TURN_STAGE_SECONDS.labels(stage=stage).observe(seconds_since(occurred_at))


# Turn latency as the customer feels it, from the gateway's publish.
LATENCY_BUCKETS = (0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
TIME_TO_FIRST_TOKEN = Histogram(
    "frontdesk_time_to_first_token_seconds",
    "From the gateway's publish of a turn to the orchestrator's first token event, by intent.",
    ["intent"],
    buckets=LATENCY_BUCKETS,
)
HTTP_REQUESTS = Counter(
    "frontdesk_http_requests_total",
    "HTTP requests and WebSockets at the gateway, by route template, method and status.",
    ["route", "method", "status"],
)
HTTP_SECONDS = Histogram(
    "frontdesk_http_request_duration_seconds",
    "Time from a request's arrival to its response's end (a stream's whole length), by route.",
    ["route", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
OPEN_STREAMS = Gauge(
    "frontdesk_open_streams",
    "Responses still being sent by this gateway: SSE and NDJSON streams and WebSockets.",
)
LLM_REQUEST_SECONDS = Histogram(
    "frontdesk_llm_request_duration_seconds",
    "One streamed LLM request, from sending it to its last chunk, by outcome.",
    ["outcome"],
    buckets=LATENCY_BUCKETS,
)
LLM_TOKENS = Counter(
    "frontdesk_llm_completion_tokens_total",
    "Content pieces streamed back by the LLM (about one token each).",
)
LLM_BREAKER_OPEN = Gauge(
    "frontdesk_llm_breaker_open",
    "1 while this orchestrator's LLM circuit breaker is open or half open, else 0.",
)
LEASES_HELD = Gauge(
    "frontdesk_leases_held",
    "Leases of a cluster-wide pool (llm-leases: MAX_CONCURRENT_LLM_CALLS) this process holds.",
    ["pool"],
)
DEAD_LETTERED = Counter(
    "frontdesk_dead_lettered_total",
    "Messages a worker refused for good (sent to the dead-letter queue), by handler.",
    ["handler"],
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
RESOLUTION_OUTCOMES = ("resolved_by_bot", "handed_off", "no_answer", "reopened")
RESOLUTIONS = Counter(
    "frontdesk_resolutions_total",
    "Recorded turns by what they mean for resolution: resolved by the bot, handed off, "
    "unanswered by the knowledge base, or an earlier resolution reopened.",
    ["outcome"],
)
FEEDBACK = Counter(
    "frontdesk_feedback_total",
    "Customers' ratings of answers (a changed rating counts again).",
    ["rating"],
)


def _zero_known_labels() -> None:
    """Every label value known in advance is exported from the start, as 0: a dashboard or an
    alert then reads a rate of 0, not "no data", before the first hand-off or LLM error."""
    intents, reasons = get_args(Intent), get_args(Reason)
    for intent in intents:
        TIME_TO_FIRST_TOKEN.labels(intent=intent)
        TURN_SECONDS.labels(intent=intent)
    for reason in reasons:
        ESCALATIONS.labels(reason=reason)
    for outcome in ("ok", "failed", "stopped"):
        LLM_REQUEST_SECONDS.labels(outcome=outcome)
    for outcome in ("ok", "failed"):
        LLM_CALLS.labels(outcome=outcome)
    for outcome in ("hit", "miss"):
        CACHE_LOOKUPS.labels(outcome=outcome)
    for grounding in get_args(Grounding):
        GROUNDING_EVENTS.labels(outcome=grounding)
    for resolution in RESOLUTION_OUTCOMES:
        RESOLUTIONS.labels(outcome=resolution)
    for rating in ("up", "down"):
        FEEDBACK.labels(rating=rating)


_zero_known_labels()
