"""The terminal client streams a reply from a running gateway."""

from __future__ import annotations

from tests.e2e.conftest import frontdesk_cli
from tests.support.stack import Stack


def test_frontdesk_chat_prints_intent_sources_and_reply(stack: Stack) -> None:
    result = frontdesk_cli(stack, "chat", "How much does express shipping cost?")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("[knowledge_qa | sources: ShippingGuide.md")
    assert "$14.99" in result.stdout
    assert lines[-1] == "[turn 1]"


def test_frontdesk_chat_reports_a_wrong_key(stack: Stack) -> None:
    result = frontdesk_cli(stack, "chat", "hi", key="wrong")
    assert result.returncode == 1
    assert "error 401: Invalid or missing API key" in result.stderr
