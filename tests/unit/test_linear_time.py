"""No customer or document text makes text handling super-linear.

``TEXT_FUNCTIONS`` lists every function that applies a regular expression (or a text
library) to customer messages or knowledge-base text. Adding a regex? Add the function
that applies it here: each one is driven with 100,000-character hostile inputs, and its time
may grow at most 30-fold when the input grows 10-fold (linear work grows 10-fold, quadratic
100-fold: a ratio holds on a slow or busy machine, where a fixed time would not). Nothing may
stall for ten seconds, and hypothesis searches for slower inputs.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings, target
from hypothesis import strategies as st
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from services.orchestrator.coalescer import TokenCoalescer
from services.orchestrator.crosslingual import english_search_terms
from services.orchestrator.emotion import _VADER, distressed, emotion_score, warm_up
from services.orchestrator.evidence import read
from services.orchestrator.extractive import extractive_answer
from services.orchestrator.figures import figures
from services.orchestrator.generation import stream_text
from services.orchestrator.grounded_stream import SentenceSplitter
from services.orchestrator.grounding import Checker, Evidence, stated_figures
from services.orchestrator.intents import IntentRecogniser
from services.orchestrator.privacy import mask_personal_data
from services.orchestrator.questions import Question
from services.orchestrator.replies import CHINESE, ENGLISH
from services.orchestrator.subtasks import split_message
from services.orchestrator.units import passage_units
from services.retriever.chunking import TokenBudget, chunk_markdown, clean_markdown, fit_chunks
from services.retriever.documents import html_to_markdown, pdf_to_markdown
from services.retriever.hybrid_search import normalised_query
from services.retriever.ingestion import validate_names
from services.retriever.sqlite_index import index_tokens
from shared import segmentation
from shared.analytics import gap_key
from shared.assistant_model import placeholders, render
from shared.errors import InvalidInput
from shared.events import Passage
from shared.stores.hot_cache import normalise_question
from shared.text import mostly_chinese, search_terms, sentences, snippet, tokenize
from tests.support.hostile_pdfs import text_pdf

SIZE = 100_000
STALL_SECONDS = 10.0
MEASURABLE_SECONDS = 0.05  # below this the growth is noise: such a call is fast anyway
MAX_GROWTH = 30.0
_recogniser = IntentRecogniser()
warm_up()  # jieba loads its dictionary on first use: not part of any one call's time
segmentation.warm_up()  # the retriever's own jieba dictionary, likewise
# The chunk fitter's own work, apart from any one model's tokenizer: a "token" per word.
_WORD_BUDGET = TokenBudget(lambda text: len(text.split()) + 1, 64)


def _passage(text: str) -> Passage:
    return Passage(doc_name="Doc.md", title=text[:200], text=text, score=1.0)


def _streamed(text: str) -> str:
    async def emit(_: str) -> None:
        return None

    return asyncio.run(stream_text(text, TokenCoalescer(emit, window_seconds=0)))


def _pdf(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
    return pdf_to_markdown("t.pdf", text_pdf(escaped.encode("latin-1", "replace").decode()))


def _names(text: str) -> None:
    try:
        validate_names(text[:100], text)
    except InvalidInput:
        pass


# Every function that applies a regex (or a text library) to customer or document text.
TEXT_FUNCTIONS: dict[str, Callable[[str], object]] = {
    # The orchestrator, on customer messages.
    "subtasks.split_message": split_message,
    # Cue rules, the order id, then the model's n-grams (intent_model.features).
    "intents.classify": lambda text: _recogniser.classify(text, 0.75, "business_query"),
    "emotion.emotion_score": emotion_score,
    "emotion.distressed": distressed,
    # What the message itself shows: explicit requests, the customer's own order, anger.
    "evidence.read": lambda text: read(text, 0.75),
    "replies.chitchat": ENGLISH.chitchat,
    "replies.chitchat (Chinese)": CHINESE.chitchat,
    "extractive.extractive_answer (question)": lambda text: extractive_answer(
        text, [_passage("Returns are free within 30 days. Refunds take 5-7 business days.")]
    ),
    # The passage's words meet the question's, so its figure patterns run on the sentence.
    "extractive.extractive_answer (passages)": lambda text: extractive_answer(
        "How long do refunds take, and how much does it cost?",
        [_passage("Refunds take " + text), _passage("The cost is " + text)],
    ),
    # The grounding guard, on a generated answer and on passages.
    "figures.figures": figures,
    "grounding.Checker.check (answer)": lambda text: Checker(
        Evidence.of([_passage("Standard shipping takes 3-5 business days and costs $5.99.")])
    ).check(text),
    "grounding.Evidence.of (passages)": lambda text: Evidence.of([_passage(text)], text),
    "grounding.stated_figures": stated_figures,
    "grounded_stream.SentenceSplitter": lambda text: SentenceSplitter().feed(text),
    "questions.Question.read": Question.read,
    "units.passage_units": lambda text: passage_units(text, text[:200]),
    "privacy.mask_personal_data": mask_personal_data,
    "generation.stream_text": _streamed,
    "hot_cache.normalise_question": normalise_question,
    "analytics.gap_key": gap_key,
    "assistants.placeholders": placeholders,
    "assistants.render": lambda text: render(text, {"name": text}),
    # Shared tokenising, for search and answers.
    "text.tokenize": tokenize,
    "text.sentences": sentences,
    "text.snippet": lambda text: snippet(text, text[:4_000]),
    # The retriever, on documents and queries.
    "documents.html_to_markdown": html_to_markdown,
    "documents.pdf_to_markdown": _pdf,
    "chunking.chunk_markdown": lambda text: chunk_markdown("Doc.md", text),
    "chunking.fit_chunks": lambda text: fit_chunks(chunk_markdown("Doc.md", text), _WORD_BUDGET),
    "chunking.clean_markdown": clean_markdown,
    "text.search_terms": search_terms,
    "hybrid_search.normalised_query": normalised_query,
    "crosslingual.english_search_terms": lambda text: english_search_terms(text, 64),
    "text.mostly_chinese": mostly_chinese,
    "sqlite_index.index_tokens": lambda text: index_tokens(text[:200], text),
    "ingestion.validate_names": _names,
}


def _run(unit: str, size: int) -> str:
    return (unit * (size // len(unit) + 1))[:size]


# Runs of one unit are what make backtracking patterns blow up.
HOSTILE = {
    "spaces": " ",
    "tabs and newlines": "\t\n",
    "newlines": "\n",
    "blank lines": "\n\n",
    "question marks": "?",
    "full-width punctuation": "？！。；，",
    "dots": ".",
    "commas and spaces": ", ",
    "digits": "1",
    "digits and spaces": "1 ",
    "phone-like": "(1-",
    "digits and dashes": "1-",
    "order-like": "ORD-2024-",
    "money-like": "$1.",
    "letters": "a",
    "letters and dots": "a.",
    "e-mail-like": "a@a.",
    "underscores": "_",
    "CJK": "中",
    "Chinese address-like": "北京路",
    "CJK and digits": "路1号",
    "mixed": "a 中 1 ? ",
    "emoji": "😀",
    "words": "bad x ",
    "connectives": " and also ",
    "questions": "and how ",
    "heading markers": "#",
    "heading of spaces": "# ",
    "headings": "### a\n",
    "table pipes": "| ",
    "table rule": "|-",
    "emphasis": "**`__",
    "html-ish": "<a ",
    "html comments": "<!--",
    "html entities": "&#",
    "braces": "{a",
}


def _distinct_words(size: int) -> str:
    """Distinct words of 8 letters ("aaaaaaab aaaaaaac ..."), each a possible typo to mend."""
    letters = "abcdefghijklmnopqrstuvwxyz"
    words = []
    for number in range(size // 9):
        word = ""
        for _ in range(8):
            number, digit = divmod(number, 26)
            word = letters[digit] + word
        words.append(word)
    return " ".join(words)


def _hostile_inputs(size: int) -> dict[str, str]:
    """Every hostile case at about ``size`` characters."""
    inputs = {name: _run(unit, size) for name, unit in HOSTILE.items()}
    # The reported cases and their kin: a huge gap between words, headings and table rows of
    # spaces, a run of digits or question marks that ends in a letter.
    return inputs | {
        "word, spaces, word": "a" + " " * size + "b",
        "heading, spaces, text": "#" + " " * size + "x",
        "heading of only spaces": "#" + " " * size,
        "table row of spaces": " " * (size // 2) + "|" + " " * (size // 2) + "x",
        "digits then a letter": "1" * size + "x",
        "question marks then a letter": "?" * size + "x",
        "distinct long words": _distinct_words(size),
    }


HOSTILE_INPUTS = _hostile_inputs(SIZE)
SMALLER_INPUTS = _hostile_inputs(SIZE // 10)


def _seconds(function: Callable[[str], object], text: str) -> float:
    # With the collector on, a call's time includes sweeps of the whole test process's heap,
    # which come more often the more the call allocates: in a full run that alone made a
    # linear function measure 41x for 10x the text.
    gc.disable()
    try:
        start = time.process_time()
        function(text)
        return time.process_time() - start
    finally:
        gc.enable()


def _growth(function: Callable[[str], object], text: str, smaller: str, elapsed: float) -> float:
    """Time on ``text`` over time on ``smaller``; past the bound, the fastest of three tries of
    each decides (a busy machine only ever slows a try down)."""
    growth = elapsed / max(_seconds(function, smaller), 1e-4)
    if growth <= MAX_GROWTH:
        return growth
    big = min([elapsed] + [_seconds(function, text) for _ in range(2)])
    small = min(_seconds(function, smaller) for _ in range(3))
    return big / max(small, 1e-4)


@pytest.mark.parametrize("name", list(TEXT_FUNCTIONS))
def test_hostile_inputs_take_linear_time(name: str) -> None:
    function = TEXT_FUNCTIONS[name]
    slow = {}
    for case, text in HOSTILE_INPUTS.items():
        elapsed = _seconds(function, text)
        if elapsed > STALL_SECONDS:
            slow[case] = f"{elapsed:.1f} s"
        elif elapsed > MEASURABLE_SECONDS:
            growth = _growth(function, text, SMALLER_INPUTS[case], elapsed)
            if growth > MAX_GROWTH:
                slow[case] = f"{growth:.0f}x the time for 10x the text"
    assert not slow, f"{name} is super-linear on: {slow}"


_ALPHABET = " \t\n?!.,;:-_()+@#|*`<>&{}$1a中路号。？！😀"
_UNITS = st.text(alphabet=_ALPHABET, min_size=1, max_size=6)
_HOSTILE_TEXT = st.one_of(
    st.builds(lambda unit, n: unit * n, _UNITS, st.integers(2_000, 20_000)),
    st.builds(lambda a, b, n: a * n + b * n, _UNITS, _UNITS, st.integers(1_000, 10_000)),
)


@settings(max_examples=60, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(name=st.sampled_from(list(TEXT_FUNCTIONS)), text=_HOSTILE_TEXT)
def test_no_generated_input_is_slow(name: str, text: str) -> None:
    elapsed = _seconds(TEXT_FUNCTIONS[name], text)
    target(elapsed, label=name)  # steers the search towards slower inputs
    assert elapsed < STALL_SECONDS, f"{name} took {elapsed:.2f} s on {text[:40]!r}..."


_STOCK_VADER = SentimentIntensityAnalyzer()
_VADER_WORDS = st.sampled_from(
    sorted(_STOCK_VADER.lexicon)[::40]
    + "no never so this but kind of sort least at very without doubt not isn't x BAD !".split()
)


@settings(max_examples=200, deadline=None, database=None)
@given(words=st.lists(_VADER_WORDS, max_size=30))
def test_linear_vader_scores_as_vader_does(words: list[str]) -> None:
    text = " ".join(words)
    assert _VADER.polarity_scores(text) == _STOCK_VADER.polarity_scores(text)
