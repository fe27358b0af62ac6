"""Every event type has a JSON example that its schema accepts; readers tolerate additions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from shared.events import ALL_EVENTS, Event, TurnStarted, turn_event_adapter

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "events"


@pytest.mark.parametrize("event_type", ALL_EVENTS, ids=lambda cls: cls.routing_key)
def test_example_validates(event_type: type[Event]) -> None:
    example = json.loads((FIXTURES / f"{event_type.routing_key}.json").read_text())
    event = event_type.model_validate(example)
    assert event.model_dump(mode="json") == example
    assert event.routing_key.endswith(f".v{event.version}")


def test_every_fixture_belongs_to_an_event() -> None:
    keys = {cls.routing_key for cls in ALL_EVENTS}
    assert {p.stem for p in FIXTURES.glob("*.json")} == keys


def test_readers_ignore_unknown_fields() -> None:
    example = json.loads((FIXTURES / "turn.started.v1.json").read_text())
    event = TurnStarted.model_validate({**example, "added_later": {"x": 1}})
    assert event.intent == "knowledge_qa"


def test_events_are_frozen() -> None:
    event = TurnStarted.model_validate(json.loads((FIXTURES / "turn.started.v1.json").read_text()))
    with pytest.raises(ValidationError):
        event.intent = "chitchat"  # type: ignore[misc]


def test_turn_events_are_told_apart_by_type() -> None:
    for name in ("turn.started.v1", "turn.tokens.v1", "turn.completed.v1", "turn.failed.v1"):
        example = json.loads((FIXTURES / f"{name}.json").read_text())
        assert turn_event_adapter.validate_python(example).routing_key == name


def test_published_schemas_match_the_events() -> None:
    """The JSON Schemas third-party workbenches code against are the events we publish."""
    from shared.events import CustomerMessaged, EscalationCreated

    docs = Path(__file__).resolve().parents[2] / "docs" / "schemas"
    for event, name in (
        (EscalationCreated, "escalation-event.v1"),
        (CustomerMessaged, "customer-messaged.v1"),
    ):
        published = json.loads((docs / f"{name}.schema.json").read_text())
        generated = event.model_json_schema()
        assert published["properties"] == generated["properties"]
        assert published.get("$defs") == generated.get("$defs")
        assert published["required"] == generated["required"]
