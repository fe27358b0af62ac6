"""The shipped dashboard and alerts against a real Prometheus scraping the multi-process stack,
RabbitMQ's own exporter and redis-exporter: every metric they read exists, every rule loads."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import yaml

from tests.e2e.conftest import API_KEY, HEADERS, StackFactory
from tests.support.fake_llm import wait_for
from tests.support.prometheus import ALERTS, binary, dashboard_panels, query, running_prometheus
from tests.support.stack import REPO, Stack

SCRAPE_CONFIG = REPO / "deploy/prometheus/prometheus.yml"
METRIC = re.compile(r"\b((?:frontdesk|rabbitmq|redis)_[a-z_]+)\b")


def _dashboard_queries(stack: Stack) -> list[str]:
    panels = dashboard_panels(stack.env["BROKER_PREFIX"])
    return [target["expr"] for panel in panels for target in panel["targets"]]


def _alert_queries() -> list[str]:
    groups = yaml.safe_load(ALERTS.read_text())["groups"]
    return [rule["expr"] for group in groups for rule in group["rules"]]


@pytest.fixture(scope="module")
def prometheus(
    stack_factory: StackFactory, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Stack, str]]:
    """The stack, and a Prometheus scraping it every second with the shipped rules."""
    stack = stack_factory()
    with running_prometheus(stack, tmp_path_factory.mktemp("prometheus"), API_KEY) as url:
        yield stack, url


def _present(url: str, name: str) -> bool:
    return bool(query(url, f'count({{__name__="{name}"}})')["data"]["result"])


def _drive_turns(stack: Stack) -> None:
    """Turns of every kind the panels count: a streamed answer, a cache hit, a hand-off."""
    gateway = stack.of("gateway")[0].url
    with httpx.Client(base_url=gateway, headers=HEADERS, timeout=60) as client:
        with client.stream(
            "POST", "/api/v1/chat/stream", json={"message": "How long does standard shipping take?"}
        ) as stream:
            assert stream.status_code == 200
            stream.read()
        for message in ("How long does standard shipping take?", "I want to talk to a human agent"):
            assert client.post("/api/v1/chat", json={"message": message}).status_code == 200


def test_every_metric_the_dashboard_and_the_alerts_read_is_scraped(
    prometheus: tuple[Stack, str],
) -> None:
    stack, url = prometheus
    _drive_turns(stack)
    queries = _dashboard_queries(stack) + _alert_queries()
    names = sorted({name for expr in queries for name in METRIC.findall(expr)})
    assert len(names) >= 15, names
    absent: list[str] = []

    def all_present() -> bool:
        absent[:] = [name for name in names if not _present(url, name)]
        return not absent

    assert wait_for(all_present, 60), f"never scraped: {absent}"
    # A rate needs two scrapes of a series: more turns, once the first ones were scraped.
    _drive_turns(stack)
    errors = [e for e in queries if query(url, e)["status"] != "success"]
    assert errors == []

    def empty_panels() -> list[str]:
        return [e for e in _dashboard_queries(stack) if not query(url, e)["data"]["result"]]

    # Only the error panel may stay empty: these turns had no 5xx and no 429.
    wait_for(lambda: all("frontdesk_http_requests_total{status=" in e for e in empty_panels()), 20)
    assert [e for e in empty_panels() if "frontdesk_http_requests_total{status=" not in e] == []


def test_the_alert_rules_load_and_the_dependencies_read_as_up(
    prometheus: tuple[Stack, str],
) -> None:
    _, url = prometheus
    promtool = binary("promtool")
    for check in (
        [promtool, "check", "rules", str(ALERTS)],
        # The shipped scrape config; --syntax-only: its key file exists only in compose.
        [promtool, "check", "config", "--syntax-only", str(SCRAPE_CONFIG)],
    ):
        done = subprocess.run(check, capture_output=True, text=True)
        assert done.returncode == 0, done.stdout + done.stderr

    def evaluated() -> list[dict[str, Any]]:
        groups = httpx.get(f"{url}/api/v1/rules", timeout=10).json()["data"]["groups"]
        rules = [rule for group in groups for rule in group["rules"]]
        return rules if all(r["lastEvaluation"][:4] != "0001" for r in rules) else []

    assert wait_for(lambda: bool(evaluated()), 30)
    rules = evaluated()
    assert len(rules) == len(_alert_queries())
    assert {r["name"]: r["health"] for r in rules if r["health"] != "ok"} == {}

    def down() -> list[str]:
        return [
            r["name"]
            for r in evaluated()
            if r["name"] in ("FrontdeskRedisDown", "FrontdeskRabbitMQDown")
            and r["state"] != "inactive"
        ]

    # With both exporters scraped, neither dependency alert is pending or firing.
    assert wait_for(lambda: not down(), 30), down()
