"""Order look-ups for business queries, with a demo catalogue so the product works out of the box."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class OrderStatus:
    """What a customer wants to know about an order."""

    order_id: str
    status: str
    carrier: str
    tracking_number: str
    eta: str


class OrderLookup(Protocol):
    """The merchant's order system."""

    async def status(self, tenant_id: str, order_id: str) -> OrderStatus | None:
        """The order's status, or None if there is no such order."""
        ...


_DEMO_ORDERS = {
    "ORD-2024-001": OrderStatus(
        "ORD-2024-001", "Shipped", "UPS", "1Z999AA10123456784", "expected within 2 business days"
    ),
    "ORD-2024-002": OrderStatus(
        "ORD-2024-002", "Processing", "-", "-", "ships within 1 business day"
    ),
    "ORD-2024-003": OrderStatus(
        "ORD-2024-003", "Delivered", "DHL", "JD014600006281473", "delivered 3 days ago"
    ),
}


class DemoOrders:
    """A fixed set of sample orders, the same for every tenant."""

    async def status(self, tenant_id: str, order_id: str) -> OrderStatus | None:
        """Look an order up in the sample set."""
        return _DEMO_ORDERS.get(order_id.upper())


def describe(order: OrderStatus) -> str:
    """A one-paragraph answer about an order."""
    if order.tracking_number == "-":
        return f"Order {order.order_id} is {order.status.lower()}; it {order.eta}."
    return (
        f"Order {order.order_id} is {order.status.lower()} with {order.carrier} "
        f"(tracking number {order.tracking_number}), {order.eta}."
    )
