"""Small PDFs for the parser's tests: plain text pages, and ones built to hurt a parser (many
pages, bombs, unknown filters, slow content)."""

from __future__ import annotations

import io
import zlib

from pypdf import PdfWriter
from pypdf.generic import (
    DecodedStreamObject,
    DictionaryObject,
    EncodedStreamObject,
    IndirectObject,
    NameObject,
)


def _font(writer: PdfWriter) -> DictionaryObject:
    helvetica = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Font"),
            NameObject("/Subtype"): NameObject("/Type1"),
            NameObject("/BaseFont"): NameObject("/Helvetica"),
        }
    )
    return DictionaryObject(
        {NameObject("/Font"): DictionaryObject({NameObject("/F1"): writer._add_object(helvetica)})}
    )


def _pdf(contents: list[IndirectObject], writer: PdfWriter) -> bytes:
    resources = _font(writer)
    for content in contents:
        page = writer.add_blank_page(612, 792)
        page[NameObject("/Resources")] = resources
        page[NameObject("/Contents")] = content
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _plain(writer: PdfWriter, data: bytes) -> IndirectObject:
    stream = DecodedStreamObject()
    stream.set_data(data)
    return writer._add_object(stream)


def _encoded(writer: PdfWriter, data: bytes, filter_name: str) -> IndirectObject:
    stream = EncodedStreamObject()
    stream._data = data
    stream[NameObject("/Filter")] = NameObject(filter_name)
    return writer._add_object(stream)


def text_pdf(*pages: str) -> bytes:
    """A well-formed PDF with one line of text per page."""
    writer = PdfWriter()
    return _pdf(
        [_plain(writer, f"BT /F1 12 Tf 72 720 Td ({p}) Tj ET".encode()) for p in pages], writer
    )


def text_lines_pdf(lines: list[str]) -> bytes:
    """A well-formed one-page PDF with one text line per entry (10 pt, 12 pt leading)."""
    writer = PdfWriter()
    shown = " ".join(f"({line}) Tj T*" for line in lines)
    return _pdf([_plain(writer, f"BT /F1 10 Tf 12 TL 50 770 Td {shown} ET".encode())], writer)


def many_pages(count: int) -> bytes:
    """``count`` pages sharing one tiny content stream."""
    writer = PdfWriter()
    content = _plain(writer, b"BT /F1 12 Tf 72 720 Td (Page) Tj ET")
    return _pdf([content] * count, writer)


def inflating(megabytes: int, pages: int = 1) -> bytes:
    """``pages`` pages sharing a Flate stream of spaces that inflates to ``megabytes`` MiB.

    About 1 KB on disk per inflated MiB; reading the spaces is quick, inflating them is not.
    """
    packer = zlib.compressobj(9)
    chunk = b" " * (1024 * 1024)
    data = b"".join(packer.compress(chunk) for _ in range(megabytes)) + packer.flush()
    writer = PdfWriter()
    return _pdf([_encoded(writer, data, "/FlateDecode")] * pages, writer)


def unknown_filter() -> bytes:
    """One page whose content stream names a filter no reader implements."""
    writer = PdfWriter()
    return _pdf([_encoded(writer, b"\x00\x01\x02", "/NoSuchDecode")], writer)


def slow_content(pages: int = 2, operators: int = 600_000) -> bytes:
    """About 5 KB: ``pages`` pages share one compressed stream of ``operators`` text operators.

    Each page's text extraction walks every operator in pure Python (seconds per page), and
    stays under pypdf's own per-stream token limit.
    """
    ops = b"BT /F1 12 Tf 72 720 Td " + b"(a) Tj " * operators + b"ET"
    writer = PdfWriter()
    content = _encoded(writer, zlib.compress(ops, 9), "/FlateDecode")
    return _pdf([content] * pages, writer)


def encrypted(text: str = "Secret terms") -> bytes:
    """A text PDF that needs a password to open."""
    writer = PdfWriter()
    blob = _pdf([_plain(writer, f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode())], writer)
    locked = PdfWriter(clone_from=io.BytesIO(blob))
    locked.encrypt(user_password="open-sesame", algorithm="AES-128")
    out = io.BytesIO()
    locked.write(out)
    return out.getvalue()
