"""Hand-off: the customer is told, and an independent workbench receives the card."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import aio_pika
import httpx

from tests.e2e.conftest import ALICE_KEY, HEADERS
from tests.support.services import RABBITMQ_URL
from tests.support.stack import Stack

_DOCS = Path(__file__).resolve().parents[2] / "docs" / "schemas"
SCHEMAS = tuple(
    json.loads((_DOCS / name).read_text())
    for name in ("escalation-event.v1.schema.json", "customer-messaged.v1.schema.json")
)


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


async def test_a_schema_only_consumer_receives_every_card_and_state_change(stack: Stack) -> None:
    import jsonschema

    card_schema, message_schema = SCHEMAS
    prefix = stack.env["BROKER_PREFIX"]
    connection = await aio_pika.connect(RABBITMQ_URL)
    async with connection:
        channel = await connection.channel()
        exchange = await channel.get_exchange(f"{prefix}.escalations")
        queue = await channel.declare_queue(exclusive=True)
        for key in ("escalation.#", "conversation.#"):
            await queue.bind(exchange, routing_key=key)

        gateway = stack.of("gateway")[0].url
        alice = {"X-API-Key": ALICE_KEY}
        async with httpx.AsyncClient(base_url=gateway, timeout=30) as http:
            tickets = []
            for text in ("I want to talk to a human agent", "Please open a ticket for my toaster"):
                body = (
                    await http.post("/api/v1/chat", headers=HEADERS, json={"message": text})
                ).json()
                tickets.append((body["session_id"], body["data"]["escalation_card"]["ticket_id"]))
            session, human_ticket = tickets[0]
            path = f"/api/v1/agent/escalations/{human_ticket}"
            assert (await http.post(f"{path}/claim", headers=alice)).status_code == 200
            await http.post(
                "/api/v1/chat",
                headers=HEADERS,
                json={"message": "Still there?", "session_id": session},
            )
            assert (await http.post(f"{path}/resolve", headers=alice)).status_code == 200

        received: list[tuple[str, dict]] = []
        while len(received) < 5:
            message = await asyncio.wait_for(queue.get(timeout=10, fail=True), timeout=15)
            await message.ack()
            received.append((message.routing_key or "", json.loads(message.body)))
    for routing_key, event in received:
        schema = message_schema if routing_key.startswith("conversation.") else card_schema
        jsonschema.validate(event, schema)
    keys = [key.rsplit(".", 1)[0] for key, _ in received]
    assert keys == [
        "escalation.created.v1",
        "escalation.created.v1",
        "escalation.assigned.v1",
        "conversation.customer-messaged.v1",
        "escalation.resolved.v1",
    ]
    assert {e["card"]["ticket_id"] for k, e in received if k.startswith("escalation.created")} == {
        t for _, t in tickets
    }
