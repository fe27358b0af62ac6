"""OpenTelemetry tracing: one trace per turn across the gateway, the broker and the workers.

Off unless ``OTEL_EXPORTER_OTLP_ENDPOINT`` (or ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``) is set;
then spans go over OTLP/HTTP (protobuf), and the SDK's standard variables apply
(``OTEL_TRACES_SAMPLER``, ``OTEL_TRACES_SAMPLER_ARG``, ``OTEL_BSP_*``, ``OTEL_RESOURCE_ATTRIBUTES``).
Trace context crosses RabbitMQ in each message's headers (FastStream's telemetry middleware).
No span carries a message body, a key or a query string.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from opentelemetry import trace
from opentelemetry.util.types import AttributeValue

ENDPOINT_VARIABLES = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
# The URL attributes (old and stable semantic conventions) that would carry a query string:
# a WebSocket's ``?api_key=...`` must never reach a trace.
_URL_ATTRIBUTES = ("http.target", "http.url", "url.full", "url.query")

_provider: Any = None  # the SDK's TracerProvider once configured; typed loosely: optional import
_tracer = trace.get_tracer("frontdesk")


def tracing_requested() -> bool:
    """True when the environment names an OTLP endpoint and does not disable the SDK."""
    if os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    return any(os.environ.get(name, "").strip() for name in ENDPOINT_VARIABLES)


def configure_tracing(service: str) -> bool:
    """Export this process's spans as ``frontdesk-<service>``, if requested; True if on."""
    global _provider
    if _provider is not None or not tracing_requested():
        return _provider is not None
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    # The sampler comes from OTEL_TRACES_SAMPLER (default: parent-based, always on); the
    # provider flushes its batch at exit, so a SIGTERM'd process sends its last spans.
    _provider = TracerProvider(resource=Resource.create({SERVICE_NAME: f"frontdesk-{service}"}))
    _provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(_provider)
    return True


def broker_middlewares() -> tuple[Any, ...]:
    """FastStream's RabbitMQ telemetry middleware when tracing is on, else nothing at all."""
    if _provider is None:
        return ()
    from faststream.rabbit.opentelemetry import RabbitTelemetryMiddleware

    return (RabbitTelemetryMiddleware(tracer_provider=_provider),)


def instrument_http(app: Any) -> None:
    """A server span per HTTP request or WebSocket of a FastAPI app, when tracing is on."""
    if _provider is None:
        return
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    FastAPIInstrumentor.instrument_app(
        app,
        tracer_provider=_provider,
        excluded_urls="healthz,readyz,metrics",
        # One span per request, not one more per SSE chunk sent.
        exclude_spans=["receive", "send"],
        server_request_hook=_without_query,
    )


def _without_query(span: Any, scope: dict[str, Any]) -> None:
    """Drop the query string from the request span's URL attributes."""
    if not span.is_recording() or not scope.get("query_string"):
        return
    attributes = getattr(span, "attributes", None) or {}
    for name in _URL_ATTRIBUTES:
        value = attributes.get(name)
        if isinstance(value, str):
            span.set_attribute(name, "" if name == "url.query" else value.split("?", 1)[0])


@contextmanager
def traced(name: str, **attributes: AttributeValue) -> Iterator[trace.Span]:
    """A span around a block; with tracing off, nothing at all (a no-op span still cost
    10 us a block, on every stage of every turn)."""
    if _provider is None:
        yield trace.INVALID_SPAN
        return
    with _tracer.start_as_current_span(name, attributes=attributes) as span:
        yield span


def start_span(name: str, **attributes: AttributeValue) -> trace.Span:
    """A child span of the current one that the caller ends; not made current, so it can
    outlive the block that opened it (an async generator that yields in between)."""
    return _tracer.start_span(name, attributes=attributes)


def current_trace_id() -> str | None:
    """The current span's trace id as 32 hex digits, or None outside a sampled span."""
    context = trace.get_current_span().get_span_context()
    return f"{context.trace_id:032x}" if context.is_valid else None
