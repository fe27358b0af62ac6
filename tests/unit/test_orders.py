"""The order-system adapters, and what customers are told about their orders."""

from __future__ import annotations

import httpx
import pytest
from fastapi.testclient import TestClient

from services.embedded import create_app
from services.orchestrator.merchant import DemoMerchant, HttpMerchant, describe
from shared.errors import DependencyUnavailable
from shared.settings import Settings
from tests.support.stack import free_port


def _merchant(request: httpx.Request) -> httpx.Response:
    assert request.headers["authorization"] == "Bearer merchant-key"
    assert request.headers["x-tenant-id"] == "acme"
    if request.url.path == "/orders/ORD-2024-777":
        return httpx.Response(
            200,
            json={
                "order_id": "ORD-2024-777",
                "status": "Shipped",
                "carrier": "DHL",
                "tracking_number": "JD000123456",
                "eta": "arriving tomorrow",
                "extra": "ignored",
            },
        )
    if request.url.path == "/orders/ORD-2024-500":
        return httpx.Response(500, json={"error": "boom"})
    return httpx.Response(404)


async def test_http_adapter_reads_orders_and_reports_outages() -> None:
    orders = HttpMerchant(
        "http://merchant", "merchant-key", transport=httpx.MockTransport(_merchant)
    )
    order = await orders.status("acme", "ord-2024-777")
    assert order is not None and (order.carrier, order.eta) == ("DHL", "arriving tomorrow")
    assert await orders.status("acme", "ORD-2024-404") is None
    with pytest.raises(DependencyUnavailable):
        await orders.status("acme", "ORD-2024-500")


async def test_refund_questions_get_the_refund_status() -> None:
    order = await DemoMerchant().status("any", "ORD-2024-003")
    assert order is not None
    assert "refund of €24.90 approved" in describe(order, "has my refund gone through?")
    assert "delivered" in describe(order, "where is it?")


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
