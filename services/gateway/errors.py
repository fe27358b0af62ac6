"""Maps Frontdesk's error tree (and FastAPI's validation errors) to HTTP, in one place."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from shared.errors import (
    AppError,
    Conflict,
    DependencyTimeout,
    DependencyUnavailable,
    Forbidden,
    InvalidInput,
    NotFound,
    TooManyRequests,
    Unauthorized,
)

logger = logging.getLogger(__name__)

STATUS_BY_ERROR: list[tuple[type[AppError], int]] = [
    (InvalidInput, 422),
    (NotFound, 404),
    (Conflict, 409),
    (Unauthorized, 401),
    (Forbidden, 403),
    (TooManyRequests, 429),
    (DependencyTimeout, 504),
    (DependencyUnavailable, 503),
]


def status_for(exc: AppError) -> int:
    return next((status for cls, status in STATUS_BY_ERROR if isinstance(exc, cls)), 503)


def describe_errors(errors: Sequence[Any]) -> str:
    """``field: problem; ...`` from pydantic's errors; the input itself is never echoed."""
    return "; ".join(
        f"{'.'.join(str(p) for p in e.get('loc', ()) if p != 'body') or 'body'}: "
        f"{e.get('msg', 'invalid')}"
        for e in errors
    )


def _describe_validation(exc: RequestValidationError) -> tuple[int, str]:
    errors = exc.errors()
    if any(error.get("type") == "json_invalid" for error in errors):
        return 400, "Request body is not valid JSON"
    return 422, describe_errors(errors)


# Dify's error codes, by status, for its clients (dify_client.errors reads status and code).
DIFY_CODES = {
    400: "invalid_param",
    404: "not_found",
    422: "invalid_param",
    429: "too_many_requests",
}

# RAGFlow's business codes, by status (its SDK raises the message of any code but 0).
RAGFLOW_CODES = {400: 101, 401: 109, 403: 108, 404: 102, 405: 101, 409: 103, 413: 101, 422: 101}


def error_body(path: str, status: int, detail: str) -> dict[str, Any]:
    """``{"detail": ...}``; under ``/v1`` also OpenAI's ``error`` object, which its clients show,
    under ``/compat/dify`` Dify's ``status``, ``code`` and ``message``, and under
    ``/compat/ragflow`` RAGFlow's ``code`` and ``message``."""
    if path.startswith("/compat/ragflow/"):
        return {"code": RAGFLOW_CODES.get(status, 100), "message": detail}
    if path.startswith("/compat/dify/"):
        code = DIFY_CODES.get(status, "internal_server_error" if status >= 500 else "bad_request")
        return {"detail": detail, "status": status, "code": code, "message": detail}
    if not path.startswith("/v1/"):
        return {"detail": detail}
    kind = "server_error" if status >= 500 else "invalid_request_error"
    return {"detail": detail, "error": {"message": detail, "type": kind, "code": status}}


def install_error_handlers(app: FastAPI) -> None:
    """Every error leaves as ``{"detail": "..."}`` with the right status."""

    @app.exception_handler(AppError)
    async def on_app_error(request: Request, exc: AppError) -> JSONResponse:
        status = status_for(exc)
        if status >= 500:
            logger.warning("request failed: %s", exc.message)
        headers = (
            {**exc.headers, "Retry-After": str(exc.retry_after)}
            if isinstance(exc, TooManyRequests)
            else {}
        )
        body = error_body(request.url.path, status, exc.message)
        return JSONResponse(body, status_code=status, headers=headers)

    @app.exception_handler(Exception)
    async def on_bug(request: Request, exc: Exception) -> JSONResponse:
        logger.exception("unhandled error")
        body = error_body(request.url.path, 500, "Internal error; it has been logged")
        return JSONResponse(body, status_code=500)

    @app.exception_handler(RequestValidationError)
    async def on_invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        # Only a summary of what is wrong: the body itself is never logged or echoed.
        status, detail = _describe_validation(exc)
        return JSONResponse(error_body(request.url.path, status, detail), status_code=status)

    @app.exception_handler(StarletteHTTPException)
    async def on_http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        # FastAPI's own: unknown route, wrong method, a body too deep or long to parse.
        body = error_body(request.url.path, exc.status_code, str(exc.detail))
        return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)
