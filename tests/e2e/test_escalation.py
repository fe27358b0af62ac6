"""Hand-off: the customer is told, and an independent workbench receives the card."""

from __future__ import annotations

import asyncio
import json

import aio_pika
import httpx
import pytest

from tests.e2e.conftest import HEADERS
from tests.support.services import RABBITMQ_URL
from tests.support.stack import Stack

pytestmark = pytest.mark.e2e


async def test_human_request_escalates_and_a_workbench_receives_the_card(stack: Stack) -> None:
    prefix = stack.env["BROKER_PREFIX"]
    connection = await aio_pika.connect(RABBITMQ_URL)
    async with connection:
        channel = await connection.channel()
        # A workbench written only against the documented exchange and routing keys.
        exchange = await channel.get_exchange(f"{prefix}.escalations")
        queue = await channel.declare_queue(exclusive=True)
        await queue.bind(exchange, routing_key="escalation.created.#")

        async with httpx.AsyncClient(
            base_url=stack.of("gateway")[0].url, headers=HEADERS, timeout=30
        ) as http:
            response = await http.post(
                "/api/v1/chat",
                json={
                    "message": "I want to talk to a human agent",
                    "channel": "web",
                    "user_id": "u-42",
                },
            )
        assert response.status_code == 200
        body = response.json()
        assert body["data"]["intent"] == "transfer_to_human"
        assert body["data"]["escalate_to_human"] is True
        card = body["data"]["escalation_card"]
        assert card["session_id"] == body["session_id"]
        assert card["user_id"] == "u-42"
        assert card["channel"] == "web"
        assert card["reason"] == "explicit_request"
        assert card["priority"] == "urgent"  # an explicit request comes first
        assert card["turn_count"] == 1
        assert "I want to talk to a human agent" in card["summary"]
        assert card["last_messages"][0] == {
            "role": "user",
            "content": "I want to talk to a human agent",
        }

        message = await asyncio.wait_for(queue.get(timeout=10, fail=True), timeout=15)
        await message.ack()
        event = json.loads(message.body)
        assert event["card"]["ticket_id"] == card["ticket_id"]
        assert event["tenant_id"] == "default"
        assert event["version"] == 1
