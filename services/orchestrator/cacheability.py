"""Which answers the hot cache may keep: only those that belong to everyone who asks.

The gateway serves a cached answer to any customer who asks the same question of the same
assistant, before it knows anything else about them. So an answer is cached only when it was
composed from the question, the assistant and the knowledge base alone: never from the
session's history (an agent's words reach an answer only through it), an order, or a question
that carries personal data. An answer the grounding guard flagged is never kept either: it was
sent with claims its passages do not support, and must not be served again.
"""

from __future__ import annotations

import re

from services.orchestrator.intents import ORDER_ID
from services.orchestrator.privacy import mask_personal_data

# Card endings, postcodes, account and phone numbers: four digits in a row may be someone's.
_DIGIT_RUN = re.compile(r"\d{4}")


def has_personal_data(text: str) -> bool:
    """True when ``text`` holds an e-mail, phone number, address, order number or digit run."""
    return bool(
        ORDER_ID.search(text) or _DIGIT_RUN.search(text) or mask_personal_data(text) != text
    )


def cacheable(
    *,
    question: str,
    intent: str,
    outcome: str,
    parts: int,
    escalated: bool,
    used_history: bool,
    used_order: bool,
    grounding: str | None = None,
) -> bool:
    """True when the answer to ``question`` may be served to every customer who asks it."""
    answered_from_knowledge = parts == 1 and intent == "knowledge_qa" and outcome == "resolved"
    personal = used_history or used_order or has_personal_data(question)
    return answered_from_knowledge and not escalated and not personal and grounding != "flagged"
