"""A dependency that is down: readiness says so, requests get 503, nothing crashes."""

from __future__ import annotations

from fastapi.testclient import TestClient

from services.gateway.app import create_app
from shared.settings import Settings


def test_gateway_with_redis_down_is_not_ready_and_answers_503(real_settings: Settings) -> None:
    settings = real_settings.model_copy(update={"redis_url": "redis://127.0.0.1:1/0"})
    with TestClient(create_app(settings)) as client:
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["checks"] == {"redis": False, "rabbitmq": True}
        response = client.post("/api/v1/chat", json={"message": "How long is shipping?"})
        assert response.status_code == 503
        assert response.json() == {"detail": "Redis is unreachable"}
        assert client.get("/healthz").status_code == 200
