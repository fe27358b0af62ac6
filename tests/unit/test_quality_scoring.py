"""The ruler of bench/quality.py: when a reply counts as stating the fact and citing the page."""

from __future__ import annotations

from bench.quality_data import Case
from bench.quality_scoring import contains_fact, figures, score, states

ANSWER = (
    "Yes. The appeal is sent to the County Administrative Board within 3 weeks of "
    "notification. Further instances: the Land and Environment Court."
)


def test_a_fact_matches_across_case_emphasis_and_spacing() -> None:
    assert contains_fact("Use an **Authenticator  App**.", "authenticator app")
    assert contains_fact("在 7 天 内寄出", "7 天")
    assert contains_fact("refunds arrive within 5-10 business days", "5")


def test_a_number_matches_only_as_a_whole_number() -> None:
    assert not contains_fact("orders over $150 ship free", "15")
    assert not contains_fact("your return number is RMA-2024-00123", "24")
    assert not contains_fact("I've opened ticket tkt-c59230ab3df7 for you", "5")
    assert contains_fact("15分钟内回复", "15")


def test_quoting_the_leading_statement_states_the_answer() -> None:
    # "Yes." alone says nothing; the sentence after it is the answer's lead.
    assert states(
        "According to our FAQ: The appeal is sent to the County Administrative Board within "
        "3 weeks of notification.",
        ANSWER,
    )
    assert not states("According to our FAQ: Yes.", ANSWER)


def test_a_reply_about_something_else_does_not_state_the_answer() -> None:
    assert not states("Building permits are handled by the City Planning Administration.", ANSWER)


def test_a_paraphrase_covering_most_of_the_answer_states_it() -> None:
    paraphrase = (
        "Yes: appeal to the County Administrative Board, within 3 weeks of the notification; "
        "after that the Land and Environment Court hears further instances."
    )
    assert states(paraphrase, ANSWER)


def _case(**fields: object) -> Case:
    base = {"id": "x-1", "dataset": "faq", "split": "heldout", "lang": "en", "question": "q?"}
    return Case(**{**base, "intent": "knowledge_qa", "doc": "Right.md", **fields})  # type: ignore[arg-type]


def test_the_rank_is_the_right_pages_place_among_distinct_cited_pages() -> None:
    body = {
        "reply": "According to our FAQ: within 3 weeks.",
        "data": {
            "intent": "knowledge_qa",
            "sources": ["Other.md", "Right.md"],
            "references": [{"doc_name": n} for n in ("Other.md", "Other.md", "Right.md")],
        },
    }
    item = score(_case(facts=("3 weeks",)), 200, body, 0.01)
    assert (item["routed"], item["rank"], item["fact"]) == (True, 2, True)
    assert figures([item])["hit@1"] == 0.0 and figures([item])["hit@3"] == 1.0


def test_an_error_response_counts_as_a_miss_on_every_figure() -> None:
    item = score(_case(facts=("3 weeks",)), 503, {"detail": "down"}, 0.01)
    result = figures([item])
    assert (result["routed"], result["hit@3"], result["fact"], result["errors"]) == (0, 0, 0, 1)
