"""A real Prometheus (with redis-exporter) scraping a stack with the shipped alert rules."""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import yaml

from tests.support.services import missing
from tests.support.stack import REPO, Stack, free_port

DASHBOARD = REPO / "deploy/grafana/frontdesk-dashboard.json"
ALERTS = REPO / "deploy/prometheus/alerts.yml"
RABBITMQ_METRICS = "127.0.0.1:15692"  # the rabbitmq_prometheus plugin
READY_TIMEOUT_S = 60.0


def dashboard_panels(prefix: str) -> list[dict[str, Any]]:
    """The dashboard's panels, their queries filled in for a deployment's BROKER_PREFIX."""
    panels: list[dict[str, Any]] = json.loads(DASHBOARD.read_text())["panels"]
    for panel in panels:
        for target in panel["targets"]:
            target["expr"] = target["expr"].replace("$prefix", prefix)
    return panels


def binary(name: str) -> str:
    """The path of an installed program; skip (locally) or fail (CI) without it."""
    path = shutil.which(name)
    if path is None:
        missing(f"{name} is not installed (apt-get install prometheus prometheus-redis-exporter)")
    return path


def _config(stack: Stack, key_file: Path, redis_exporter: str) -> dict[str, Any]:
    """Like deploy/prometheus/prometheus.yml, for this stack's ports, scraped every second."""
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


def _ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/-/ready", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@contextlib.contextmanager
def running_prometheus(stack: Stack, workdir: Path, api_key: str) -> Iterator[str]:
    """Prometheus's URL while the block runs, with redis-exporter beside it."""
    prometheus_bin, exporter_bin = binary("prometheus"), binary("prometheus-redis-exporter")
    try:
        httpx.get(f"http://{RABBITMQ_METRICS}/metrics", timeout=5).raise_for_status()
    except httpx.HTTPError:
        missing("RabbitMQ's metrics are off (rabbitmq-plugins enable rabbitmq_prometheus)")
    key_file = workdir / "api_key"
    key_file.write_text(api_key)
    exporter = f"127.0.0.1:{free_port()}"
    port = free_port()
    config = workdir / "prometheus.yml"
    config.write_text(yaml.safe_dump(_config(stack, key_file, exporter)))
    log = workdir / "prometheus.log"
    commands = [
        [exporter_bin, "--redis.addr=redis://127.0.0.1:6379", f"--web.listen-address={exporter}"],
        [
            prometheus_bin,
            f"--config.file={config}",
            f"--storage.tsdb.path={workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
    ]
    with log.open("wb") as output:
        children = [
            subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT)
            for command in commands
        ]
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while not _ready(url):
            if time.monotonic() > deadline or children[1].poll() is not None:
                raise RuntimeError(f"Prometheus did not start:\n{log.read_text()[-2000:]}")
            time.sleep(0.2)
        yield url
    finally:
        for child in children:
            child.terminate()
            child.wait(timeout=20)


def query(url: str, expr: str) -> dict[str, Any]:
    """An instant query's whole answer (``status``, ``data``)."""
    answer: dict[str, Any] = httpx.get(
        f"{url}/api/v1/query", params={"query": expr}, timeout=10
    ).json()
    return answer
