"""Who may call, as whom, and how often: end-user tokens, issued keys, rate limits, sessions."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient
from pydantic import SecretStr

from services.embedded import create_app
from services.gateway.stores import rate_limits
from shared.settings import Settings

ADMIN = {"X-API-Key": "test-key-0123456789"}
SECRET = "widget-signing-secret-0123456789abcdef"


def _token(sub: str, key: str = SECRET, **extra: object) -> str:
    claims = {"sub": sub, "exp": int(time.time()) + 600, **extra}
    return jwt.encode(claims, key, algorithm="HS256")


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def client(embedded_settings: Settings) -> Iterator[TestClient]:
    settings = embedded_settings.model_copy(update={"jwt_secret": SecretStr(SECRET)})
    with TestClient(create_app(settings)) as http:
        yield http


def test_an_end_user_token_acts_only_as_its_user(client: TestClient) -> None:
    alice = _bearer(_token("alice"))
    answer = client.post(
        "/api/v1/chat", json={"message": "hi", "user_id": "mallory"}, headers=alice
    ).json()
    session = answer["session_id"]
    assert client.get(f"/api/v1/sessions/{session}", headers=alice).json()["user_id"] == "alice"
    listed = client.get("/api/v1/sessions", params={"user_id": "mallory"}, headers=alice).json()
    assert [s["session_id"] for s in listed["sessions"]] == [session], "the token decides"

    bob = _bearer(_token("bob"))
    assert client.get(f"/api/v1/sessions/{session}", headers=bob).status_code == 404
    intrude = {"message": "hi", "session_id": session}
    assert client.post("/api/v1/chat", json=intrude, headers=bob).status_code == 404
    assert client.get(f"/api/v1/sessions/{session}", headers=alice).json()["turn_count"] == 1
    assert client.get(f"/api/v1/sessions/{session}/messages", headers=bob).status_code == 404
    assert client.get("/api/v1/sessions", headers=bob).json()["total"] == 0
    assert client.get(f"/api/v1/sessions/{session}", headers=ADMIN).status_code == 200
    assert client.get("/api/v1/knowledge-bases/default/documents", headers=alice).status_code == 403


@pytest.mark.parametrize(
    "token",
    [
        _token("alice", exp=int(time.time()) - 10),
        _token("alice", key="not-the-widget-secret-but-long-enough-0123"),
        "not.a.jwt",
    ],
    ids=["expired", "wrong-signature", "garbage"],
)
def test_bad_end_user_tokens_are_refused(client: TestClient, token: str) -> None:
    response = client.post("/api/v1/chat", json={"message": "hi"}, headers=_bearer(token))
    assert response.status_code == 401
    assert "token" in response.json()["detail"]


def test_rs256_tokens_verify_against_a_jwks_file(
    embedded_settings: Settings, tmp_path: Path
) -> None:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(private.public_key()))
    (tmp_path / "jwks.json").write_text(
        json.dumps({"keys": [{**jwk, "kid": "k1", "alg": "RS256"}]})
    )
    settings = embedded_settings.model_copy(update={"jwt_jwks_file": str(tmp_path / "jwks.json")})
    with TestClient(create_app(settings)) as http:
        token = jwt.encode(
            {"sub": "carol", "tenant": "acme", "exp": int(time.time()) + 600},
            private,
            algorithm="RS256",
            headers={"kid": "k1"},
        )
        answer = http.post("/api/v1/chat", json={"message": "hi"}, headers=_bearer(token))
        assert answer.status_code == 200
        session = answer.json()["session_id"]
        assert http.get(f"/api/v1/sessions/{session}", headers=ADMIN).status_code == 404, (
            "the token's tenant is acme, not the admin key's default tenant"
        )


def test_rate_limits_per_key_then_per_tenant(
    embedded_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Inside one fixed window, whatever the wall clock does during the test.
    monkeypatch.setattr(rate_limits.time, "time", lambda: 1_800_000_010.0)
    settings = embedded_settings.model_copy(
        update={"rate_limit_per_key": 3, "rate_limit_per_tenant": 5}
    )
    with TestClient(create_app(settings)) as http:
        seen = []
        for _ in range(3):
            response = http.get("/api/v1/sessions", params={"user_id": "u"}, headers=ADMIN)
            assert response.status_code == 200
            seen.append(response.headers["x-ratelimit-remaining"])
            assert response.headers["x-ratelimit-limit"] == "3"
            assert response.headers["x-ratelimit-reset"] == "1800000060"
        assert seen == ["2", "1", "0"]
        refused = http.get("/api/v1/sessions", params={"user_id": "u"}, headers=ADMIN)
        assert refused.status_code == 429
        assert refused.headers["retry-after"] == "50"
        assert refused.json()["detail"] == "Rate limit of 3 requests a minute reached"

        # Another key of the same tenant has its own budget, until the tenant's runs out.
        plain, _ = http.portal.call(http.app.gateway.api_keys.create, "default", "client")  # type: ignore[union-attr]
        other = {"X-API-Key": plain}
        # The refused request counted too: the tenant has used 4 of 5.
        assert http.get("/api/v1/sessions", params={"user_id": "u"}, headers=other).is_success
        last = http.get("/api/v1/sessions", params={"user_id": "u"}, headers=other)
        assert last.status_code == 429 and last.headers["x-ratelimit-limit"] == "5"


def test_sessions_are_created_listed_newest_first_and_renamed(client: TestClient) -> None:
    made = [
        client.post("/api/v1/sessions", json={"user_id": "u-9", "name": f"chat {n}"}, headers=ADMIN)
        for n in range(3)
    ]
    assert all(r.status_code == 201 for r in made)
    ids = [r.json()["session_id"] for r in made]
    page = client.get(
        "/api/v1/sessions", params={"user_id": "u-9", "limit": 2}, headers=ADMIN
    ).json()
    assert [s["session_id"] for s in page["sessions"]] == ids[::-1][:2]
    assert page["total"] == 3 and page["has_more"] is True

    renamed = client.patch(f"/api/v1/sessions/{ids[0]}", json={"name": "Refund"}, headers=ADMIN)
    assert renamed.json()["name"] == "Refund"
    client.post("/api/v1/chat", json={"message": "hi", "session_id": ids[0]}, headers=ADMIN)
    assert client.get(f"/api/v1/sessions/{ids[0]}", headers=ADMIN).json()["turn_count"] == 1
    client.delete(f"/api/v1/sessions/{ids[1]}", headers=ADMIN)
    left = client.get("/api/v1/sessions", params={"user_id": "u-9"}, headers=ADMIN).json()
    assert {s["session_id"] for s in left["sessions"]} == {ids[0], ids[2]}
    assert client.get("/api/v1/sessions", headers=ADMIN).status_code == 422, "whose sessions?"


def test_development_mode_accepts_any_key_but_issued_keys_keep_their_tenant(
    embedded_settings: Settings,
) -> None:
    settings = embedded_settings.model_copy(update={"api_key": SecretStr("")})
    with TestClient(create_app(settings)) as http:
        mine = http.post("/api/v1/chat", json={"message": "hi"}).json()["session_id"]
        assert http.get("/api/v1/knowledge-bases/default/documents").status_code == 200
        any_key = {"X-API-Key": "your-api-key"}
        assert http.get(f"/api/v1/sessions/{mine}", headers=any_key).status_code == 200
        plain, _ = http.portal.call(http.app.gateway.api_keys.create, "acme", "client")  # type: ignore[union-attr]
        assert http.get(f"/api/v1/sessions/{mine}", headers={"X-API-Key": plain}).status_code == 404
