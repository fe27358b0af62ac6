"""The order-system adapters, and how an order is described to the customer."""

from __future__ import annotations

import httpx
import pytest

from services.orchestrator.merchant import DemoMerchant, HttpMerchant, describe
from shared.errors import DependencyUnavailable


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
