"""The web pages the gateway serves: a customer chat widget, the agent workbench and its
outcomes page.

All run under a strict Content-Security-Policy: scripts and styles come only from the files
under /web/ on this origin (no inline code, no eval), requests go only to this origin, and
only the sites in FRAME_ANCESTORS may frame the widget. The workbench is never framed, so no
other site can overlay an agent's claim or reply buttons.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

from services.gateway.deps import SettingsDep
from shared.errors import NotFound

WEB = Path(__file__).resolve().parent / "web"
ASSETS = {
    "sse.js": "text/javascript",
    "widget.js": "text/javascript",
    "widget.css": "text/css",
    "workbench.js": "text/javascript",
    "workbench.css": "text/css",
    "analytics.js": "text/javascript",
    "analytics.css": "text/css",
}
NOT_FRAMED = "'none'"
COMMON_HEADERS = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}
router = APIRouter(include_in_schema=False)


def page_headers(frame_ancestors: str) -> dict[str, str]:
    """The security headers of a page that ``frame_ancestors`` (CSP sources) may frame."""
    policy = "; ".join(
        (
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            "connect-src 'self'",
            "img-src 'self'",
            "form-action 'none'",
            "base-uri 'none'",
            f"frame-ancestors {frame_ancestors}",
            # Rules out HTML-string sinks (innerHTML and the like): text goes in as text.
            "require-trusted-types-for 'script'",
        )
    )
    headers = {"Content-Security-Policy": policy, **COMMON_HEADERS}
    if frame_ancestors == NOT_FRAMED:  # the same, for browsers that predate frame-ancestors
        headers["X-Frame-Options"] = "DENY"
    return headers


@router.get("/widget")
async def widget(settings: SettingsDep) -> FileResponse:
    """The customer chat widget (plain HTML and JavaScript, no build step)."""
    return FileResponse(
        WEB / "widget.html", media_type="text/html", headers=page_headers(settings.frame_ancestors)
    )


@router.get("/workbench")
async def workbench() -> FileResponse:
    """The agent workbench."""
    return FileResponse(
        WEB / "workbench.html", media_type="text/html", headers=page_headers(NOT_FRAMED)
    )


@router.get("/workbench/analytics")
async def analytics() -> FileResponse:
    """The outcomes page for support leads (an admin key reads the figures)."""
    return FileResponse(
        WEB / "analytics.html", media_type="text/html", headers=page_headers(NOT_FRAMED)
    )


@router.get("/web/{name}")
async def asset(name: str) -> FileResponse:
    """The pages' scripts and styles; the SSE reader runs over fetch() to send the key header."""
    media_type = ASSETS.get(name)
    if media_type is None:
        raise NotFound(f"No such file: {name}")
    return FileResponse(WEB / name, media_type=media_type, headers=COMMON_HEADERS)
