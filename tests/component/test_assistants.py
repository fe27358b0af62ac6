"""Assistants in embedded mode: CRUD, validation, tenancy, and how chat answers as one."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from services.embedded import create_app
from shared.settings import Settings

HEADERS = {"X-API-Key": "test-key-0123456789"}  # the environment's admin key: tenant "default"
SWALLOW = "What is the airspeed velocity of an unladen swallow?"
ANSWERABLE = "How much does express shipping cost?"
ACME_EMPTY = "Sorry, Acme docs have nothing on that."


@pytest.fixture
def client(embedded_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(embedded_settings), headers=HEADERS) as http:
        yield http


def _key(client: TestClient, tenant: str, role: str) -> dict[str, str]:
    plain, _ = client.portal.call(client.app.gateway.api_keys.create, tenant, role)  # type: ignore[attr-defined]
    return {"X-API-Key": plain}


def _create(client: TestClient, **fields: Any) -> dict[str, Any]:
    response = client.post("/api/v1/assistants", json={"name": "Acme", **fields})
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def _chat(client: TestClient, message: str, **fields: Any) -> Any:
    return client.post("/api/v1/chat", json={"message": message, **fields})


def test_crud_round_trip(client: TestClient) -> None:
    created = _create(
        client,
        system_prompt="You help {company} customers.",
        variables=[{"name": "company", "required": True}],
        llm={"model": "gpt-4o", "temperature": 0.3},
        knowledge_bases=["default", "products"],
    )
    assert created["id"].startswith("asst-")
    assert created["is_default"] is False
    assert created["llm"] == {"model": "gpt-4o", "temperature": 0.3, "max_tokens": None}
    url = f"/api/v1/assistants/{created['id']}"
    assert client.get(url).json() == created
    listed = client.get("/api/v1/assistants").json()
    assert listed == {"assistants": [created], "total": 1}

    patched = client.patch(url, json={"name": "Acme 2", "llm": {"temperature": 1.5}}).json()
    assert patched["name"] == "Acme 2"
    # llm is merged: the model set before is kept.
    assert patched["llm"] == {"model": "gpt-4o", "temperature": 1.5, "max_tokens": None}
    assert patched["system_prompt"] == created["system_prompt"]
    assert patched["updated_at"] >= created["updated_at"]
    assert client.get(url).json() == patched
    cleared = client.patch(url, json={"llm": {"model": None}}).json()
    assert cleared["llm"]["model"] is None and cleared["llm"]["temperature"] == 1.5

    assert client.delete(url).status_code == 204
    assert client.get(url).status_code == 404
    assert client.delete(url).status_code == 404
    assert client.patch(url, json={"name": "x"}).status_code == 404
    assert client.get("/api/v1/assistants").json() == {"assistants": [], "total": 0}


def test_one_default_at_a_time(client: TestClient) -> None:
    assert client.get("/api/v1/assistants/default").status_code == 404  # the built-in one
    first = _create(client, is_default=True)
    assert client.get("/api/v1/assistants/default").json()["id"] == first["id"]
    second = _create(client, name="Second", is_default=True)
    listed = client.get("/api/v1/assistants").json()["assistants"]
    assert [(a["id"], a["is_default"]) for a in listed] == [
        (first["id"], False),
        (second["id"], True),
    ]
    # Unsetting the flag of a non-default changes nothing.
    client.patch(f"/api/v1/assistants/{first['id']}", json={"is_default": False})
    assert client.get("/api/v1/assistants/default").json()["id"] == second["id"]
    client.patch(f"/api/v1/assistants/{first['id']}", json={"is_default": True})
    assert client.get("/api/v1/assistants/default").json()["id"] == first["id"]
    client.delete(f"/api/v1/assistants/{first['id']}")
    assert client.get("/api/v1/assistants/default").status_code == 404


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"system_prompt": "You help {company}."}, "undeclared variable(s): company"),
        ({"empty_response": "No {thing}."}, "undeclared variable(s): thing"),
        (
            {"variables": [{"name": "a"}, {"name": "a"}]},
            "variables declared more than once: a",
        ),
        ({"llm": {"temperature": 2.5}}, "llm.temperature"),
        ({"llm": {"temperature": -0.1}}, "llm.temperature"),
        ({"llm": {"max_tokens": 0}}, "llm.max_tokens"),
        ({"name": ""}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"name": "   "}, "name: String should have at least 1 character"),
        ({"name": "Acme\u202eevil"}, "name: Value error, must not contain control"),
        ({"name": "Acme\nSupport"}, "name: Value error, must not contain control"),
        ({"system_prompt": "x" * 8001}, "system_prompt"),
        ({"knowledge_bases": []}, "knowledge_bases"),
        ({"variables": [{"name": "not a name"}]}, "variables"),
        ({"colour": "blue"}, "colour"),
    ],
)
def test_invalid_assistants_are_422(client: TestClient, body: dict, fragment: str) -> None:
    response = client.post("/api/v1/assistants", json={"name": "Acme", **body})
    assert response.status_code == 422
    assert fragment in response.json()["detail"]


def test_invalid_updates_are_422(client: TestClient) -> None:
    url = f"/api/v1/assistants/{_create(client)['id']}"
    for body, fragment in (
        ({"system_prompt": "For {who}"}, "undeclared variable(s): who"),
        ({"llm": {"temperature": 3}}, "temperature"),
        ({"name": None}, "not null"),
        ({"is_default": None}, "not null"),
    ):
        response = client.patch(url, json=body)
        assert response.status_code == 422, body
        assert fragment in response.json()["detail"]
    # Declaring the variable in the same update makes it valid.
    ok = client.patch(url, json={"system_prompt": "For {who}", "variables": [{"name": "who"}]})
    assert ok.status_code == 200


def test_another_tenant_cannot_see_or_use_it(client: TestClient) -> None:
    acme = _key(client, "acme", "admin")
    mine = client.post("/api/v1/assistants", json={"name": "Acme"}, headers=acme).json()
    url = f"/api/v1/assistants/{mine['id']}"
    assert client.get(url, headers=acme).status_code == 200
    assert client.get(url).status_code == 404
    assert client.patch(url, json={"name": "Stolen"}).status_code == 404
    assert client.delete(url).status_code == 404
    assert client.get("/api/v1/assistants").json()["total"] == 0
    assert _chat(client, "hi", assistant_id=mine["id"]).status_code == 404
    assert client.get(url, headers=acme).json()["name"] == "Acme"


def test_only_admins_manage_assistants(client: TestClient) -> None:
    chat_key = _key(client, "default", "client")
    assert client.get("/api/v1/assistants", headers=chat_key).status_code == 403
    assert (
        client.post("/api/v1/assistants", json={"name": "x"}, headers=chat_key).status_code == 403
    )


def test_chat_with_an_unknown_assistant_is_404(client: TestClient) -> None:
    for path in ("/api/v1/chat", "/api/v1/chat/stream"):
        response = client.post(path, json={"message": "hi", "assistant_id": "asst-nope"})
        assert response.status_code == 404
        assert response.json() == {"detail": "No such assistant"}


def test_missing_required_variable_is_422(client: TestClient) -> None:
    assistant = _create(
        client,
        system_prompt="You help {company} customers about {product}.",
        variables=[
            {"name": "company", "required": True},
            {"name": "product", "required": True, "default": "kettles"},
        ],
    )
    response = _chat(client, SWALLOW, assistant_id=assistant["id"])
    assert response.status_code == 422
    assert response.json()["detail"] == "missing required variable(s): company"
    blank = _chat(client, SWALLOW, assistant_id=assistant["id"], variables={"company": " "})
    assert blank.status_code == 422
    ok = _chat(client, SWALLOW, assistant_id=assistant["id"], variables={"company": "Acme"})
    assert ok.status_code == 200


def test_empty_response_answers_what_the_knowledge_base_lacks(client: TestClient) -> None:
    assistant = _create(client, empty_response=ACME_EMPTY)
    body = _chat(client, SWALLOW, assistant_id=assistant["id"]).json()
    assert body["reply"] == ACME_EMPTY
    assert body["data"]["intent"] == "knowledge_qa" and body["data"]["sources"] == []
    # Other assistants, and the built-in one, keep their own reply.
    assert _chat(client, SWALLOW).json()["reply"].startswith("Sorry, I couldn't find")


def test_the_default_assistant_answers_when_none_is_named(client: TestClient) -> None:
    builtin = _chat(client, SWALLOW).json()["reply"]
    _create(
        client,
        empty_response="Nothing on that in {company}'s docs.",
        variables=[{"name": "company", "default": "Acme"}],
        is_default=True,
    )
    assert builtin != "Nothing on that in Acme's docs."
    assert _chat(client, SWALLOW).json()["reply"] == "Nothing on that in Acme's docs."
    named = _chat(client, SWALLOW, assistant_id="default", variables={"company": "Globex"})
    assert named.json()["reply"] == "Nothing on that in Globex's docs."


def test_knowledge_bases_are_searched_and_cached_apart(client: TestClient) -> None:
    elsewhere = _create(client, knowledge_bases=["empty-kb"], empty_response=ACME_EMPTY)
    both = _create(client, knowledge_bases=["empty-kb", "default"], empty_response=ACME_EMPTY)
    first = _chat(client, ANSWERABLE).json()  # answered from "default", and cached
    assert "$14.99" in first["reply"]
    # The cached answer is not served to an assistant that cannot see that knowledge base.
    assert _chat(client, ANSWERABLE, assistant_id=elsewhere["id"]).json()["reply"] == ACME_EMPTY
    merged = _chat(client, ANSWERABLE, assistant_id=both["id"]).json()
    assert "$14.99" in merged["reply"]
    assert merged["data"]["sources"][0] == "ShippingGuide.md"


def test_a_new_session_opens_with_the_assistants_greeting(client: TestClient) -> None:
    plain = client.post("/api/v1/sessions", json={"user_id": "u-1"}).json()
    assert plain["opener"] is None, "the built-in assistant has no opener"
    assistant = _create(
        client,
        opener="Hi, I'm {bot} from {company}!",
        variables=[{"name": "company", "required": True}, {"name": "bot", "default": "Ava"}],
        is_default=True,
    )
    named = client.post(
        "/api/v1/sessions", json={"assistant_id": assistant["id"], "variables": {"company": "Acme"}}
    ).json()
    assert named["opener"] == "Hi, I'm Ava from Acme!"
    history = client.get(f"/api/v1/sessions/{named['session_id']}/messages").json()
    assert [(m["role"], m["content"]) for m in history["messages"]] == [
        ("assistant", "Hi, I'm Ava from Acme!")
    ]
    # The default one when none is named; a required variable it uses must be given.
    default = client.post("/api/v1/sessions", json={"variables": {"company": "Globex"}}).json()
    assert default["opener"] == "Hi, I'm Ava from Globex!"
    missing = client.post("/api/v1/sessions", json={})
    assert missing.status_code == 422 and "company" in missing.json()["detail"]
    unknown = client.post("/api/v1/sessions", json={"assistant_id": "asst-nope"})
    assert unknown.status_code == 404


def test_openapi_documents_the_api(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    create = document["paths"]["/api/v1/assistants"]["post"]
    assert create["tags"] == ["assistants"]
    schema = document["components"]["schemas"]["AssistantCreate"]
    assert schema["examples"][0]["variables"][0]["name"] == "company"
    assert "201" in create["responses"] and "422" in create["responses"]
    chat = document["components"]["schemas"]["ChatRequest"]["properties"]
    assert {"assistant_id", "variables"} <= set(chat)
