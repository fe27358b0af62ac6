"""Runs one service as its own process: parse --host/--port, configure logging, serve."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

import uvicorn
from starlette.types import ASGIApp

from shared.observability import configure_logging
from shared.settings import Settings


def run_service(
    name: str,
    default_port: int,
    create_app: Callable[[Settings], ASGIApp],
    argv: Sequence[str] | None = None,
    distributed: bool = True,
) -> None:
    """Entry point behind ``python -m services.<name>`` and ``frontdesk <name>``."""
    parser = argparse.ArgumentParser(prog=f"python -m services.{name}")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=default_port)
    args = parser.parse_args(argv)

    settings = Settings()
    configure_logging(settings.log_level, settings.log_format, service=name)
    if distributed:
        _require_servers(name, settings)
    serve(create_app(settings), args.host, args.port, settings.turn_timeout_seconds)


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
STREAM_END_MARGIN_SECONDS = 5.0


def serve(app: ASGIApp, host: str, port: int, turn_timeout: float = 60.0) -> None:
    """Serve an ASGI app with uvicorn, quietly (our own logging says what matters).

    SIGTERM drains: uvicorn stops listening (so readiness probes fail and no new turn
    arrives), lets open streams finish for up to a turn's timeout, then runs the app's
    shutdown, where workers finish their in-flight messages.
    """
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=int(turn_timeout + STREAM_END_MARGIN_SECONDS),
    )
