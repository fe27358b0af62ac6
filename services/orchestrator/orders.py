"""The merchant's order system: a protocol, an HTTP adapter, and a demo with sample orders."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import httpx

from services.orchestrator.privacy import mask_personal_data
from shared.errors import DependencyTimeout, DependencyUnavailable


@dataclass(frozen=True)
class OrderStatus:
    """What a customer wants to know about an order, its shipment and any refund."""

    order_id: str
    status: str
    carrier: str = ""
    tracking_number: str = ""
    eta: str = ""
    location: str = ""
    refund_status: str = ""
    contact_phone: str = ""
    delivery_address: str = ""


class OrderLookup(Protocol):
    """Reads orders from the merchant's systems."""

    async def status(self, tenant_id: str, order_id: str) -> OrderStatus | None:
        """The order, or None if there is no such order; DependencyUnavailable if down."""
        ...


_DEMO_ORDERS = {
    order.order_id: order
    for order in (
        OrderStatus(
            "ORD-2024-001",
            "Shipped",
            "UPS",
            "1Z999AA10123456784",
            "expected within 2 business days",
            "Reno, NV sorting centre",
            "",
            "+1 (775) 555-0123",
            "221 Baker Street, Reno",
        ),
        OrderStatus(
            "ORD-2024-002",
            "Processing",
            eta="ships within 1 business day",
            contact_phone="13812345678",
        ),
        OrderStatus(
            "ORD-2024-003",
            "Delivered",
            "DHL",
            "JD014600006281473",
            "delivered on 18 November",
            "Rotterdam",
            "refund of €24.90 approved on "
            "20 November; it reaches your card within 5-7 business days",
        ),
    )
}


class DemoOrders:
    """Sample orders, the same for every tenant, so the product works out of the box."""

    async def status(self, tenant_id: str, order_id: str) -> OrderStatus | None:
        """Look an order up in the sample set."""
        return _DEMO_ORDERS.get(order_id.upper())


class HttpOrders:
    """Reads ``GET {base_url}/orders/{order_id}`` (JSON with OrderStatus's field names)."""

    def __init__(
        self,
        base_url: str,
        api_key: str = "",
        timeout: float = 5.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.AsyncClient(
            base_url=base_url, headers=headers, timeout=timeout, transport=transport
        )

    async def status(self, tenant_id: str, order_id: str) -> OrderStatus | None:
        """The order from the merchant's API; a 404 means no such order."""
        try:
            response = await self._client.get(
                f"/orders/{order_id.upper()}", headers={"X-Tenant-Id": tenant_id}
            )
        except httpx.TimeoutException as exc:
            raise DependencyTimeout("The order system did not answer in time") from exc
        except httpx.HTTPError as exc:
            raise DependencyUnavailable("The order system is unreachable") from exc
        if response.status_code == 404:
            return None
        if response.status_code >= 400:
            raise DependencyUnavailable(f"The order system answered {response.status_code}")
        known = set(OrderStatus.__dataclass_fields__)
        return OrderStatus(**{k: str(v) for k, v in response.json().items() if k in known})


def describe(order: OrderStatus, asked: str = "") -> str:
    """An answer about an order, focused on what was asked, with personal data masked."""
    wants_refund = any(w in asked.lower() for w in ("refund", "money back", "退款"))
    if wants_refund:
        text = (
            f"The refund for order {order.order_id}: {order.refund_status}."
            if order.refund_status
            else f"There is no refund on order {order.order_id}; it is {order.status.lower()}."
        )
    elif not order.tracking_number:
        text = f"Order {order.order_id} is {order.status.lower()}; it {order.eta}."
    else:
        where = f", last scanned at {order.location}" if order.location else ""
        text = (
            f"Order {order.order_id} is {order.status.lower()} with {order.carrier} "
            f"(tracking number {order.tracking_number}){where}, {order.eta}."
        )
    if order.delivery_address:
        text += f" It is going to {order.delivery_address}"
        text += f"; the carrier may call {order.contact_phone}." if order.contact_phone else "."
    return mask_personal_data(text)
