"""The shipped dashboard and alerts against a real Prometheus scraping the multi-process stack,
RabbitMQ's own exporter and redis-exporter: every metric they read exists, every rule loads."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.e2e.conftest import API_KEY, HEADERS, StackFactory
from tests.support.fake_llm import wait_for
from tests.support.services import missing
from tests.support.stack import REPO, Stack, free_port

DASHBOARD = REPO / "deploy/grafana/frontdesk-dashboard.json"
ALERTS = REPO / "deploy/prometheus/alerts.yml"
RABBITMQ_METRICS = "127.0.0.1:15692"  # the rabbitmq_prometheus plugin
METRIC = re.compile(r"\b((?:frontdesk|rabbitmq|redis)_[a-z_]+)\b")


def _binary(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        missing(f"{name} is not installed (apt-get install prometheus prometheus-redis-exporter)")
    return path


def _dashboard_queries() -> list[str]:
    panels = json.loads(DASHBOARD.read_text())["panels"]
    return [target["expr"] for panel in panels for target in panel["targets"]]


def _alert_queries() -> list[str]:
    groups = yaml.safe_load(ALERTS.read_text())["groups"]
    return [rule["expr"] for group in groups for rule in group["rules"]]


def _prometheus_config(stack: Stack, key_file: Path, redis_exporter: str) -> dict[str, Any]:
    targets = [
        {"targets": [process.url.removeprefix("http://")], "labels": {"service": process.name}}
        for process in stack.processes
    ]
    return {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(ALERTS)],
        "scrape_configs": [
            {
                "job_name": "frontdesk",
                "authorization": {"type": "Bearer", "credentials_file": str(key_file)},
                "static_configs": targets,
            },
            {
                "job_name": "rabbitmq",
                "metrics_path": "/metrics/detailed",
                "params": {"family": ["queue_coarse_metrics", "queue_consumer_count"]},
                "static_configs": [{"targets": [RABBITMQ_METRICS]}],
            },
            {"job_name": "redis", "static_configs": [{"targets": [redis_exporter]}]},
        ],
    }


@pytest.fixture(scope="module")
def prometheus(
    stack_factory: StackFactory, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Stack, str]]:
    """The stack, and the URL of a Prometheus scraping it every second with the shipped rules."""
    prometheus_bin, exporter_bin = _binary("prometheus"), _binary("prometheus-redis-exporter")
    try:
        httpx.get(f"http://{RABBITMQ_METRICS}/metrics", timeout=5).raise_for_status()
    except httpx.HTTPError:
        missing(
            "RabbitMQ's Prometheus endpoint is off (rabbitmq-plugins enable rabbitmq_prometheus)"
        )
    stack = stack_factory()
    work = tmp_path_factory.mktemp("prometheus")
    key_file = work / "api_key"
    key_file.write_text(API_KEY)
    exporter_address = f"127.0.0.1:{free_port()}"
    prometheus_port = free_port()
    config = work / "prometheus.yml"
    config.write_text(yaml.safe_dump(_prometheus_config(stack, key_file, exporter_address)))
    logs = (work / "exporter.log").open("wb"), (work / "prometheus.log").open("wb")
    children = [
        subprocess.Popen(
            [
                exporter_bin,
                "--redis.addr=redis://127.0.0.1:6379",
                f"--web.listen-address={exporter_address}",
            ],
            stdout=logs[0],
            stderr=subprocess.STDOUT,
        ),
        subprocess.Popen(
            [
                prometheus_bin,
                f"--config.file={config}",
                f"--storage.tsdb.path={work / 'data'}",
                f"--web.listen-address=127.0.0.1:{prometheus_port}",
            ],
            stdout=logs[1],
            stderr=subprocess.STDOUT,
        ),
    ]
    url = f"http://127.0.0.1:{prometheus_port}"
    try:
        assert wait_for(lambda: _ready(url), 60), (work / "prometheus.log").read_text()[-2000:]
        yield stack, url
    finally:
        for child in children:
            child.terminate()
            child.wait(timeout=20)


def _ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/-/ready", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _query(url: str, expr: str) -> dict[str, Any]:
    response = httpx.get(f"{url}/api/v1/query", params={"query": expr}, timeout=10)
    body: dict[str, Any] = response.json()
    return body


def _present(url: str, name: str) -> bool:
    return bool(_query(url, f'count({{__name__="{name}"}})')["data"]["result"])


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
    queries = _dashboard_queries() + _alert_queries()
    names = sorted({name for expr in queries for name in METRIC.findall(expr)})
    assert len(names) >= 15, names
    absent: list[str] = []

    def all_present() -> bool:
        absent[:] = [name for name in names if not _present(url, name)]
        return not absent

    assert wait_for(all_present, 60), f"never scraped: {absent}"
    # A rate needs two scrapes of a series: more turns, once the first ones were scraped.
    _drive_turns(stack)
    errors = [e for e in queries if _query(url, e)["status"] != "success"]
    assert errors == []

    def empty_panels() -> list[str]:
        return [e for e in _dashboard_queries() if not _query(url, e)["data"]["result"]]

    # Only the error panel may stay empty: these turns had no 5xx and no 429.
    wait_for(lambda: all("frontdesk_http_requests_total{status=" in e for e in empty_panels()), 20)
    assert [e for e in empty_panels() if "frontdesk_http_requests_total{status=" not in e] == []


def test_the_alert_rules_load_and_the_dependencies_read_as_up(
    prometheus: tuple[Stack, str],
) -> None:
    _, url = prometheus
    check = subprocess.run(
        [_binary("promtool"), "check", "rules", str(ALERTS)], capture_output=True, text=True
    )
    assert check.returncode == 0, check.stdout + check.stderr

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
