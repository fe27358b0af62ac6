"""Runs one service as its own process: parse --host/--port, check the settings, serve."""

from __future__ import annotations

import argparse
import gc
import ipaddress
import logging
import sys
from collections.abc import Callable, Sequence

import uvicorn
from pydantic import ValidationError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.observability import configure_logging
from shared.settings import Settings
from shared.tracing import configure_tracing

logger = logging.getLogger(__name__)


def run_service(
    name: str,
    default_port: int,
    create_app: Callable[[Settings], ASGIApp],
    argv: Sequence[str] | None = None,
    distributed: bool = True,
) -> None:
    """Entry point behind ``python -m services.<name>`` and ``frontdesk <name>``."""
    parser = argparse.ArgumentParser(
        prog=f"frontdesk {'run' if name == 'embedded' else name}",
        description=_DESCRIPTIONS.get(name, f"The {name} service of the distributed stack."),
        epilog=_ENVIRONMENT_HELP if distributed else _EMBEDDED_HELP,
    )
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default: 127.0.0.1; another needs API_KEY set)",
    )
    parser.add_argument(
        "--port",
        type=int,
        default=default_port,
        help=f"port of the HTTP API and ops endpoints (default: {default_port})",
    )
    args = parser.parse_args(argv)

    settings = _load_settings(name)
    configure_logging(settings.log_level, settings.log_format, service=name)
    if configure_tracing(name):
        logger.info("Tracing on: spans go to the OTLP endpoint as frontdesk-%s", name)
    if distributed:
        _require_servers(name, settings)
    _check_dev_mode(name, settings, args.host)
    serve(create_app(settings), args.host, args.port, settings.turn_timeout_seconds)


_DESCRIPTIONS = {
    "embedded": "Every service in one process, on an in-memory broker: no servers needed.",
    "gateway": "The HTTP and WebSocket API: publishes turns and relays their events.",
    "orchestrator": "Runs turns: intent, session, look-up, answer, hand-off.",
    "retriever": "Searches and ingests the knowledge bases.",
    "escalation": "Opens hand-offs to human agents and serves agent commands.",
}
_ENVIRONMENT_HELP = (
    "Settings come from the environment and ./.env: RABBITMQ_URL and REDIS_URL (required), "
    "API_KEY, OPENAI_BASE_URL, OPENAI_API_KEY, LLM_MODEL, WEAVIATE_URL, BROKER_PREFIX, "
    "REDIS_PREFIX, LOG_LEVEL, LOG_FORMAT, OTEL_EXPORTER_OTLP_ENDPOINT and the rest of the "
    "README's Configuration table."
)
_EMBEDDED_HELP = (
    "Settings come from the environment and ./.env: API_KEY, OPENAI_BASE_URL, OPENAI_API_KEY, "
    "LLM_MODEL, KNOWLEDGE_DIR, INDEX_DIR, REDIS_URL (empty: in memory), LOG_LEVEL and the rest "
    "of the README's Configuration table."
)


def _load_settings(name: str) -> Settings:
    """The settings, or exit listing what is wrong with them (never the values themselves)."""
    try:
        return Settings()
    except ValidationError as exc:
        problems = [
            f"  {'.'.join(map(str, e['loc'])).upper()}: {e['msg'].removeprefix('Value error, ')}"
            for e in exc.errors(include_input=False, include_url=False)
        ]
        sys.exit(f"services.{name} refuses to start:\n" + "\n".join(problems))


def is_loopback(host: str) -> bool:
    """True when ``host`` can be reached only from this machine."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to anything


def _check_dev_mode(name: str, settings: Settings, host: str) -> None:
    """Development mode (no API_KEY) says so at start, and stays on loopback unless allowed."""
    if settings.api_key.get_secret_value():
        return
    exposed = not is_loopback(host)
    if exposed and not settings.allow_insecure_dev_mode:
        sys.exit(
            f"services.{name} refuses to start: API_KEY is empty (development mode: the "
            f"gateway lets every caller act as admin of tenant {settings.tenant_id!r}, and "
            f"/metrics answers anyone) and --host {host} is reachable from other machines. "
            "Set API_KEY, bind to 127.0.0.1, or set ALLOW_INSECURE_DEV_MODE=true to run "
            "exposed anyway."
        )
    logger.warning(
        "DEVELOPMENT MODE: API_KEY is empty, so the gateway lets every caller act as admin of "
        "tenant %s and /metrics answers anyone. %s Set API_KEY before anyone else can reach it.",
        settings.tenant_id,
        f"EXPOSED on {host} (ALLOW_INSECURE_DEV_MODE=true)."
        if exposed
        else f"Listening on {host} only.",
    )


def _require_servers(name: str, settings: Settings) -> None:
    missing = [
        n
        for n, v in (("RABBITMQ_URL", settings.rabbitmq_url), ("REDIS_URL", settings.redis_url))
        if not v
    ]
    if missing:
        sys.exit(
            f"services.{name} runs in distributed mode and needs {' and '.join(missing)}; "
            "use `frontdesk run` for the single-process embedded mode."
        )


# Past the turn timeout a stream has ended with done, error or a 504; a little more covers
# the last events' trip through RabbitMQ.
WS_MAX_FRAME_BYTES = 1024 * 1024
STREAM_END_MARGIN_SECONDS = 5.0


def frozen_after_startup(app: ASGIApp) -> ASGIApp:
    """``app``, with what its startup built (models, dictionaries, clients) moved out of the
    garbage collector's sight once startup completes.

    A full collection of a process holding the embedding model and the Chinese dictionary
    took 110-250 ms here, a stall of every turn in that process; after ``gc.freeze`` it scans
    only what was allocated since.
    """

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            await app(scope, receive, send)
            return

        async def send_and_freeze(message: Message) -> None:
            if message["type"] == "lifespan.startup.complete":
                gc.collect()
                gc.freeze()
            await send(message)

        await app(scope, receive, send_and_freeze)

    return wrapped


def serve(app: ASGIApp, host: str, port: int, turn_timeout: float = 60.0) -> None:
    """Serve an ASGI app with uvicorn, quietly (our own logging says what matters).

    SIGTERM drains: uvicorn stops listening (so readiness probes fail and no new turn
    arrives), lets open streams finish for up to a turn's timeout, then runs the app's
    shutdown, where workers finish their in-flight messages.
    """
    uvicorn.run(
        frozen_after_startup(app),
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=int(turn_timeout + STREAM_END_MARGIN_SECONDS),
        # uvicorn buffers a WebSocket frame up to 16 MiB by default; past 1 MiB the socket is
        # closed (1009), and the gateway answers smaller oversized frames with an error frame.
        ws_max_size=WS_MAX_FRAME_BYTES,
    )
