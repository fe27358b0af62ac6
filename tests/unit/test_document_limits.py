"""Hostile uploads cost bounded work and get a clear refusal: caps on PDF pages, decompressed
content and parse time, parsing in a child process that leaves the event loop free."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest

from services.retriever.documents import PdfLimits, html_to_markdown, to_markdown
from services.retriever.isolated_parsing import IsolatedParser, ParseLimits, parse_document
from shared.documents import MIB
from shared.errors import InvalidInput
from tests.support import hostile_pdfs

SMALL = PdfLimits(max_pages=10, max_decompressed_bytes=8 * MIB)


@pytest.mark.parametrize(
    ("build", "says"),
    [
        (lambda: hostile_pdfs.many_pages(30), "has 30 pages; at most 10 are read"),
        # One stream inflating past the cap is stopped by the decoder itself.
        (lambda: hostile_pdfs.inflating(40), "past a reading limit"),
        # Pages sharing one stream under the cap add up past it.
        (lambda: hostile_pdfs.inflating(3, pages=4), "more than 8 MiB of content"),
        (hostile_pdfs.unknown_filter, "uses a feature we cannot read"),
        (hostile_pdfs.encrypted, "password-protected"),
        (lambda: b"%PDF-1.7\n" + b"\x00" * 500, "not a readable PDF"),
    ],
)
def test_unreadable_or_oversized_pdfs_are_refused_clearly(
    build: Callable[[], bytes], says: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        to_markdown("manual.pdf", build(), SMALL)
    assert refused.value.message.startswith("manual.pdf: ")
    assert says in refused.value.message


def test_a_pdf_within_the_caps_is_read_page_by_page() -> None:
    text = to_markdown("ok.pdf", hostile_pdfs.text_pdf(*["Returns are free."] * 10), SMALL)
    assert text.count("## Page") == 10 and "Returns are free." in text


def test_html_of_any_shape_is_read_in_linear_time() -> None:
    deep = "<div>" * 50_000 + "<p>Gift wrapping costs $4.</p>"
    assert "Gift wrapping costs $4." in html_to_markdown(deep)
    # A run of unclosed tags is quadratic for the standard library's parser.
    assert html_to_markdown("<a " * 50_000 + "<h1>Hours</h1>").endswith("Hours")


@pytest.fixture(scope="module")
def parser() -> IsolatedParser:
    return IsolatedParser(ParseLimits(timeout_seconds=1.0, pdf=SMALL))


def test_the_child_parses_what_this_process_would(parser: IsolatedParser) -> None:
    page = b"# Gift wrapping\n\nGift wrapping costs $4.\n\n## Cards\n\nCards are free."
    assert parser("gifts.md", page) == parse_document("gifts.md", page)


def test_the_child_refuses_what_this_process_would(parser: IsolatedParser) -> None:
    with pytest.raises(InvalidInput, match="uses a feature we cannot read"):
        parser("odd.pdf", hostile_pdfs.unknown_filter())


def test_a_slow_pdf_is_stopped_at_the_deadline_without_stalling_the_loop(
    parser: IsolatedParser,
) -> None:
    async def upload_while_ticking() -> tuple[str, float]:
        loop = asyncio.get_running_loop()
        parsing = asyncio.ensure_future(
            asyncio.to_thread(parser, "slow.pdf", hostile_pdfs.slow_content())
        )
        worst_lag = 0.0
        while not parsing.done():
            before = loop.time()
            await asyncio.sleep(0.01)
            worst_lag = max(worst_lag, loop.time() - before - 0.01)
        with pytest.raises(InvalidInput) as refused:
            await parsing
        return refused.value.message, worst_lag

    started = time.monotonic()
    message, worst_lag = asyncio.run(upload_while_ticking())
    assert "slow.pdf: took longer than 1 s to read" in message
    assert time.monotonic() - started < 15  # it parses for ~25 s if nobody stops it
    assert worst_lag < 0.5  # the loop kept running while the file was parsed
