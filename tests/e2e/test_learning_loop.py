"""The learning loop on the distributed stack: a question the bot cannot answer goes to an
agent, the agent's answer becomes an FAQ entry the bot answers from, and a rollback of the
knowledge base takes it away again, with no stale cached answer left behind."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator

import httpx
import pytest

from tests.e2e.conftest import issue_key
from tests.support.stack import Stack

PAGE = "# Gift wrapping\n\nGift wrapping costs $4 per item and is available at checkout."
QUESTION = "Do you offer engraving on watches?"
AGENT_ANSWER = "Yes, we engrave watches: engraving costs $10 and adds 3 business days."
KB = "/api/v1/knowledge-bases/default"


@pytest.fixture
def people(stack: Stack) -> Iterator[dict[str, httpx.Client]]:
    """A new tenant's customer-facing client, its agent and its admin."""
    tenant = f"loop-{uuid.uuid4().hex[:8]}"
    url = stack.of("gateway")[0].url
    clients = {
        role: httpx.Client(
            base_url=url,
            headers={"Authorization": f"Bearer {issue_key(stack, tenant, role, name=role)}"},
            timeout=60,
        )
        for role in ("client", "agent", "admin")
    }
    upload = clients["admin"].post(f"{KB}/documents", files={"file": ("Gifts.md", PAGE.encode())})
    assert upload.status_code == 201, upload.text
    yield clients
    for client in clients.values():
        client.close()


def _ask(client: httpx.Client, message: str, session_id: str | None = None) -> dict[str, object]:
    body = {"message": message, **({"session_id": session_id} if session_id else {})}
    response = client.post("/api/v1/chat", json=body)
    assert response.status_code == 200, response.text
    answer: dict[str, object] = response.json()
    return answer


def test_an_agents_answer_becomes_the_bots_and_a_rollback_takes_it_back(
    people: dict[str, httpx.Client],
) -> None:
    customer, agent, admin = people["client"], people["agent"], people["admin"]

    # The bot cannot answer; the customer asks for a person, and an agent answers.
    first = _ask(customer, QUESTION)
    assert first["data"]["sources"] == []  # type: ignore[index]
    handed = _ask(customer, "I want to talk to a human agent", first["session_id"])  # type: ignore[arg-type]
    ticket = handed["data"]["escalation_card"]["ticket_id"]  # type: ignore[index]
    assert agent.post(f"/api/v1/agent/escalations/{ticket}/claim").status_code == 200
    replied = agent.post(
        f"/api/v1/agent/escalations/{ticket}/messages", json={"text": AGENT_ANSWER}
    )
    assert replied.status_code == 200, replied.text
    assert agent.post(f"/api/v1/agent/escalations/{ticket}/resolve").status_code == 200

    # The agent drafts an FAQ entry; the gap it answers links to it.
    drafted = agent.post(
        f"{KB}/drafts", json={"question": QUESTION, "answer": AGENT_ANSWER, "ticket_id": ticket}
    )
    assert drafted.status_code == 201, drafted.text
    draft_id = drafted.json()["draft_id"]
    assert agent.patch(f"{KB}/drafts/{draft_id}", json={"answer": "x"}).status_code == 403
    gaps = admin.get("/api/v1/analytics/knowledge-gaps").json()["gaps"]
    assert [d["draft_id"] for d in gaps[0]["drafts"]] == [draft_id]

    # The admin rewords it and publishes it.
    edited = admin.patch(
        f"{KB}/drafts/{draft_id}",
        json={"answer": "Yes: watch engraving costs $10 and adds 3 business days."},
    )
    assert edited.status_code == 200 and "watch engraving" in edited.json()["answer"]
    before = admin.get(f"{KB}/versions").json()["versions"][0]["version"]
    published = admin.post(f"{KB}/drafts/{draft_id}/publish")
    assert published.status_code == 200, published.text
    doc_name = published.json()["draft"]["doc_name"]
    assert published.json()["version"] == before + 1
    assert admin.post(f"{KB}/drafts/{draft_id}/publish").status_code == 409

    # A new customer asking the same gets the bot's answer, citing the new entry; and again
    # (now from the hot cache).
    for _ in range(2):
        answer = _ask(customer, QUESTION)
        assert "$10" in answer["reply"], answer  # type: ignore[operator]
        assert answer["data"]["sources"] == [doc_name]  # type: ignore[index]

    # Every change is a version; rolling back to the one before publishing removes the entry.
    versions = admin.get(f"{KB}/versions").json()["versions"]
    assert [v["action"] for v in versions[:2]] == ["publish", "upload"]
    assert versions[0]["actor"] and doc_name in versions[0]["documents"]
    rolled = admin.post(f"{KB}/versions/{before}/rollback")
    assert rolled.status_code == 200, rolled.text
    assert rolled.json()["removed"] == [doc_name] and rolled.json()["restored"] == []
    names = [d["doc_name"] for d in admin.get(f"{KB}/documents").json()["documents"]]
    assert names == ["Gifts.md"]
    after = _ask(customer, QUESTION)
    assert after["data"]["sources"] == [] and "$10" not in after["reply"]  # type: ignore[index,operator]

    history = admin.get(f"{KB}/versions").json()["versions"]
    assert history[0]["action"] == "rollback" and history[0]["rollback_of"] == before
    assert history[0]["documents"] == ["Gifts.md"]


def test_a_rollback_restores_replaced_and_deleted_documents_exactly(
    people: dict[str, httpx.Client],
) -> None:
    admin = people["admin"]
    start = admin.get(f"{KB}/versions").json()["versions"][0]["version"]
    changed = PAGE.replace("$4", "$6")
    assert admin.post(f"{KB}/documents", files={"file": ("Gifts.md", changed.encode())}).is_success
    extra = admin.post(f"{KB}/documents", files={"file": ("Extra.md", b"# Extra\n\nMore text.")})
    gifts = next(
        d for d in admin.get(f"{KB}/documents").json()["documents"] if d["doc_name"] == "Gifts.md"
    )
    assert admin.delete(f"{KB}/documents/{gifts['doc_id']}").status_code == 204
    assert extra.status_code == 201

    rolled = admin.post(f"{KB}/versions/{start}/rollback").json()
    assert rolled == {"version": start + 4, "restored": ["Gifts.md"], "removed": ["Extra.md"]}
    documents = admin.get(f"{KB}/documents").json()["documents"]
    assert [(d["doc_name"], d["content_hash"]) for d in documents] == [
        ("Gifts.md", hashlib.sha256(PAGE.encode()).hexdigest())
    ]
    assert "$4 per item" in _ask(people["client"], "How much does gift wrapping cost?")["reply"]  # type: ignore[operator]
    assert admin.post(f"{KB}/versions/9999/rollback").status_code == 404
