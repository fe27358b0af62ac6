"""A turn's hold on a connection slot: taken while it streams, freed however it ends."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from services.embedded import create_app
from shared.settings import Settings

HEADERS = {"X-API-Key": "test-key-0123456789"}


@pytest.fixture
def one_slot(embedded_settings: Settings) -> Iterator[TestClient]:
    settings = embedded_settings.model_copy(update={"max_connections_per_tenant": 1})
    with TestClient(create_app(settings), headers=HEADERS) as http:
        yield http


@pytest.mark.parametrize(
    ("path", "refused"),
    [
        ("/api/v1/chat/stream", {"message": "   "}),
        (
            "/v1/chat/completions",
            {"model": "m", "stream": True, "messages": [{"role": "user", "content": "x" * 20_000}]},
        ),
    ],
)
def test_a_turn_refused_at_the_start_frees_its_slot(
    one_slot: TestClient, path: str, refused: dict[str, object]
) -> None:
    for _ in range(2):  # the second would be a 429 if the first had kept the only slot
        assert one_slot.post(path, json=refused).status_code in (400, 422)
    assert one_slot.post("/api/v1/chat/stream", json={"message": "hi"}).status_code == 200


def test_a_finished_stream_frees_its_slot(one_slot: TestClient) -> None:
    for _ in range(2):
        streamed = one_slot.post("/api/v1/chat/stream", json={"message": "How long is shipping?"})
        assert streamed.status_code == 200
        assert "event: done" in streamed.text
