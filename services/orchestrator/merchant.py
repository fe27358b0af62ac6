"""The merchant's systems (orders, customers): a protocol, an HTTP adapter, and a demo."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol
from urllib.parse import quote

import httpx

from services.orchestrator.intents import ORDER_ID
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


class MerchantSystems(Protocol):
    """Reads orders and customers from the merchant's systems."""

    async def status(self, tenant_id: str, order_id: str) -> OrderStatus | None:
        """The order, or None if there is no such order; DependencyUnavailable if down."""
        ...

    async def member_level(self, tenant_id: str, user_id: str) -> str:
        """The customer's membership level (standard, silver, gold, platinum)."""
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


class DemoMerchant:
    """Sample orders, the same for every tenant, so the product works out of the box."""

    async def status(self, tenant_id: str, order_id: str) -> OrderStatus | None:
        """Look an order up in the sample set."""
        return _DEMO_ORDERS.get(order_id.upper())

    async def member_level(self, tenant_id: str, user_id: str) -> str:
        """Demo customers whose id starts with ``vip-`` are Platinum members."""
        return "platinum" if user_id.lower().startswith("vip-") else "standard"


def path_segment(value: str) -> str | None:
    """``value`` as one percent-encoded URL path segment; None if it cannot be one.

    Every character outside the unreserved set is encoded, so ``/``, ``?`` and ``#`` stay
    inside the segment. ``.`` and ``..`` are refused: HTTP clients resolve them as steps up
    the path, whatever the encoding around them.
    """
    if value in ("", ".", ".."):
        return None
    return quote(value, safe="")


class HttpMerchant:
    """The merchant's HTTP API: ``/orders/{id}`` (OrderStatus's fields) and ``/customers/{id}``.

    Ids come from customers, so each goes into the URL as one escaped path segment: whatever a
    customer sends, the operator's key is sent to these two paths and nowhere else.
    """

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

    async def _get(self, tenant_id: str, resource: str, key: str) -> dict[str, object] | None:
        """``GET /{resource}/{key}``; None for a 404 or a key that cannot be a path segment."""
        segment = path_segment(key)
        if segment is None:
            return None
        try:
            response = await self._client.get(
                f"/{resource}/{segment}", headers={"X-Tenant-Id": tenant_id}
            )
        except httpx.TimeoutException as exc:
            raise DependencyTimeout("The merchant's system did not answer in time") from exc
        except httpx.HTTPError as exc:
            raise DependencyUnavailable("The merchant's system is unreachable") from exc
        if response.status_code == 404:
            return None
        if response.status_code >= 400:
            raise DependencyUnavailable(f"The merchant's system answered {response.status_code}")
        return response.json()  # type: ignore[no-any-return]

    async def status(self, tenant_id: str, order_id: str) -> OrderStatus | None:
        """``GET /orders/{id}``; a 404, or an id that is not an order number, means no such order."""
        if not ORDER_ID.fullmatch(order_id):
            return None
        found = await self._get(tenant_id, "orders", order_id.upper())
        if found is None:
            return None
        known = set(OrderStatus.__dataclass_fields__)
        return OrderStatus(**{k: str(v) for k, v in found.items() if k in known})

    async def member_level(self, tenant_id: str, user_id: str) -> str:
        """``GET /customers/{user_id}`` → ``{"member_level": ...}``; unknown = standard."""
        found = await self._get(tenant_id, "customers", user_id)
        return str((found or {}).get("member_level", "standard"))


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
