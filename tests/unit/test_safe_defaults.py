"""Safe defaults: placeholder keys are refused, the shipped deploy files cannot run open, and the
web pages carry their security headers."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import ValidationError

from services.gateway.deps import get_settings
from services.gateway.pages import router as pages_router
from shared.runner import is_loopback
from shared.settings import SAMPLE_KNOWLEDGE_DIR, Settings, frame_ancestors_policy, secret_problem

REPO = Path(__file__).resolve().parents[2]
REAL_KEY = "k3y-9Vt2cQe8LmR4xZp1"


def _settings(**values: Any) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("REPLACE_ME", "placeholder"),
        ("changeme", "placeholder"),
        ("your-api-key", "placeholder"),
        ("CHANGE-ME-in-production-please", "placeholder"),
        ("${API_KEY}", "placeholder"),
        ("<your key here>", "placeholder"),
        ("   ", "looks empty"),
        ('""', "looks empty"),
        ("short-key", "shorter than 16"),
        (f" {REAL_KEY}", "whitespace"),
        (f"{REAL_KEY}\n", "whitespace"),
        ("x" * 40, "repeats one character"),
    ],
)
def test_a_value_that_is_not_a_real_key_is_named_for_what_it_is(value: str, problem: str) -> None:
    assert problem in (secret_problem(value, 16) or "")


def test_a_random_key_and_an_unset_one_pass() -> None:
    assert secret_problem(REAL_KEY, 16) is None
    assert secret_problem("", 16) is None  # not set: development mode, checked at start


@pytest.mark.parametrize(
    ("values", "setting", "secret"),
    [
        ({"api_key": "REPLACE_ME"}, "api_key", "REPLACE_ME"),
        ({"api_key": "my-real-key!"}, "api_key", "my-real-key!"),  # 12 characters
        ({"agent_keys": f"alice:{REAL_KEY},bob:changeme"}, "agent_keys", "changeme"),
        ({"agent_keys": f"alice:{REAL_KEY},bob:"}, "agent_keys", REAL_KEY),
        ({"agent_keys": REAL_KEY}, "agent_keys", REAL_KEY),  # no agent name
        ({"jwt_secret": REAL_KEY}, "jwt_secret", REAL_KEY),  # 20 characters; HS256 needs 32
        ({"openai_api_key": "REPLACE_ME"}, "openai_api_key", "REPLACE_ME"),
    ],
)
def test_settings_refuse_placeholder_and_short_keys_without_echoing_them(
    values: dict[str, str], setting: str, secret: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        _settings(**values)
    assert [e["loc"] for e in refused.value.errors()] == [(setting,)]
    assert secret not in str(refused.value)


def test_a_vendor_s_own_conventions_for_keys_are_left_alone() -> None:
    assert _settings(openai_api_key="EMPTY").openai_api_key.get_secret_value() == "EMPTY"
    settings = _settings(api_key=REAL_KEY, agent_keys=f"alice:{REAL_KEY}x, bob:{REAL_KEY}y")
    assert settings.api_key.get_secret_value() == REAL_KEY


def test_frame_ancestors_become_a_csp_source_list() -> None:
    assert frame_ancestors_policy("") == "'none'"
    assert frame_ancestors_policy("none") == "'none'"
    assert (
        frame_ancestors_policy("self, https://shop.example.com https://*.example.com:8443")
        == "'self' https://shop.example.com https://*.example.com:8443"
    )
    for bad in ("javascript:", "'unsafe-inline'", "x;script-src *", "none https://a.example"):
        with pytest.raises(ValueError, match="not a frame source"):
            frame_ancestors_policy(bad)


def test_only_loopback_addresses_count_as_private() -> None:
    assert all(map(is_loopback, ["127.0.0.1", "127.0.1.1", "::1", "[::1]", "localhost"]))
    assert not any(map(is_loopback, ["0.0.0.0", "::", "10.0.0.5", "gateway.internal"]))


def test_compose_publishes_only_on_loopback_and_needs_a_key() -> None:
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    published = [p for s in compose["services"].values() for p in s.get("ports", [])]
    assert published and all(p.startswith("127.0.0.1:") for p in published), published
    assert compose["x-app"]["environment"]["API_KEY"].startswith("${API_KEY:?")


def test_the_example_k8s_secret_does_not_run_as_shipped() -> None:
    secret = yaml.safe_load((REPO / "deploy/k8s/base/secret.example.yaml").read_text())
    values = {name.lower(): value for name, value in secret["stringData"].items()}
    with pytest.raises(ValidationError) as refused:
        _settings(**values)
    assert ("api_key",) in [e["loc"] for e in refused.value.errors()]


def _pages(settings: Settings) -> TestClient:
    app = FastAPI()
    app.dependency_overrides[get_settings] = lambda: settings
    app.include_router(pages_router)
    return TestClient(app)


def test_the_widget_may_be_framed_only_by_the_configured_sites() -> None:
    embeddable = _pages(_settings(frame_ancestors="https://shop.example.com"))
    widget = embeddable.get("/widget").headers
    assert "frame-ancestors https://shop.example.com;" in widget["content-security-policy"]
    assert "x-frame-options" not in widget
    workbench = embeddable.get("/workbench").headers  # never framed, whatever the setting
    assert "frame-ancestors 'none'" in workbench["content-security-policy"]
    assert workbench["x-frame-options"] == "DENY"
    default = _pages(_settings()).get("/widget").headers
    assert "frame-ancestors 'none'" in default["content-security-policy"]


def test_the_pages_load_no_inline_code() -> None:
    for page in ("widget.html", "workbench.html"):
        html = (REPO / "services/gateway/web" / page).read_text()
        assert "<style" not in html and " style=" not in html
        assert all('src="/web/' in tag for tag in html.split("<script")[1:])
        assert not re.search(r"\son[a-z]+=", html)  # no onclick= and the like
    assert "key=" not in (REPO / "services/gateway/web/widget.js").read_text()


def test_a_distributed_retriever_seeds_no_sample_unless_asked() -> None:
    distributed = "amqp://guest:guest@rabbitmq:5672/"
    assert _settings(rabbitmq_url=distributed).knowledge_folder is None
    assert _settings(rabbitmq_url=distributed, knowledge_dir="sample").knowledge_folder == (
        SAMPLE_KNOWLEDGE_DIR
    )
    assert _settings(rabbitmq_url="").knowledge_folder == SAMPLE_KNOWLEDGE_DIR  # make run
    assert _settings(rabbitmq_url="", knowledge_dir="").knowledge_folder is None
    assert _settings(knowledge_dir="/srv/help").knowledge_folder == Path("/srv/help")
