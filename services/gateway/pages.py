"""The web pages the gateway serves: a customer chat widget and the agent workbench."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

WEB = Path(__file__).resolve().parent / "web"
router = APIRouter(include_in_schema=False)


@router.get("/widget")
async def widget() -> FileResponse:
    """The customer chat widget (plain HTML and JavaScript, no build step)."""
    return FileResponse(WEB / "widget.html", media_type="text/html")


@router.get("/workbench")
async def workbench() -> FileResponse:
    """The agent workbench."""
    return FileResponse(WEB / "workbench.html", media_type="text/html")


@router.get("/web/sse.js")
async def sse_client() -> FileResponse:
    """A small SSE reader over fetch(), so requests can carry an API key header."""
    return FileResponse(WEB / "sse.js", media_type="text/javascript")
