"""Client-chosen ids never rewrite the merchant URL: a real HTTP server records what arrives."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from services.orchestrator.merchant import HttpMerchant
from tests.support.merchant import RecordingMerchant, running_merchant

KEY = "Bearer merchant-secret-key"


@pytest.fixture
def merchant() -> Iterator[RecordingMerchant]:
    with running_merchant() as server:
        yield server


@pytest.mark.parametrize(
    ("user_id", "target"),
    [
        ("../../admin/export?all=1#", "/customers/..%2F..%2Fadmin%2Fexport%3Fall%3D1%23"),
        ("alice@example.com", "/customers/alice%40example.com"),
        ("a b/c", "/customers/a%20b%2Fc"),
        ("%2e%2e", "/customers/%252e%252e"),  # already-encoded dots stay literal text
        ("x\r\nX-Injected: 1", "/customers/x%0D%0AX-Injected%3A%201"),
        ("用户", "/customers/%E7%94%A8%E6%88%B7"),
        ("u-1001", "/customers/u-1001"),
    ],
)
async def test_a_user_id_is_one_escaped_path_segment(
    merchant: RecordingMerchant, user_id: str, target: str
) -> None:
    orders = HttpMerchant(merchant.url, "merchant-secret-key")
    assert await orders.member_level("acme", user_id) == "gold"
    assert merchant.targets == [target]
    assert merchant.requests[0].authorization == KEY


@pytest.mark.parametrize("user_id", [".", ".."])
async def test_a_dot_segment_user_id_is_never_sent(
    merchant: RecordingMerchant, user_id: str
) -> None:
    orders = HttpMerchant(merchant.url, "merchant-secret-key")
    assert await orders.member_level("acme", user_id) == "standard"
    assert merchant.targets == []


async def test_only_order_numbers_are_looked_up(merchant: RecordingMerchant) -> None:
    orders = HttpMerchant(merchant.url, "merchant-secret-key")
    found = await orders.status("acme", "ord-2024-001")
    assert found is not None and found.carrier == "UPS"
    for hostile in ("ORD-2024-001/../../admin/export", "../admin", "ORD-2024-001?all=1", ""):
        assert await orders.status("acme", hostile) is None
    assert merchant.targets == ["/orders/ORD-2024-001"]


async def test_a_base_path_is_kept_and_never_escaped_from(merchant: RecordingMerchant) -> None:
    orders = HttpMerchant(f"{merchant.url}/api/v2", "merchant-secret-key")
    await orders.member_level("acme", "../../../admin")
    await orders.status("acme", "ORD-2024-001")
    assert merchant.targets == [
        "/api/v2/customers/..%2F..%2F..%2Fadmin",
        "/api/v2/orders/ORD-2024-001",
    ]
