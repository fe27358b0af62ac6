"""The deployment files as ops apply them: compose and k8s validate against their schemas, and
the autoscalers watch the queues the workers actually consume."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import compose_spec
import kubernetes_validate
import pytest
import yaml
from kubernetes_validate.utils import SchemaNotFoundError, ValidationError

from shared.topology import Topology
from tests.support.stack import REPO

K8S = REPO / "deploy/k8s"
MONITORING = K8S / "monitoring"
# KEDA's and the Prometheus Operator's resources: no schema upstream.
CRD_KINDS = {
    "ScaledObject",
    "TriggerAuthentication",
    "PodMonitor",
    "ScrapeConfig",
    "PrometheusRule",
}
# Which worker consumes which queues (services/*/app.py subscribe to these).
CONSUMED = {
    "orchestrator": ("chat_requests",),
    "retriever": (
        "retrieval_requests",
        "document_uploads",
        "document_deletions",
        "document_listings",
    ),
    "escalation": ("escalation_requests", "agent_commands"),
}


def _documents(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def _k8s_resources(folder: Path = K8S) -> list[tuple[str, dict[str, Any]]]:
    listed = yaml.safe_load((folder / "kustomization.yaml").read_text())["resources"]
    return [(name, doc) for name in listed for doc in _documents(folder / name)]


def test_compose_validates_against_the_compose_spec() -> None:
    # YAML merge keys (<<: *app) are resolved first, as Compose itself does.
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    compose_spec.PyCompose.from_json(json.dumps(compose)).validate()
    services = set(compose["services"])
    for name, service in compose["services"].items():
        assert set(service.get("depends_on", {})) <= services, name
        # Optional servers stay optional: nothing that always starts waits for one.
        if "profiles" not in service:
            for needed in service.get("depends_on", {}):
                assert "profiles" not in compose["services"][needed], (name, needed)


def test_compose_redis_needs_a_password_and_the_services_send_it() -> None:
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    redis = compose["services"]["redis"]
    assert "--requirepass" in " ".join(redis["command"])
    assert redis["environment"]["REDIS_PASSWORD"].startswith("${REDIS_PASSWORD:?")
    assert "${REDIS_PASSWORD" in compose["x-app"]["environment"]["REDIS_URL"]


def test_a_misspelt_compose_key_is_refused() -> None:
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    compose["services"]["gateway"]["stop_grace_perod"] = "75s"
    with pytest.raises(Exception, match="stop_grace_perod"):
        compose_spec.PyCompose.from_json(json.dumps(compose)).validate()


def test_every_k8s_file_is_listed_and_every_resource_validates() -> None:
    for folder, by_hand in ((K8S, {"secret.example.yaml"}), (MONITORING, set())):
        listed = set(yaml.safe_load((folder / "kustomization.yaml").read_text())["resources"])
        on_disk = {p.name for p in folder.glob("*.yaml")} - {"kustomization.yaml"}
        assert on_disk - listed == by_hand, folder  # the secret is applied by hand
    version = kubernetes_validate.utils.latest_version()
    checked, invalid = 0, []
    for name, doc in (
        _k8s_resources()
        + _k8s_resources(MONITORING)
        + [("secret.example.yaml", d) for d in _documents(K8S / "secret.example.yaml")]
    ):
        if doc["kind"] in CRD_KINDS:
            with pytest.raises(SchemaNotFoundError):
                kubernetes_validate.validate(doc, version, strict=True)
            continue
        try:
            kubernetes_validate.validate(doc, version, strict=True)  # strict: no unknown fields
        except ValidationError as exc:
            invalid.append(f"{name} {doc['kind']}: {exc.message}")
        checked += 1
    assert invalid == []
    assert checked >= 10


def test_each_worker_scales_on_every_queue_it_consumes_under_the_configured_prefix() -> None:
    config = yaml.safe_load((K8S / "configmap.yaml").read_text())["data"]
    topology = Topology(prefix=config["BROKER_PREFIX"], max_deliveries=5)
    scaled = {
        doc["spec"]["scaleTargetRef"]["name"]: doc["spec"]
        for _, doc in _k8s_resources()
        if doc["kind"] == "ScaledObject"
    }
    assert set(scaled) == set(CONSUMED)
    for worker, queues in CONSUMED.items():
        watched = {t["metadata"]["queueName"] for t in scaled[worker]["triggers"]}
        assert watched == {getattr(topology, q).name for q in queues}, worker
        assert scaled[worker]["fallback"]["replicas"] >= 1, worker


def test_the_k8s_alert_rules_are_the_ones_prometheus_is_tested_with() -> None:
    spec = importlib.util.spec_from_file_location("sync_rules", MONITORING / "sync_rules.py")
    assert spec is not None and spec.loader is not None
    sync_rules = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(sync_rules)
    assert (MONITORING / "prometheusrule.yaml").read_text() == sync_rules.render()


def test_the_k8s_scrapes_label_series_as_the_alerts_expect() -> None:
    jobs = {
        relabel["replacement"]
        for _, doc in _k8s_resources(MONITORING)
        if doc["kind"] in ("PodMonitor", "ScrapeConfig")
        for endpoint in doc["spec"].get("podMetricsEndpoints", [doc["spec"]])
        for relabel in endpoint["relabelings"]
        if relabel["targetLabel"] == "job"
    }
    # FrontdeskServiceDown, FrontdeskRedisDown and FrontdeskRabbitMQDown read these jobs.
    assert jobs == {"frontdesk", "redis", "rabbitmq"}


def test_every_workload_has_a_disruption_budget() -> None:
    resources = [doc for _, doc in _k8s_resources()]
    workloads = {
        doc["metadata"]["name"]: doc["spec"]["selector"]["matchLabels"]
        for doc in resources
        if doc["kind"] == "Deployment"
    }
    budgets = [
        doc["spec"]["selector"]["matchLabels"]
        for doc in resources
        if doc["kind"] == "PodDisruptionBudget"
    ]
    assert workloads and all(labels in budgets for labels in workloads.values()), workloads
