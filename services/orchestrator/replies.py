"""Fixed phrasing for fast paths, fallbacks and hand-offs."""

from __future__ import annotations

import re

from shared.events import EscalationCard

HANDOFF = (
    "I'm connecting you with a human agent now. They'll see our conversation so far, "
    "so you won't need to repeat yourself."
)
HANDOFF_AFTER_FAILURES = (
    " I haven't been able to answer this, so I'm passing you to a human agent who can help."
)
EMPATHY = "I'm sorry about the trouble, and I understand how frustrating this is."
NO_CONTENT = (
    "Sorry, I couldn't find relevant content in our help centre for that. "
    "Could you rephrase it, or add a detail such as the product or order?"
)
LLM_FALLBACK = (
    "I'm having trouble composing a full answer right now. Here is what our help centre says:"
)
TICKET_CREATED = "I've opened ticket {ticket_id} for you. Our team will follow up by email."
ASK_ORDER_NUMBER = (
    "I can check that for you. What is your order number? It looks like ORD-2024-001."
)
ORDER_NOT_FOUND = "I couldn't find an order {order_id}. Could you check the number?"
ORDERS_DOWN = (
    "I can't reach our order system right now, so I'm passing you to a human agent who can "
    "check your order for you."
)

_GREETING = re.compile(r"\b(hi|hello|hey|good (morning|afternoon|evening))\b|你好|您好|在吗", re.I)
_THANKS = re.compile(r"\b(thanks?|thx|great|cool|ok(ay)?)\b|谢谢", re.I)
_BYE = re.compile(r"\b(bye|goodbye|see you)\b|再见", re.I)
_WHO = re.compile(r"\b(who are you|your name|bot|robot|human)\b|你是谁", re.I)


def chitchat(message: str) -> str:
    """A short, friendly answer to small talk."""
    if _BYE.search(message):
        return "Goodbye, and thanks for contacting Northwind Goods!"
    if _THANKS.search(message):
        return "You're welcome! Is there anything else I can help you with?"
    if _WHO.search(message):
        return (
            "I'm the Northwind Goods virtual assistant. I can answer questions about shipping, "
            "returns, payments, your account and orders, or connect you with a human agent."
        )
    if _GREETING.search(message):
        return "Hello! How can I help you today?"
    return "I'm here to help. What can I do for you?"


def agents_away(card: EscalationCard) -> str:
    """Tells the customer when a human will reply, for a hand-off outside support hours."""
    back = card.agents_back_at
    when = back.strftime("%A %H:%M %Z") if back else "the next working day"
    return (
        f" Our agents are away right now and back on {when}. I've opened ticket "
        f"{card.ticket_id}, so an agent will pick this up then and reply to you."
    )
