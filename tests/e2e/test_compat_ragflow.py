"""RAGFlow's HTTP API (/compat/ragflow) driven by RAGFlow's own SDK, ragflow-sdk, over the
distributed stack: a dataset and its document, a chat assistant on it, a session, answers
streamed and whole that cite the document, retrieval, deletion, RAGFlow's errors for what is
not supported, and other tenants' ids not found."""

from __future__ import annotations

import itertools
import time
import uuid

import httpx
import jwt
import pytest
from ragflow_sdk import RAGFlow
from ragflow_sdk.modules.chat import Chat
from ragflow_sdk.modules.dataset import DataSet

from tests.e2e.conftest import StackFactory, issue_key
from tests.support.stack import Stack

QUESTION = "How much does gift wrapping cost?"
PAGE = b"# Gift wrapping\n\nGift wrapping costs $4 per item and is available at checkout.\n"
SECRET = "ragflow-layer-jwt-secret-0123456789abcdef"
OPENER = "Hi! I'm the gift desk. What can I do for you?"


@pytest.fixture(scope="module")
def stack(stack_factory: StackFactory) -> Stack:
    """No LLM: the extractive answerer quotes the page, so the answer's fact can be checked;
    end-user tokens on, to see them refused."""
    return stack_factory(JWT_SECRET=SECRET)


@pytest.fixture(scope="module")
def base(stack: Stack) -> str:
    return f"{stack.of('gateway')[0].url}/compat/ragflow"


def _client(stack: Stack, base: str) -> RAGFlow:
    """RAGFlow's SDK with an admin key of a tenant of its own."""
    return RAGFlow(issue_key(stack, f"rf-{uuid.uuid4().hex[:6]}", "admin"), base_url=base)


@pytest.fixture(scope="module")
def rag(stack: Stack, base: str) -> RAGFlow:
    return _client(stack, base)


@pytest.fixture(scope="module")
def dataset(rag: RAGFlow) -> DataSet:
    """A dataset holding the gift-wrapping page."""
    dataset = rag.create_dataset(name="Gift help", description="What the gift desk knows")
    (document,) = dataset.upload_documents([{"display_name": "Gifts.md", "blob": PAGE}])
    assert document.run == "DONE" and document.chunk_count >= 1
    return dataset


@pytest.fixture(scope="module")
def chat(rag: RAGFlow, dataset: DataSet) -> Chat:
    prompt = Chat.Prompt(rag, {"opener": OPENER})
    return rag.create_chat("Gift desk", dataset_ids=[dataset.id], prompt=prompt)


def test_a_dataset_lists_its_parsed_document(rag: RAGFlow, dataset: DataSet) -> None:
    (document,) = dataset.list_documents()
    assert (document.name, document.dataset_id) == ("Gifts.md", dataset.id)
    finished = dataset.parse_documents([document.id])  # parsed at upload: done at once
    assert [(doc_id, run) for doc_id, run, *_ in finished] == [(document.id, "DONE")]
    (listed,) = rag.list_datasets(name="Gift help")
    assert (listed.id, listed.document_count) == (dataset.id, 1)
    assert listed.chunk_count == document.chunk_count
    with pytest.raises(Exception, match="already exists"):
        rag.create_dataset(name="Gift help")


def test_a_session_answers_streamed_and_whole_citing_the_document(
    rag: RAGFlow, chat: Chat, dataset: DataSet
) -> None:
    assert chat.dataset_ids == [dataset.id] and chat.prompt.opener == OPENER
    session = chat.create_session("Wrapping")
    assert session.messages == [{"role": "assistant", "content": OPENER}]

    streamed = list(session.ask(QUESTION, stream=True))
    contents = [m.content for m in streamed]
    assert len(contents) > 1, "streamed, not sent whole"
    assert all(later.startswith(earlier) for earlier, later in itertools.pairwise(contents)), (
        "each event holds the answer so far, as RAGFlow's clients expect"
    )
    assert "$4" in contents[-1]
    assert [c["document_name"] for c in streamed[-1].reference][:1] == ["Gifts.md"]
    assert streamed[-1].reference[0]["dataset_id"] == dataset.id

    (whole,) = session.ask("Is gift wrapping available at checkout?", stream=False)
    assert whole.content.strip() and whole.reference[0]["document_name"] == "Gifts.md"

    (listed,) = chat.list_sessions(id=session.id)
    assert listed.name == "Wrapping"
    questions = [m["content"] for m in listed.messages if m["role"] == "user"]
    assert questions == [QUESTION, "Is gift wrapping available at checkout?"]


def test_retrieval_ranks_the_documents_chunk(rag: RAGFlow, dataset: DataSet) -> None:
    chunks = rag.retrieve(dataset_ids=[dataset.id], question="gift wrapping price")
    assert chunks[0].document_name == "Gifts.md" and "$4" in chunks[0].content


def test_deleting_a_document_removes_it_from_answers(rag: RAGFlow, base: str) -> None:
    dataset = rag.create_dataset(name="Short-lived")
    (document,) = dataset.upload_documents(
        [
            {
                "display_name": "Engraving.md",
                "blob": b"# Engraving\n\nEngraving on watches costs $15.",
            }
        ]
    )
    assert rag.retrieve(dataset_ids=[dataset.id], question="watch engraving price")
    dataset.delete_documents([document.id])
    assert dataset.list_documents() == []
    assert rag.retrieve(dataset_ids=[dataset.id], question="watch engraving price") == []
    rag.delete_datasets([dataset.id])
    assert [d.name for d in rag.list_datasets()] == ["Gift help"]


def test_what_frontdesk_cannot_honour_is_refused_in_ragflows_terms(rag: RAGFlow) -> None:
    tuned = Chat.Prompt(rag, {"top_n": 3})
    with pytest.raises(Exception, match="top_n is not supported"):
        rag.create_chat("Tuned", prompt=tuned)
    with pytest.raises(Exception, match="agents is not supported"):
        rag.list_agents()
    with pytest.raises(Exception, match="You don't own the dataset"):
        rag.create_chat("Nowhere", dataset_ids=["no-such-dataset"])
    with pytest.raises(Exception, match="page_size"):
        rag.list_datasets(page_size=1000)


def test_a_known_path_by_another_method_is_405_not_unsupported(rag: RAGFlow, base: str) -> None:
    wrong = httpx.patch(f"{base}/api/v1/datasets", headers=rag.authorization_header, timeout=30)
    assert (wrong.status_code, wrong.json()) == (
        405,
        {"code": 101, "message": "Method Not Allowed"},
    )
    agents = httpx.patch(f"{base}/api/v1/agents", headers=rag.authorization_header, timeout=30)
    assert agents.json()["message"] == "agents is not supported by Frontdesk's RAGFlow layer"


def test_bad_input_is_refused_in_ragflows_envelope(rag: RAGFlow) -> None:
    # The SDK reads ``message``: an error in any other shape would reach the caller as KeyError.
    with pytest.raises(Exception, match="Request body exceeds 65536 bytes"):
        rag.create_dataset(name="Big", description="x" * 70_000)
    with pytest.raises(Exception, match="name: String should have at least 1 character"):
        rag.create_dataset(name="   ")
    with pytest.raises(Exception, match="name: Value error, must not contain control"):
        rag.create_chat("Refunds\u202egpj.exe")
    assert "Big" not in [d.name for d in rag.list_datasets()]


def test_other_tenants_ids_are_not_found(
    stack: Stack, base: str, rag: RAGFlow, chat: Chat, dataset: DataSet
) -> None:
    session = chat.create_session()
    other = _client(stack, base)
    with pytest.raises(Exception, match="You don't own the dataset"):
        other.retrieve(dataset_ids=[dataset.id], question=QUESTION)
    with pytest.raises(Exception, match="You don't own the dataset"):
        other.list_datasets(id=dataset.id)
    with pytest.raises(Exception, match="You don't own the chat"):
        Chat(other, {"id": chat.id}).create_session()
    answered = httpx.post(
        f"{other.api_url}/chats/{chat.id}/completions",
        json={"question": QUESTION, "session_id": session.id, "stream": False},
        headers=other.authorization_header,
        timeout=30,
    )
    assert answered.status_code == 404 and answered.json()["code"] == 102
    # Another chat of the same tenant does not own the session either.
    second = rag.create_chat("Second desk", dataset_ids=[dataset.id])
    with pytest.raises(Exception, match="doesn't own the session"):
        second.delete_sessions([session.id])
    with pytest.raises(Exception, match="Authentication|API key|Invalid"):
        RAGFlow("wrong-key-0123456789", base_url=base).list_datasets()


def test_a_chat_is_updated_and_deleted_with_its_sessions(
    stack: Stack, rag: RAGFlow, dataset: DataSet
) -> None:
    prompt = Chat.Prompt(
        rag,
        {
            "prompt": "You answer for {company}.",
            "variables": [{"key": "company", "optional": False}],
        },
    )
    desk = rag.create_chat("Acme desk", dataset_ids=[dataset.id], prompt=prompt)
    desk.update({"name": "Acme help", "llm": {"temperature": 0.5}})
    (listed,) = rag.list_chats(id=desk.id)
    assert (listed.name, listed.llm.temperature) == ("Acme help", 0.5)
    assert listed.prompt.variables == [{"key": "company", "optional": False}]

    session = desk.create_session()
    session.update({"name": "Renamed"})
    url = f"{rag.api_url}/chats/{desk.id}/completions"
    ask = {"question": QUESTION, "session_id": session.id, "stream": False}
    missing = httpx.post(url, json=ask, headers=rag.authorization_header, timeout=30)
    assert missing.status_code == 422 and missing.json()["code"] == 101
    assert "company" in missing.json()["message"], "a required variable without a value"
    (whole,) = session.ask(QUESTION, stream=False, company="Acme")
    assert "$4" in whole.content
    assert [s.name for s in desk.list_sessions()] == ["Renamed"]

    rag.delete_chats([desk.id])
    with pytest.raises(Exception, match="doesn't exist"):
        rag.list_chats(id=desk.id)
    gone = httpx.get(
        f"{stack.of('gateway')[0].url}/api/v1/sessions/{session.id}",
        headers=rag.authorization_header,
    )
    assert gone.status_code == 404, "its sessions went with it"


def test_a_document_downloads_as_uploaded(dataset: DataSet) -> None:
    (document,) = dataset.list_documents(name="Gifts.md")
    assert document.download() == PAGE


def test_a_client_key_converses_but_end_user_tokens_are_refused(
    stack: Stack, base: str, rag: RAGFlow, dataset: DataSet
) -> None:
    general = rag.create_chat("General")
    assert general.dataset_ids == ["default"], "a chat with no datasets searches default"
    tenant = f"rf-{uuid.uuid4().hex[:6]}"
    owner = RAGFlow(issue_key(stack, tenant, "admin"), base_url=base)
    desk = owner.create_chat("Desk")
    client = RAGFlow(issue_key(stack, tenant, "client"), base_url=base)
    (answer,) = Chat(client, {"id": desk.id}).create_session().ask("hello", stream=False)
    assert answer.content.strip()
    with pytest.raises(Exception, match="admin"):
        client.list_chats()
    claims = {"sub": "ann", "tenant": tenant, "exp": int(time.time()) + 600}
    token = jwt.encode(claims, SECRET, algorithm="HS256")
    with pytest.raises(Exception, match="end-user tokens"):
        Chat(RAGFlow(token, base_url=base), {"id": desk.id}).create_session()


def test_deleting_without_ids_deletes_every_session_of_the_chat(rag: RAGFlow) -> None:
    desk = rag.create_chat("Busy desk")
    for _ in range(3):
        desk.create_session()
    desk.delete_sessions()
    assert desk.list_sessions() == []
