"""What customers are told through the embedded app when the order system is down."""

from __future__ import annotations

from fastapi.testclient import TestClient

from services.embedded import create_app
from shared.settings import Settings
from tests.support.stack import free_port


def test_an_order_system_outage_hands_over_with_the_right_reason(
    embedded_settings: Settings,
) -> None:
    settings = embedded_settings.model_copy(
        update={"orders_api_url": f"http://127.0.0.1:{free_port()}"}
    )
    with TestClient(create_app(settings), headers={"X-API-Key": "test-key-0123456789"}) as client:
        body = client.post("/api/v1/chat", json={"message": "Where is ORD-2024-001?"}).json()
    assert body["data"]["escalate_to_human"] is True
    assert body["data"]["escalation_card"]["reason"] == "business_system_down"
    assert "can't reach our order system" in body["reply"]
