"""First-stage intent recognition: ordered English and Chinese cue patterns, no LLM."""

from __future__ import annotations

import re

from shared.events.chat import Intent

ORDER_ID = re.compile(r"\bORD-\d{4}-\d{3,}\b", re.IGNORECASE)

_HUMAN = re.compile(
    r"\b(human|real person|live (agent|person|chat)|(customer service |support )?"
    r"(agent|representative|rep|operator)|speak to (someone|somebody|a person)|"
    r"talk to (someone|somebody|a person))\b|人工|真人|转客服|客服人员",
    re.IGNORECASE,
)
_TICKET = re.compile(
    r"\b(open|raise|file|submit|create|log)\b.{0,20}\b(ticket|complaint|case)\b|"
    r"\bticket\b|\bformal complaint\b|工单|投诉",
    re.IGNORECASE,
)
_BUSINESS = re.compile(
    r"\b(my|the|this|an?) (order|parcel|package|shipment|delivery|refund)\b.{0,40}"
    r"\b(status|where|track|arriv|ship|progress|late|yet)|"
    r"\b(order status|track(ing)? (my|the|number)|where is my|refund status)\b|"
    r"\bstatus of (my|the|this) (order|parcel|package|shipment|delivery|refund)\b|"
    r"我的订单|订单状态|物流|快递|退款进度|到哪",
    re.IGNORECASE,
)
_CHITCHAT = re.compile(
    r"^\W*(hi|hello|hey|good (morning|afternoon|evening)|thanks?( you)?( so much| a lot)?|"
    r"thx|ok(ay)?|cool|great|bye|goodbye|see you|how are you( doing)?|who are you|"
    r"what('s| is) your name|are you (a )?(bot|robot|human)|你好|您好|谢谢|再见|在吗|你是谁)"
    r"[\W\s]*(there|again|today|bot)?[\W\s]*$",
    re.IGNORECASE,
)
_FOLLOW_UP = re.compile(
    r"\b(it|its|it's|that|shipment|parcel|package|delivery|order|tracking|where|when)\b|它|那个",
    re.IGNORECASE,
)
EMOTION_SENSITIVE_BELOW = 0.45


def recognise(message: str, emotion: float, previous: str = "") -> Intent:
    """The message's intent; the most specific cue wins.

    ``previous`` is the session's last intent: a short follow-up such as "where is it now?"
    continues an order conversation rather than starting a knowledge question.
    """
    if _HUMAN.search(message):
        return "transfer_to_human"
    if _TICKET.search(message):
        return "ticket"
    if emotion < EMOTION_SENSITIVE_BELOW:
        return "emotion_sensitive"
    if ORDER_ID.search(message) or _BUSINESS.search(message):
        return "business_query"
    if previous == "business_query" and _FOLLOW_UP.search(message):
        return "business_query"
    if _CHITCHAT.match(message):
        return "chitchat"
    return "knowledge_qa"
