"""A passage as the pieces an answer quotes: sentences, list items (with their lead) and table rows.

The retriever's chunker keeps list items as "- ..." lines and turns Markdown table rows into
"Header: value; Header: value." lines (services/retriever/chunking.py); this reads them back.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from shared.text import sentences

# A chunk is at most about 900 characters (services/retriever/chunking.py); a longer passage
# is read this far by the answerer and the guard, so their work stays bounded.
PASSAGE_CHARS = 4_000
_ITEM = re.compile(r"[-*•]\s|\d{1,2}[.)]\s")
Kind = Literal["sentence", "item", "row"]


@dataclass(frozen=True)
class Unit:
    """One quotable piece of a passage."""

    text: str
    kind: Kind
    block: int  # its paragraph, list or table, numbered within the passage
    position: int  # its order within the passage
    lead: str = ""  # an item's list introduction (or the section's title when there is none)


def is_table_row(line: str) -> bool:
    """True for a row written by the chunker: "Header: value; Header: value."."""
    cells = line.split("; ")
    return len(cells) >= 2 and all(": " in cell for cell in cells)


def passage_units(text: str, title: str) -> list[Unit]:
    """The units of one passage, in order; ``title`` is its heading path."""
    units: list[Unit] = []
    block, kind_of_block, lead = -1, "", ""
    section = title.split(" > ")[-1]
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped:
            kind_of_block = ""  # a blank line ends a paragraph, list or table
            continue
        item = _ITEM.match(stripped)
        kind: Kind = "item" if item else "row" if is_table_row(stripped) else "sentence"
        if kind != kind_of_block or kind == "sentence" and kind_of_block != "sentence":
            block += 1
            if kind == "item":
                previous = units[-1].text if units and units[-1].block == block - 1 else ""
                lead = previous if previous.endswith((":", "：")) else section
            kind_of_block = kind
        if kind == "item":
            body = stripped[item.end() :].strip() if item else stripped
            units.append(Unit(body, "item", block, len(units), lead))
        elif kind == "row":
            units.append(Unit(stripped, "row", block, len(units)))
        else:
            units.extend(
                Unit(s, "sentence", block, len(units) + i)
                for i, s in enumerate(sentences(stripped))
            )
    return units
