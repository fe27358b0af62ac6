"""The grounding guard on the distributed stack, with a fake model that states what the help
centre does not ("US: 15 days" for standard shipping, "Cash" as a payment method): in strict
mode the customer never receives it; in flag mode it arrives, marked."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.conftest import HEADERS, StackFactory, client_of
from tests.support.fake_llm import llm_stats, set_llm_mode, wait_for
from tests.support.sse import stream_events

SHIPPING = "How long does standard shipping take?"
PAYMENT = "What payment methods do you accept?"


@pytest.fixture(scope="module")
def fake_llm(stack_factory: StackFactory) -> str:
    # 20 tokens a second: the model is still writing when the guard stops it.
    return stack_factory.fake_llm(20, 40)


@pytest.fixture(scope="module")
def strict(fake_llm: str, stack_factory: StackFactory) -> Iterator[httpx.Client]:
    stack = stack_factory(llm=fake_llm, GROUNDING_GUARD="strict")
    with client_of(stack) as c:
        c.orchestrator_url = stack.of("orchestrator")[0].url  # type: ignore[attr-defined]
        yield c


@pytest.fixture(scope="module")
def flag(fake_llm: str, stack_factory: StackFactory) -> Iterator[httpx.Client]:
    with client_of(stack_factory(llm=fake_llm, GROUNDING_GUARD="flag")) as c:
        yield c


@pytest.fixture(autouse=True)
def wrong_model(fake_llm: str) -> Iterator[None]:
    set_llm_mode(fake_llm, "wrong_figures")
    yield
    set_llm_mode(fake_llm, "normal")


def _said(events: list[tuple[str, dict]]) -> str:
    return "".join(d["content"] for name, d in events if name == "token")


def test_strict_never_sends_the_unsupported_figure_or_name(strict: httpx.Client) -> None:
    for n, question in enumerate([SHIPPING, PAYMENT]):
        body = strict.post("/api/v1/chat", json={"message": f"{question} ({n})"}).json()
        assert "15 days" not in body["reply"] and "Cash" not in body["reply"]
        assert body["data"]["grounding"] == "replaced"
        _, events = stream_events(strict, {"message": f"{question} (stream {n})"})
        said = _said(events)
        assert "15 days" not in said and "Cash" not in said
        done = next(d for name, d in events if name == "done")
        assert done["grounding"] == "replaced" and done["answer"] == said
    # What the customer got instead is the help centre's own answer.
    shipping = strict.post("/api/v1/chat", json={"message": SHIPPING}).json()["reply"]
    assert (
        shipping.startswith("According to our Shipping Guide:") and "3-5 business days" in shipping
    )
    payment = strict.post("/api/v1/chat", json={"message": PAYMENT}).json()["reply"]
    assert "PayPal" in payment and "Alipay" in payment


def test_strict_stops_the_model_and_a_second_try_that_holds_is_sent(
    strict: httpx.Client, fake_llm: str
) -> None:
    set_llm_mode(fake_llm, "wrong_figures", count=1, then="quote_passage")
    cancelled = llm_stats(fake_llm)["cancelled"]
    body = strict.post("/api/v1/chat", json={"message": "How much is standard shipping?"}).json()
    assert body["data"]["grounding"] == "regenerated"
    assert "15 days" not in body["reply"] and body["reply"].rstrip().endswith("[1]")
    # The wrong answer's request was closed as soon as its first sentence failed.
    assert wait_for(lambda: llm_stats(fake_llm)["cancelled"] >= cancelled + 1)
    url = f"{strict.orchestrator_url}/metrics"  # type: ignore[attr-defined]
    counted = {
        sample.labels["outcome"]: sample.value
        for family in text_string_to_metric_families(httpx.get(url, headers=HEADERS).text)
        for sample in family.samples
        if sample.name == "frontdesk_grounding_events_total"
    }
    assert counted["regenerated"] >= 1 and counted["replaced"] >= 4


def test_a_supported_answer_streams_and_is_verified(strict: httpx.Client, fake_llm: str) -> None:
    set_llm_mode(fake_llm, "quote_passage")
    _, events = stream_events(strict, {"message": "How much does standard shipping cost?"})
    said = _said(events)
    done = next(d for name, d in events if name == "done")
    assert done["grounding"] == "verified" and said.endswith("[1] ") and "$5.99" in said


def test_flag_sends_the_unsupported_answer_marked_and_never_caches_it(
    flag: httpx.Client, fake_llm: str
) -> None:
    body = flag.post("/api/v1/chat", json={"message": SHIPPING}).json()
    assert "15 days" in body["reply"] and "Cash" in body["reply"]
    assert body["data"]["grounding"] == "flagged"
    _, events = stream_events(flag, {"message": PAYMENT})
    assert "Cash" in _said(events)
    assert next(d for name, d in events if name == "done")["grounding"] == "flagged"
    requests = llm_stats(fake_llm)["requests"]
    again = flag.post("/api/v1/chat", json={"message": SHIPPING}).json()
    assert again["data"]["grounding"] == "flagged"
    assert llm_stats(fake_llm)["requests"] == requests + 1  # asked again, not served from cache
