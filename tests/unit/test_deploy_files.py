"""The deployment files as ops apply them: compose validates against its schema, and each k8s
overlay, rendered by kubectl's kustomize, validates and watches the queues its workers consume
under its own prefix."""

from __future__ import annotations

import functools
import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import compose_spec
import kubernetes_validate
import pytest
import yaml
from kubernetes_validate.utils import SchemaNotFoundError, ValidationError

from shared.topology import Topology
from tests.support.kubectl import installed
from tests.support.stack import REPO

K8S = REPO / "deploy/k8s"
MONITORING = K8S / "components/monitoring"
OVERLAYS = sorted(p.name for p in (K8S / "overlays").iterdir())
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


def _documents(text: str) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(text) if doc]


@functools.cache
def _render(overlay: str) -> tuple[dict[str, Any], ...]:
    """What `kubectl apply -k deploy/k8s/overlays/<overlay>` would send to the cluster."""
    kubectl = installed(Path(sys.executable).parent)
    out = subprocess.run(
        [str(kubectl), "kustomize", str(K8S / "overlays" / overlay)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return tuple(_documents(out))


def _of_kind(overlay: str, kind: str) -> list[dict[str, Any]]:
    return [doc for doc in _render(overlay) if doc["kind"] == kind]


def _settings(overlay: str) -> dict[str, str]:
    (config,) = _of_kind(overlay, "ConfigMap")
    data: dict[str, str] = config["data"]
    return data


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


def test_every_k8s_file_is_used_by_some_kustomization() -> None:
    used: set[Path] = set()
    for kustomization in K8S.rglob("kustomization.yaml"):
        spec = yaml.safe_load(kustomization.read_text())
        for name in spec.get("resources", []) + spec.get("components", []):
            used.add((kustomization.parent / name).resolve())
    on_disk = {p.resolve() for p in K8S.rglob("*.yaml")} - {
        p.resolve() for p in K8S.rglob("kustomization.yaml")
    }
    # The secret is applied by hand, so that re-applying never overwrites real credentials.
    assert on_disk - used == {(K8S / "base/secret.example.yaml").resolve()}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_rendered_resource_validates(overlay: str) -> None:
    version = kubernetes_validate.utils.latest_version()
    secret_example = _documents((K8S / "base/secret.example.yaml").read_text())
    checked, invalid = 0, []
    for doc in list(_render(overlay)) + secret_example:
        if doc["kind"] in CRD_KINDS:
            with pytest.raises(SchemaNotFoundError):
                kubernetes_validate.validate(doc, version, strict=True)
            continue
        try:
            kubernetes_validate.validate(doc, version, strict=True)  # strict: no unknown fields
        except ValidationError as exc:
            invalid.append(f"{doc['kind']} {doc['metadata']['name']}: {exc.message}")
        checked += 1
    assert invalid == []
    assert checked >= 10


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_everything_lands_in_the_overlays_namespace_and_reads_its_config(overlay: str) -> None:
    spec = yaml.safe_load((K8S / "overlays" / overlay / "kustomization.yaml").read_text())
    (namespace,) = _of_kind(overlay, "Namespace")
    assert namespace["metadata"]["name"] == spec["namespace"]
    for doc in _render(overlay):
        if doc["kind"] != "Namespace":
            assert doc["metadata"]["namespace"] == spec["namespace"], doc["metadata"]["name"]
    (config,) = _of_kind(overlay, "ConfigMap")
    for deployment in _of_kind(overlay, "Deployment"):
        for container in deployment["spec"]["template"]["spec"]["containers"]:
            if container["name"] == "redis-exporter":
                continue
            sources = {
                ref.get("configMapRef", {}).get("name") or ref["secretRef"]["name"]
                for ref in container["envFrom"]
            }
            # The generated name carries a hash, so a changed setting rolls these pods.
            assert sources == {config["metadata"]["name"], "frontdesk-secrets"}
            assert not container["image"].startswith("frontdesk"), "the overlay sets the image"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_production_retrievers_seed_no_sample_pages(overlay: str) -> None:
    assert "KNOWLEDGE_DIR" not in _settings(overlay)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_each_worker_scales_on_every_queue_it_consumes_under_the_overlays_prefix(
    overlay: str,
) -> None:
    topology = Topology(prefix=_settings(overlay)["BROKER_PREFIX"], max_deliveries=5)
    scaled = {
        doc["spec"]["scaleTargetRef"]["name"]: doc["spec"]
        for doc in _of_kind(overlay, "ScaledObject")
    }
    assert set(scaled) == set(CONSUMED)
    for worker, queues in CONSUMED.items():
        watched = {t["metadata"]["queueName"] for t in scaled[worker]["triggers"]}
        assert watched == {getattr(topology, q).name for q in queues}, worker
        assert scaled[worker]["fallback"]["replicas"] >= 1, worker


def test_the_overlays_keep_their_deployments_apart() -> None:
    prefixes = [_settings(o)["BROKER_PREFIX"] for o in OVERLAYS]
    redis_prefixes = [_settings(o)["REDIS_PREFIX"] for o in OVERLAYS]
    hosts = [_of_kind(o, "Ingress")[0]["spec"]["rules"][0]["host"] for o in OVERLAYS]
    for values in (prefixes, redis_prefixes, hosts):
        assert len(set(values)) == len(OVERLAYS), values


def test_the_k8s_alert_rules_are_the_ones_prometheus_is_tested_with() -> None:
    spec = importlib.util.spec_from_file_location("sync_rules", MONITORING / "sync_rules.py")
    assert spec is not None and spec.loader is not None
    sync_rules = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(sync_rules)
    assert (MONITORING / "prometheusrule.yaml").read_text() == sync_rules.render()


def test_the_k8s_scrapes_label_series_as_the_alerts_expect() -> None:
    jobs = {
        relabel["replacement"]
        for doc in _render("production")
        if doc["kind"] in ("PodMonitor", "ScrapeConfig")
        for endpoint in doc["spec"].get("podMetricsEndpoints", [doc["spec"]])
        for relabel in endpoint["relabelings"]
        if relabel["targetLabel"] == "job"
    }
    # FrontdeskServiceDown, FrontdeskRedisDown and FrontdeskRabbitMQDown read these jobs.
    assert jobs == {"frontdesk", "redis", "rabbitmq"}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_workload_has_a_disruption_budget_that_lets_a_node_drain(overlay: str) -> None:
    replicas = {
        doc["spec"]["scaleTargetRef"]["name"]: doc["spec"]["minReplicaCount"]
        for doc in _of_kind(overlay, "ScaledObject")
    }
    replicas |= {
        doc["spec"]["scaleTargetRef"]["name"]: doc["spec"]["minReplicas"]
        for doc in _of_kind(overlay, "HorizontalPodAutoscaler")
    }
    budgets = {
        json.dumps(doc["spec"]["selector"]["matchLabels"], sort_keys=True): doc["spec"]
        for doc in _of_kind(overlay, "PodDisruptionBudget")
    }
    for deployment in _of_kind(overlay, "Deployment"):
        name = deployment["metadata"]["name"]
        labels = json.dumps(deployment["spec"]["selector"]["matchLabels"], sort_keys=True)
        assert labels in budgets, name
        budget = budgets[labels]
        lowest = replicas.get(name, deployment["spec"].get("replicas", 1))
        # minAvailable equal to the replica count would block every voluntary eviction.
        assert budget.get("maxUnavailable", 0) >= 1 or budget["minAvailable"] < lowest, name
