"""Managing a knowledge base over HTTP on the distributed stack, and answers that follow it."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import frontdesk_cli, issue_key
from tests.support.sse import stream_events
from tests.support.stack import Stack


def _upload(client: httpx.Client, kb: str, name: str, text: str) -> httpx.Response:
    return client.post(
        f"/api/v1/knowledge-bases/{kb}/documents", files={"file": (name, text.encode())}
    )


def test_an_uploaded_page_is_cited_and_its_changes_show_at_once(client: httpx.Client) -> None:
    name = f"GiftWrapping-{uuid.uuid4().hex[:6]}.md"
    created = _upload(
        client, "default", name, "# Gift wrapping\n\nGift wrapping costs $4 per item."
    )
    assert created.status_code == 201
    document = created.json()["document"]
    assert created.json()["status"] == "created" and document["chunk_count"] == 1

    question = "How much does gift wrapping cost?"
    first = client.post("/api/v1/chat", json={"message": question}).json()
    assert "$4 per item" in first["reply"]
    assert first["data"]["sources"][0] == name
    reference = first["data"]["references"][0]
    assert reference["doc_id"] == document["doc_id"] and reference["doc_name"] == name
    assert reference["chunk_id"].startswith(document["doc_id"])
    assert "Gift wrapping costs $4 per item." in reference["snippet"]

    # The policy changes; the next answer must not come from the (now stale) cache.
    replaced = client.put(
        f"/api/v1/knowledge-bases/default/documents/{document['doc_id']}",
        files={"file": ("ignored-name.md", b"# Gift wrapping\n\nGift wrapping is now free.")},
    )
    assert replaced.status_code == 200 and replaced.json()["status"] == "replaced"
    assert replaced.json()["document"]["doc_name"] == name
    second = client.post("/api/v1/chat", json={"message": question}).json()
    assert "now free" in second["reply"] and "$4" not in second["reply"]

    response, events = stream_events(client, {"message": "Is gift wrapping free?"})
    assert events[0][0] == "meta"
    assert events[0][1]["references"][0]["doc_id"] == document["doc_id"]

    listed = client.get("/api/v1/knowledge-bases/default/documents").json()
    assert name in [d["doc_name"] for d in listed["documents"]]
    assert listed["total"] == len(listed["documents"])

    assert (
        client.delete(f"/api/v1/knowledge-bases/default/documents/{document['doc_id']}").status_code
        == 204
    )
    gone = client.post("/api/v1/chat", json={"message": question}).json()
    assert name not in gone["data"]["sources"]
    assert (
        client.delete(f"/api/v1/knowledge-bases/default/documents/{document['doc_id']}").status_code
        == 404
    )


def test_uploading_the_same_file_again_changes_nothing(client: httpx.Client) -> None:
    name = f"Hours-{uuid.uuid4().hex[:6]}.txt"
    assert _upload(client, "default", name, "The Paris showroom opens at 10:00.").status_code == 201
    again = _upload(client, "default", name, "The Paris showroom opens at 10:00.")
    assert again.status_code == 200 and again.json()["status"] == "unchanged"


def test_knowledge_bases_are_separate(client: httpx.Client) -> None:
    kb = f"internal-{uuid.uuid4().hex[:6]}"
    assert (
        _upload(
            client, kb, "Secrets.md", "# Staff\nThe staff discount code is ZEBRA42."
        ).status_code
        == 201
    )
    answer = client.post("/api/v1/chat", json={"message": "What is the staff discount code?"})
    assert "ZEBRA42" not in answer.json()["reply"]  # chat answers from the default base
    assert [
        d["doc_name"]
        for d in client.get(f"/api/v1/knowledge-bases/{kb}/documents").json()["documents"]
    ] == ["Secrets.md"]


@pytest.mark.parametrize(
    ("name", "content", "status", "says"),
    [
        ("notes.docx", b"binary", 422, "unsupported file type"),
        ("empty.md", b"  ", 422, "no text found"),
        ("bad.pdf", b"%PDF-1.4 nothing", 422, "not a readable PDF"),
    ],
)
def test_bad_uploads_are_refused_clearly(
    client: httpx.Client, name: str, content: bytes, status: int, says: str
) -> None:
    response = client.post(
        "/api/v1/knowledge-bases/default/documents", files={"file": (name, content)}
    )
    assert response.status_code == status
    assert says in response.json()["detail"]


def test_bad_ids_and_missing_documents(client: httpx.Client) -> None:
    assert client.get("/api/v1/knowledge-bases/bad kb!/documents").status_code == 422
    missing = client.put(
        "/api/v1/knowledge-bases/default/documents/doc-nope", files={"file": ("a.md", b"# A\nb")}
    )
    assert missing.status_code == 404
    assert client.post("/api/v1/knowledge-bases/default/documents").status_code == 422


def test_knowledge_endpoints_need_the_key(stack: Stack) -> None:
    gateway = stack.of("gateway")[0].url
    assert httpx.get(f"{gateway}/api/v1/knowledge-bases/default/documents").status_code == 401


def test_frontdesk_ingest_uploads_a_folder_with_progress(stack: Stack, tmp_path: Path) -> None:
    folder = tmp_path / "help-centre"
    (folder / "faq").mkdir(parents=True)
    (folder / "Pickup.md").write_text("# Store pickup\nPick up orders in Lyon after 2 days.")
    (folder / "faq" / "Hours.html").write_text("<h1>Hours</h1><p>Lyon store opens at 9.</p>")
    (folder / "logo.png").write_bytes(b"\x89PNG")
    (folder / "empty.txt").write_text("")
    result = frontdesk_cli(stack, "ingest", str(folder), "--kb", "lyon")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "[1/2]" in out and "[2/2]" in out
    assert "done: 2 created, 0 replaced, 0 unchanged, 2 skipped" in out
    assert "logo.png: unsupported type .png" in out
    assert "empty.txt: empty file" in out


def _poll(client: httpx.Client, location: str) -> dict[str, object]:
    """The upload's job once it has an outcome (bounded far above a normal ingest)."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        job: dict[str, object] = client.get(location).json()
        if job["status"] not in ("queued", "ingesting"):
            return job
        time.sleep(0.2)
    raise AssertionError(f"upload still {job['status']} after 120 s")


def test_an_upload_without_waiting_is_a_job_its_tenant_can_poll(
    stack: Stack, client: httpx.Client
) -> None:
    name = f"Pickup-{uuid.uuid4().hex[:6]}.md"
    queued = client.post(
        "/api/v1/knowledge-bases/default/documents?wait=false",
        files={"file": (name, b"# Store pickup\n\nPickups in Nantes are free.")},
    )
    assert queued.status_code == 202
    location = queued.headers["location"]
    assert queued.json()["status"] == "queued" and location.endswith(queued.json()["upload_id"])
    job = _poll(client, location)
    assert job["status"] == "created" and job["document"]["doc_name"] == name  # type: ignore[index]
    answer = client.post("/api/v1/chat", json={"message": "Are pickups in Nantes free?"}).json()
    assert name in answer["data"]["sources"]

    # Another tenant's admin, or another knowledge base's path, does not find it.
    other = {"X-API-Key": issue_key(stack, f"other-{uuid.uuid4().hex[:6]}", "admin")}
    assert client.get(location, headers=other).status_code == 404
    assert client.get(location.replace("/default/", "/faq/")).status_code == 404

    broken = client.post(
        "/api/v1/knowledge-bases/default/documents?wait=false",
        files={"file": ("Broken.pdf", b"%PDF-1.7 not really a pdf")},
    )
    failed = _poll(client, broken.headers["location"])
    assert failed["status"] == "failed" and failed["error"]
