"""The routing rules as pure functions: the evidence a message shows, the local decision from
evidence and calibrated probabilities, and how an abstention is settled."""

from __future__ import annotations

import time

import pytest

from services.orchestrator.emotion import emotion_score
from services.orchestrator.evidence import NEGATIVE_BELOW, read
from services.orchestrator.intents import INTENTS, IntentGuess, judge, settle

CALM = 0.75


def probabilities(**given: float) -> dict[str, float]:
    """A model's calibrated reading: the given intents, the rest sharing what is left."""
    rest = (1.0 - sum(given.values())) / (len(INTENTS) - len(given))
    return {i: given.get(i, rest) for i in INTENTS}


@pytest.mark.parametrize(
    "message",
    [
        "I want to talk to a human agent",
        "can I speak to a real person",
        "this bot is useless, get me a person",
        "is anyone human there? put me through",
        "AGENT AGENT AGENT",
        "real person? 🙏",
        "转人工",
        "我要找真人客服",
        "人工人工",
    ],
)
def test_an_explicit_request_for_a_person(message: str) -> None:
    assert read(message, CALM).asks_for_person


@pytest.mark.parametrize(
    "message",
    [
        "when can I reach a live agent",
        "人工客服几点上班",
        "are live agents available on weekends?",
        "what time do your agents start work",
        "怎么联系人工客服",
        "What requirements apply to personal protective equipment (PPE)?",
        "可以在社交媒体上发订单号找客服吗",
        "周末有人工客服吗",
    ],
)
def test_a_question_about_agents_is_no_request(message: str) -> None:
    evidence = read(message, CALM)
    assert not evidence.asks_for_person and not evidence.allows("transfer_to_human")


@pytest.mark.parametrize(
    "message",
    [
        "I want to file a complaint",
        "open a ticket",
        "box came crushed, need a case opened",
        "how do I file a complaint? actually just file one for me",
        "lodging a formal complaint about the delivery",
        "can someone phone me tomorrow about my order",
        "我要投诉",
        "能给我建个工单不",
        "can I raise a complaint about a late refund",
        "if this isn't fixed by friday I want to file a complaint",
    ],
)
def test_an_explicit_request_for_a_ticket(message: str) -> None:
    assert read(message, CALM).asks_for_ticket


@pytest.mark.parametrize(
    "message",
    [
        "how do I file a complaint?",
        "what is the complaint process",
        "投诉流程是什么",
        "Why is F-skatt important for ROT?",
        "Must I report incidents?",
        "What does a credit report say about a construction firm?",
        "can I open a ticket if the chat is closed",
        "can I make a complaint in Chinese",
        "could you explain how to file a complaint",
        "I need to know where to send a complaint",
        "if I make a complaint how long until I hear back",
    ],
)
def test_a_question_about_complaints_is_no_request(message: str) -> None:
    evidence = read(message, CALM)
    assert not evidence.asks_for_ticket and not evidence.allows("ticket")


def test_a_calm_score_with_no_cue_is_no_negative_emotion() -> None:
    # The seed's example: the model guessed emotion_sensitive, though nothing in it is upset.
    evidence = read("Tell me about your return and exchange policy", CALM)
    guess = judge(evidence, probabilities(emotion_sensitive=0.37, knowledge_qa=0.3), (0, 3), False)
    assert not evidence.upset and guess.intent == "knowledge_qa"


def test_a_grim_topic_asked_calmly_is_no_anger() -> None:
    # VADER scores "penalty" or "damage" low; a question about them is not a complaint.
    for message in ("What is a delay penalty?", "Moisture damage in the crawl space - a defect?"):
        evidence = read(message, 0.25)
        assert not evidence.upset and not evidence.furious


def test_a_calm_chinese_question_on_a_missing_parcel_is_no_distress() -> None:
    message = "显示已签收但没收到，超过14天还能报吗"  # jieba reads 没收 (confiscate) and 超过
    assert emotion_score(message) >= NEGATIVE_BELOW
    assert not read(message, 0.25).upset  # it asks, with no cue: a low score alone is not enough


def test_anger_is_evidence_whatever_the_score() -> None:
    assert read("fed up!!! where is my refund", CALM).furious
    assert read("i feel ignored and disrespected", 0.26).furious
    assert read("hopeless company", 0.41).upset


@pytest.mark.parametrize(
    ("message", "own"),
    [
        ("When will my order ship?", True),
        ("where is my package", True),
        ("has my refund been processed", True),
        ("ordered 2 things got 1, where's the other one", True),
        ("我的快递到哪了", True),
        ("订单一直显示待发货 什么情况", True),
        ("how long can I still edit my order after placing it", False),
        ("Can I change the delivery address on my order?", False),
        ("how long before a refund hits my visa", False),
        ("What payment methods do you accept?", False),
        ("how far back does my order history go", False),
        ("西藏能发货吗", False),
        ("my card expired, where does the refund go", False),
        ("where does my refund go", True),
        ("does my order come with an invoice", False),
        ("where do I find my order number", False),
        ("is my order insured during shipping", False),
        ("when does my order ship, i ordered on friday", True),
        ("hows my order doing", True),
        ("I ordered 20 minutes ago, can I still cancel it?", False),
        ("my order hasn't shipped, can you check it", True),
        ("where is the refund", True),
        ("my return label is 10 days old, does it still work?", False),
        ("my order is over $49, is express free too?", False),
        ("refund for the toaster i sent back - has it been processed?", True),
        ("my order hasn't come, is it lost?", True),
    ],
)
def test_an_order_query_needs_the_customers_own_order(message: str, own: bool) -> None:
    assert read(message, CALM).own_order is own


def test_the_model_may_choose_only_what_the_evidence_allows() -> None:
    # "What is an easement?" once went to transfer_to_human on the model's word alone.
    evidence = read("What is an easement?", CALM)
    guess = judge(evidence, probabilities(transfer_to_human=0.6, knowledge_qa=0.3), (0, 1), False)
    assert guess.intent == "knowledge_qa" and "transfer_to_human" not in guess.candidates


def test_the_model_abstains_when_unsure_or_on_unfamiliar_words() -> None:
    evidence = read("the heating system runs cheaply", CALM)  # knowledge_qa or chitchat
    unsure = judge(evidence, probabilities(chitchat=0.3, knowledge_qa=0.3), (0, 4), False)
    unfamiliar = judge(evidence, probabilities(chitchat=0.9), (3, 4), False)
    assert not unsure.sure and not unfamiliar.sure
    assert unsure.intent == unfamiliar.intent == "knowledge_qa"  # look it up
    assert unfamiliar.lean == "chitchat"
    sure = judge(evidence, probabilities(chitchat=0.9), (1, 4), False)
    assert (sure.intent, sure.sure, sure.source) == ("chitchat", True, "model")


def test_small_talk_is_no_question_on_a_topic() -> None:
    assert not read("Which heating system is cheapest to run?", CALM).allows("chitchat")
    for message in ("Hello!", "how are you doing?", "whats ur name lol", "is this chatgpt?"):
        assert read(message, CALM).allows("chitchat")


def test_you_is_the_shop_when_it_opens_ships_or_replies() -> None:
    for message in (
        "are you open over chinese new year",
        "how fast do you guys answer emails",
        "do you call customers back?",
    ):
        assert not read(message, CALM).allows("chitchat")
    assert read("what do you think of the weather?", CALM).allows("chitchat")


def test_rules_decide_before_the_model() -> None:
    model = probabilities(knowledge_qa=0.9)
    assert judge(read("转人工", CALM), model, (0, 1), False).intent == "transfer_to_human"
    assert judge(read("我要投诉", CALM), model, (0, 1), False).intent == "ticket"
    order = judge(read("is ORD-2024-001 still in the return window?", CALM), model, (0, 3), False)
    assert (order.intent, order.source) == ("business_query", "rule")
    follow = judge(read("where is it now?", CALM), model, (0, 0), True)
    assert follow.intent == "business_query"


ABSTAINED = IntentGuess(
    "knowledge_qa", 0.4, "model", False, "chitchat", ("knowledge_qa", "chitchat")
)


def test_a_strong_match_decides_for_the_help_centre() -> None:
    settled = settle(ABSTAINED, strong_match=True, found=True, llm="chitchat")
    assert (settled.intent, settled.source) == ("knowledge_qa", "knowledge")


def test_the_llm_settles_an_abstention_within_what_the_evidence_allows() -> None:
    assert settle(ABSTAINED, False, True, "chitchat").intent == "chitchat"
    assert settle(ABSTAINED, False, True, "ticket").intent == "knowledge_qa"  # not a candidate


def test_with_nothing_found_the_lean_is_kept_but_never_a_hand_off() -> None:
    assert settle(ABSTAINED, False, False, None).intent == "chitchat"
    assert settle(ABSTAINED, False, True, None).intent == "knowledge_qa"
    leaning_to_a_person = IntentGuess("knowledge_qa", 0.4, "model", False, "transfer_to_human")
    assert settle(leaning_to_a_person, False, False, None).intent == "knowledge_qa"


def test_small_talk_that_strongly_matches_a_page_is_answered_from_it() -> None:
    small_talk = IntentGuess("chitchat", 0.9, "model")
    settled = settle(small_talk, strong_match=True, found=True, llm=None)
    assert (settled.intent, settled.source) == ("knowledge_qa", "knowledge")
    assert settle(small_talk, strong_match=False, found=True, llm=None) == small_talk


def test_a_sure_guess_is_not_second_guessed() -> None:
    sure = IntentGuess("business_query", 0.9, "model")
    assert settle(sure, strong_match=True, found=True, llm="knowledge_qa") == sure


@pytest.mark.parametrize(
    "message",
    [
        "a" * 100_000,
        "I want " * 20_000,
        "open " * 20_000 + "ticket",
        "my " * 30_000 + "order",
        ", ".join(["how do I"] * 15_000),
        "订单" * 30_000 + "到哪",
        "转" * 50_000,
        "what " * 20_000 + "?" * 1000,
        "how do I pay, get me a person, " * 3_000,
        "我要人工吗？怎么转人工，" * 5_000,
    ],
)
def test_reading_evidence_stays_linear_on_huge_input(message: str) -> None:
    started = time.monotonic()
    read(message, CALM)
    assert time.monotonic() - started < 10  # a stall, not a speed test: normal is ~0.1 s
