"""Layering: shared never imports services, and no service imports another service."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("gateway", "orchestrator", "retriever", "escalation")


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path}: relative import (use absolute imports)"
            names.add(node.module or "")
    return names


def test_shared_never_imports_services() -> None:
    for path in (ROOT / "shared").rglob("*.py"):
        bad = {n for n in _imports(path) if n == "services" or n.startswith("services.")}
        assert not bad, f"{path.relative_to(ROOT)} imports {bad}"


def test_no_service_imports_another() -> None:
    for service in SERVICES:
        for path in (ROOT / "services" / service).rglob("*.py"):
            for name in _imports(path):
                parts = name.split(".")
                if parts[0] == "services" and len(parts) > 1:
                    assert parts[1] == service, f"{path.relative_to(ROOT)} imports {name}"
