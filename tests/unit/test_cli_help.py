"""A newcomer's first commands: ``frontdesk --help``, ``--version`` and each command's help."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.support.stack import REPO


def _frontdesk(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "services.cli", *args],
        cwd=REPO,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_help_lists_the_commands_and_succeeds(flag: str) -> None:
    result = _frontdesk(flag)
    assert result.returncode == 0, result.stderr
    for command in ("run", "<service>", "chat", "ingest", "keys"):
        assert f"  {command} " in result.stdout
    assert "gateway|orchestrator|retriever|escalation" in result.stdout


def test_version_names_the_installed_package() -> None:
    result = _frontdesk("--version")
    assert result.returncode == 0
    assert result.stdout.strip().startswith("frontdesk ") and result.stdout.strip()[-1].isdigit()


def test_an_unknown_command_is_named_and_fails() -> None:
    result = _frontdesk("ingets")
    assert result.returncode == 2
    assert "unknown command 'ingets'" in result.stderr and "ingest" in result.stderr


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("run", ["(default: 8000)", "KNOWLEDGE_DIR"]),
        ("orchestrator", ["(default: 8001)", "RABBITMQ_URL"]),
        ("ingest", ["(default: 4;", "$FRONTDESK_URL", "$API_KEY"]),
        ("chat", ["$FRONTDESK_URL", "$API_KEY"]),
    ],
)
def test_command_help_shows_defaults_and_environment_but_never_the_key(
    command: str, expected: list[str]
) -> None:
    result = _frontdesk(command, "--help", API_KEY="sk-secret-0123456789abcdef")
    assert result.returncode == 0, result.stderr
    help_text = " ".join(result.stdout.split())  # argparse wraps lines
    for words in expected:
        assert words in help_text
    assert "sk-secret" not in result.stdout + result.stderr
