"""Turns uploaded files (Markdown, text, HTML, PDF) into Markdown-like text the chunker reads."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass

from lxml import etree
from pypdf import PdfReader, apply_configuration
from pypdf.errors import LimitReachedError

from shared.documents import MIB, check_document
from shared.errors import InvalidInput

_SPACES = re.compile(r"[ \t]+")
# pypdf's per-stream output limits, one per decoder: each is held to the document's budget.
_PYPDF_OUTPUT_LIMITS = (
    "maximum_declared_stream_length",
    "array_based_stream_maximum_output_length",
    "jbig2_maximum_output_length",
    "lzw_maximum_output_length",
    "run_length_maximum_output_length",
    "zlib_maximum_output_length",
    "brotli_maximum_output_length",
)


@dataclass(frozen=True)
class PdfLimits:
    """How much of a PDF is read: pages, and page content once decompressed."""

    max_pages: int = 500
    max_decompressed_bytes: int = 64 * MIB


DEFAULT_PDF_LIMITS = PdfLimits()


def _decode(name: str, content: bytes) -> str:
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"{name}: not UTF-8 text") from exc


class _HtmlToMarkdown:
    """Keeps headings, paragraphs, list items and table rows; drops scripts, styles, navigation.

    A parser target for lxml (libxml2 reads in linear time at any nesting depth; the standard
    library's parser is quadratic on inputs such as a run of "<a ").
    """

    _SKIP = {"script", "style", "nav", "footer", "header", "noscript", "svg", "form"}
    _BLOCK = {
        "p",
        "div",
        "section",
        "article",
        "li",
        "br",
        "tr",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "blockquote",
        "pre",
        "dd",
        "dt",
    }

    def __init__(self) -> None:
        self.lines: list[str] = []
        self._current: list[str] = []
        self._prefix = ""
        self._skipping = 0
        self._cells: list[str] | None = None

    def _flush(self) -> None:
        text = " ".join("".join(self._current).split())
        if text:
            self.lines.append(self._prefix + text)
        self._current, self._prefix = [], ""

    def start(self, tag: str, attrib: object) -> None:
        if tag in self._SKIP:
            self._skipping += 1
        elif tag == "tr":
            self._flush()
            self._cells = []
        elif tag in ("td", "th") and self._cells is not None:
            self._current = []
        elif tag in self._BLOCK:
            self._flush()
            if tag[0] == "h" and tag[1:].isdigit():
                self._prefix = "#" * int(tag[1:]) + " "
            elif tag == "li":
                self._prefix = "- "

    def end(self, tag: str) -> None:
        if tag in self._SKIP:
            self._skipping = max(0, self._skipping - 1)
        elif tag in ("td", "th") and self._cells is not None:
            self._cells.append(" ".join("".join(self._current).split()))
            self._current = []
        elif tag == "tr" and self._cells is not None:
            self.lines.append("| " + " | ".join(self._cells) + " |")
            self._cells = None
        elif tag in self._BLOCK:
            self._flush()
            if tag[0] == "h":
                self.lines.append("")

    def data(self, data: str) -> None:
        if not self._skipping:
            self._current.append(data)

    def close(self) -> list[str]:
        self._flush()
        return self.lines


def html_to_markdown(html: str) -> str:
    """Readable Markdown from an HTML help page."""
    parser = etree.HTMLParser(target=_HtmlToMarkdown(), huge_tree=True, no_network=True)
    parser.feed(html)
    lines: list[str] = parser.close()
    return "\n".join(lines)


def _pdf_pages(name: str, reader: PdfReader, limits: PdfLimits) -> list[str]:
    if reader.is_encrypted and not reader.decrypt(""):
        raise InvalidInput(f"{name}: the PDF is password-protected; upload an unprotected copy")
    if len(reader.pages) > limits.max_pages:
        raise InvalidInput(
            f"{name}: the PDF has {len(reader.pages)} pages; at most {limits.max_pages} are read"
        )
    texts, inflated = [], 0
    for page in reader.pages:
        # Counted per page, so one stream shared by many pages is counted each time it is read.
        contents = page.get_contents()
        inflated += len(contents.get_data()) if contents is not None else 0
        if inflated > limits.max_decompressed_bytes:
            raise InvalidInput(
                f"{name}: the PDF's pages hold more than "
                f"{limits.max_decompressed_bytes // MIB} MiB of content once decompressed"
            )
        texts.append(page.extract_text() or "")
    return texts


def pdf_to_markdown(name: str, content: bytes, limits: PdfLimits = DEFAULT_PDF_LIMITS) -> str:
    """One ``## Page N`` section per PDF page (PDFs carry no reliable headings)."""
    budget = dict.fromkeys(_PYPDF_OUTPUT_LIMITS, limits.max_decompressed_bytes)
    try:
        with apply_configuration(None, **budget):
            pages = _pdf_pages(name, PdfReader(io.BytesIO(content)), limits)
    except InvalidInput:
        raise
    except LimitReachedError as exc:
        raise InvalidInput(f"{name}: the PDF is past a reading limit ({exc})") from exc
    except NotImplementedError as exc:
        raise InvalidInput(f"{name}: the PDF uses a feature we cannot read ({exc})") from exc
    except MemoryError as exc:
        raise InvalidInput(f"{name}: the PDF needs too much memory to read") from exc
    except Exception as exc:  # noqa: BLE001 - whatever a damaged file trips in pypdf is its fault
        raise InvalidInput(f"{name}: not a readable PDF ({exc or type(exc).__name__})") from exc
    sections = []
    for number, text in enumerate(pages, start=1):
        text = _SPACES.sub(" ", text).strip()
        if text:
            sections.append(f"## Page {number}\n\n{text}")
    return "\n\n".join(sections)


def to_markdown(name: str, content: bytes, pdf_limits: PdfLimits = DEFAULT_PDF_LIMITS) -> str:
    """The document's text with headings marked the Markdown way."""
    kind = check_document(name, content)
    if kind == "pdf":
        text = pdf_to_markdown(name, content, pdf_limits)
    elif kind == "html":
        text = html_to_markdown(_decode(name, content))
    else:
        text = _decode(name, content)
    if not text.strip():
        raise InvalidInput(f"{name}: no text found")
    return text
