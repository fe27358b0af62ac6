"""Hostile uploads on the distributed stack: each gets a clear 422 quickly, and the retriever
keeps answering searches while one is being parsed."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator

import httpx
import pytest

from tests.e2e.conftest import HEADERS, StackFactory
from tests.support import hostile_pdfs
from tests.support.stack import Stack

PARSE_TIMEOUT_SECONDS = 6
# A refusal is normally a fraction of a second (the slow PDF: the parse deadline); far
# above both, this catches a hang on the gateway's 300 s knowledge timeout.
REFUSED_WITHIN_SECONDS = 30
# A turn answers in well under a second; one stuck behind the parse would wait for its
# deadline.
ANSWERED_WITHIN_SECONDS = 3


@pytest.fixture(scope="module")
def stack(stack_factory: StackFactory) -> Stack:
    return stack_factory(
        DOCUMENT_PARSE_TIMEOUT_SECONDS=str(PARSE_TIMEOUT_SECONDS),
        PDF_MAX_PAGES="50",
        PDF_MAX_DECOMPRESSED_MB="16",
    )


@pytest.fixture
def client(stack: Stack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=stack.of("gateway")[0].url, headers=HEADERS, timeout=60) as http:
        yield http


def _upload(client: httpx.Client, name: str, content: bytes) -> httpx.Response:
    return client.post("/api/v1/knowledge-bases/default/documents", files={"file": (name, content)})


@pytest.mark.parametrize(
    ("build", "says"),
    [
        (lambda: hostile_pdfs.many_pages(200), "has 200 pages; at most 50 are read"),
        (lambda: hostile_pdfs.inflating(64), "past a reading limit"),
        (lambda: hostile_pdfs.inflating(6, pages=4), "more than 16 MiB of content"),
        (hostile_pdfs.unknown_filter, "uses a feature we cannot read"),
        (hostile_pdfs.encrypted, "password-protected"),
        (hostile_pdfs.slow_content, f"took longer than {PARSE_TIMEOUT_SECONDS} s to read"),
    ],
    ids=["pages", "bomb", "shared-stream", "unknown-filter", "encrypted", "slow"],
)
def test_a_hostile_pdf_is_refused_quickly_and_clearly(
    client: httpx.Client, build: Callable[[], bytes], says: str
) -> None:
    name = f"hostile-{uuid.uuid4().hex[:6]}.pdf"
    started = time.monotonic()
    response = _upload(client, name, build())
    assert time.monotonic() - started < REFUSED_WITHIN_SECONDS
    assert response.status_code == 422
    assert response.json()["detail"].startswith(f"{name}: ") and says in response.json()["detail"]
    listed = client.get("/api/v1/knowledge-bases/default/documents").json()["documents"]
    assert name not in [d["doc_name"] for d in listed]  # nothing half-written


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("tags.html", b"<a " * 200_000 + b"<h1>Opening hours</h1><p>We open at nine.</p>"),
        ("deep.html", b"<div>" * 200_000 + b"<p>Lockers are on level two.</p>"),
        ("one-line.txt", b"Parcel lockers accept parcels. " * 200_000),
    ],
)
def test_huge_or_deep_text_documents_are_read(
    client: httpx.Client, name: str, content: bytes
) -> None:
    doc_name = f"{uuid.uuid4().hex[:6]}-{name}"
    response = _upload(client, doc_name, content)
    assert response.status_code == 201, response.text
    assert response.json()["document"]["chunk_count"] >= 1
    client.delete(
        f"/api/v1/knowledge-bases/default/documents/{response.json()['document']['doc_id']}"
    )


def test_the_retriever_answers_while_a_slow_pdf_is_parsed(client: httpx.Client) -> None:
    refused: list[int] = []
    upload = threading.Thread(
        target=lambda: refused.append(
            _upload(client, "slow.pdf", hostile_pdfs.slow_content()).status_code
        )
    )
    upload.start()
    time.sleep(1)  # the parse is under way
    answered = 0
    while upload.is_alive() and answered < 10:
        question = f"How long does standard shipping take? ({uuid.uuid4().hex[:6]})"  # no cache
        started = time.monotonic()
        reply = client.post("/api/v1/chat", json={"message": question})
        assert time.monotonic() - started < ANSWERED_WITHIN_SECONDS
        assert reply.status_code == 200 and "ShippingGuide.md" in reply.json()["data"]["sources"]
        listing = client.get("/api/v1/knowledge-bases/default/documents")
        assert listing.status_code == 200 and listing.json()["total"] >= 1
        answered += 1
    upload.join()
    assert answered >= 3 and refused == [422]
