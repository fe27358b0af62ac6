"""Ops endpoints every service serves: /healthz, /readyz and an authenticated /metrics."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from pydantic import SecretStr
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from shared.security import key_accepted

logger = logging.getLogger(__name__)
ReadinessCheck = Callable[[], Awaitable[bool]]


async def _passes(check: ReadinessCheck) -> bool:
    try:
        return await asyncio.wait_for(check(), timeout=2.0)
    except Exception:  # noqa: BLE001 - any failure means "not ready"
        return False


def ops_routes(checks: Mapping[str, ReadinessCheck], api_key: SecretStr) -> list[Route]:
    """Routes for liveness, readiness (every dependency answers) and Prometheus metrics."""

    async def healthz(_: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(_: Request) -> Response:
        results = await asyncio.gather(*(_passes(check) for check in checks.values()))
        status = dict(zip(checks, results, strict=True))
        ready = all(results)
        return JSONResponse(
            {"status": "ready" if ready else "not ready", "checks": status},
            status_code=200 if ready else 503,
        )

    async def metrics(request: Request) -> Response:
        if not key_accepted(api_key, request.headers):
            return JSONResponse({"detail": "Invalid or missing API key"}, status_code=401)
        return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)

    return [
        Route("/healthz", healthz, include_in_schema=False),
        Route("/readyz", readyz, include_in_schema=False),
        Route("/metrics", metrics, include_in_schema=False),
    ]
