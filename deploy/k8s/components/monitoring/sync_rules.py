"""Writes prometheusrule.yaml from deploy/prometheus/alerts.yml: run it after editing those.

    python deploy/k8s/components/monitoring/sync_rules.py
"""

from __future__ import annotations

from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
ALERTS = HERE.parents[2] / "prometheus/alerts.yml"
TARGET = HERE / "prometheusrule.yaml"
HEADER = (
    "# deploy/prometheus/alerts.yml as a Prometheus Operator resource, written by\n"
    "# sync_rules.py (run it after editing alerts.yml; tests/unit/test_deploy_files.py\n"
    "# fails while the two differ).\n"
)


def render() -> str:
    """The PrometheusRule holding alerts.yml's groups."""
    rule = {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {"name": "frontdesk"},
        "spec": {"groups": yaml.safe_load(ALERTS.read_text())["groups"]},
    }
    return HEADER + yaml.safe_dump(rule, sort_keys=False, width=100)


if __name__ == "__main__":
    TARGET.write_text(render())
