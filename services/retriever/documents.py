"""Turns uploaded files (Markdown, text, HTML, PDF) into Markdown-like text the chunker reads."""

from __future__ import annotations

import io
import re
from html.parser import HTMLParser
from pathlib import PurePath

from shared.errors import InvalidInput

FORMATS = {
    ".md": "markdown",
    ".markdown": "markdown",
    ".txt": "text",
    ".text": "text",
    ".html": "html",
    ".htm": "html",
    ".pdf": "pdf",
}
MAX_DOCUMENT_BYTES = 20 * 1024 * 1024
_SPACES = re.compile(r"[ \t]+")


class UnsupportedDocument(InvalidInput):
    """The file's type cannot be ingested."""


def document_format(name: str) -> str:
    """The format implied by a file name; UnsupportedDocument for anything else."""
    suffix = PurePath(name).suffix.lower()
    if suffix not in FORMATS:
        supported = ", ".join(sorted(FORMATS))
        raise UnsupportedDocument(f"{name}: unsupported file type (supported: {supported})")
    return FORMATS[suffix]


def _decode(name: str, content: bytes) -> str:
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"{name}: not UTF-8 text") from exc


class _HtmlToMarkdown(HTMLParser):
    """Keeps headings, paragraphs, list items and table rows; drops scripts, styles, navigation."""

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
        super().__init__(convert_charrefs=True)
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

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
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

    def handle_endtag(self, tag: str) -> None:
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

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self._current.append(data)


def html_to_markdown(html: str) -> str:
    """Readable Markdown from an HTML help page."""
    parser = _HtmlToMarkdown()
    parser.feed(html)
    parser.close()
    parser._flush()
    return "\n".join(parser.lines)


def pdf_to_markdown(name: str, content: bytes) -> str:
    """One ``## Page N`` section per PDF page (PDFs carry no reliable headings)."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(content))
        pages = [page.extract_text() or "" for page in reader.pages]
    except (PdfReadError, ValueError, KeyError) as exc:
        raise InvalidInput(f"{name}: not a readable PDF ({exc})") from exc
    sections = []
    for number, text in enumerate(pages, start=1):
        text = _SPACES.sub(" ", text).strip()
        if text:
            sections.append(f"## Page {number}\n\n{text}")
    return "\n\n".join(sections)


def to_markdown(name: str, content: bytes) -> str:
    """The document's text with headings marked the Markdown way."""
    if len(content) > MAX_DOCUMENT_BYTES:
        raise InvalidInput(f"{name}: larger than {MAX_DOCUMENT_BYTES // (1024 * 1024)} MiB")
    kind = document_format(name)
    if kind == "pdf":
        text = pdf_to_markdown(name, content)
    elif kind == "html":
        text = html_to_markdown(_decode(name, content))
    else:
        text = _decode(name, content)
    if not text.strip():
        raise InvalidInput(f"{name}: no text found")
    return text
