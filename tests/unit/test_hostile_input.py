"""Hostile input: bodies cut off at the limit while they stream, text no store can hold, and
logs that never quote what was sent (the embedded app's share is in tests/component)."""

from __future__ import annotations

import json
import logging

import pytest
from fastapi import FastAPI
from pydantic import BaseModel, Field
from starlette.types import Message

from services.gateway.limits import MAX_BODY_BYTES, BodySizeLimit
from services.gateway.unicode_text import lone_surrogate_at
from shared.observability import configure_logging

CHUNK = b"x" * 4096
TOO_LARGE = f"Request body exceeds {MAX_BODY_BYTES} bytes"


async def _post_chunked(
    app: BodySizeLimit, chunks: int, path: str = "/echo"
) -> tuple[list[Message], int]:
    """POST ``chunks`` chunks (no Content-Length) through the app: what it sent, and how many
    chunks it pulled."""
    pulled, sent = 0, []

    async def receive() -> Message:
        nonlocal pulled
        pulled += 1
        return {"type": "http.request", "body": CHUNK, "more_body": pulled < chunks}

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [(b"content-type", b"application/json")],
    }
    await app(scope, receive, send)
    return sent, pulled


async def test_a_chunked_body_is_refused_once_it_crosses_the_limit_without_being_read() -> None:
    reached = []
    inner = FastAPI()

    @inner.post("/echo")
    async def echo(body: dict[str, str]) -> dict[str, str]:
        reached.append(body)
        return body

    forty_megabytes = 40 * 1024 * 1024 // len(CHUNK)
    sent, pulled = await _post_chunked(BodySizeLimit(inner), forty_megabytes)
    assert sent[0]["status"] == 413
    assert json.loads(sent[1]["body"]) == {"detail": TOO_LARGE}
    assert len(sent) == 2, "nothing after the 413"
    assert pulled * len(CHUNK) <= MAX_BODY_BYTES + len(CHUNK), "read no further than the limit"
    assert not reached, "the endpoint never ran"


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/api/v1/chat", {"detail": TOO_LARGE}),
        ("/compat/ragflow/api/v1/datasets", {"code": 101, "message": TOO_LARGE}),
        (
            "/compat/dify/v1/chat-messages",
            {"detail": TOO_LARGE, "status": 413, "code": "bad_request", "message": TOO_LARGE},
        ),
        (
            "/v1/chat/completions",
            {
                "detail": TOO_LARGE,
                "error": {"message": TOO_LARGE, "type": "invalid_request_error", "code": 413},
            },
        ),
    ],
)
async def test_a_refused_body_is_told_in_the_envelope_of_the_api_it_was_sent_to(
    path: str, expected: dict[str, object]
) -> None:
    inner = FastAPI()

    @inner.post(path)
    async def echo(body: dict[str, str]) -> dict[str, str]:
        return body

    sent, _ = await _post_chunked(BodySizeLimit(inner), 40, path)
    assert sent[0]["status"] == 413
    assert json.loads(sent[1]["body"]) == expected


def test_lone_surrogates_are_found_wherever_they_hide_and_pairs_are_fine() -> None:
    found = lone_surrogate_at(json.loads('{"messages": [{"content": [{"text": "a\\ud800"}]}]}'))
    assert found == "messages.0.content.0.text"
    assert lone_surrogate_at(json.loads('{"variables": {"\\udc00": "v"}}')) is not None
    assert lone_surrogate_at(json.loads('{"message": "emoji \\ud83d\\ude00 ok"}')) is None
    deep = json.loads("[" * 900 + '"\\udfff"' + "]" * 900)
    assert lone_surrogate_at(deep) == ".".join(["0"] * 900)


class _Body(BaseModel):
    message: str = Field(max_length=5)


@pytest.mark.parametrize("fmt", ["text", "json"])
@pytest.mark.usefixtures("restored_logging")
def test_tracebacks_and_messages_never_quote_request_data(
    capsys: pytest.CaptureFixture[str], fmt: str
) -> None:
    configure_logging("DEBUG", fmt, service="test")
    secret = "my card number is 4111, input_type=str] and more"
    try:
        _Body(message=secret)
    except ValueError:
        logging.getLogger("uvicorn.error").exception("Exception in ASGI application")
    logging.getLogger("anything").error(
        "validation failed: %s", f"input_value='{secret}', input_type=str]"
    )
    logging.getLogger("aiormq.connection").debug("Prepare to send frame %r", secret)
    written = capsys.readouterr().err
    assert "ValidationError" in written and "input_value=<hidden>" in written
    assert "4111" not in written
