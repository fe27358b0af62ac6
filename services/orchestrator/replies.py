"""Fixed phrasing for fast paths, fallbacks and hand-offs, in the customer's language.

A customer who writes Chinese is answered in Chinese: the hand-off, the apology, the request
for an order number and small talk alike (``phrases_for``). Everything else is English.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from shared.events import EscalationCard
from shared.text import mostly_chinese

_GREETING = re.compile(r"\b(hi|hello|hey|good (morning|afternoon|evening))\b|你好|您好|在吗", re.I)
_THANKS = re.compile(r"\b(thanks?|thx|great|cool|ok(ay)?)\b|谢谢|多谢|感谢", re.I)
_BYE = re.compile(r"\b(bye|goodbye|see you)\b|再见|拜拜", re.I)
_WHO = re.compile(r"\b(who are you|your name|bot|robot|human)\b|你是谁|机器人|真人|叫什么", re.I)


@dataclass(frozen=True)
class Phrases:
    """Every fixed reply in one language."""

    handoff: str
    handoff_after_failures: str  # appended to the reply that failed
    empathy: str
    no_content: str
    llm_fallback: str
    ticket_created: str  # {ticket_id}
    ask_order_number: str
    order_not_found: str  # {order_id}
    orders_down: str
    agents_away_until: str  # {when} {ticket_id}
    next_working_day: str
    goodbye: str
    welcome: str
    who_we_are: str
    hello: str
    anything_else: str
    weekdays: tuple[str, ...] = ()  # Monday first; none: the English names
    space: str = " "  # between two sentences; Chinese runs them on

    def empathy_then_handoff(self) -> str:
        """The apology, then the hand-off."""
        return f"{self.empathy}{self.space}{self.handoff}"

    def chitchat(self, message: str) -> str:
        """A short, friendly answer to small talk."""
        if _BYE.search(message):
            return self.goodbye
        if _THANKS.search(message):
            return self.welcome
        if _WHO.search(message):
            return self.who_we_are
        if _GREETING.search(message):
            return self.hello
        return self.anything_else

    def agents_away(self, card: EscalationCard) -> str:
        """Tells the customer when a human will reply, for a hand-off outside support hours."""
        back = card.agents_back_at
        if back is None:
            when = self.next_working_day
        elif self.weekdays:
            when = f"{self.weekdays[back.weekday()]} {back:%H:%M %Z}"
        else:
            when = f"{back:%A %H:%M %Z}"
        return self.agents_away_until.format(when=when, ticket_id=card.ticket_id)


ENGLISH = Phrases(
    handoff=(
        "I'm connecting you with a human agent now. They'll see our conversation so far, "
        "so you won't need to repeat yourself."
    ),
    handoff_after_failures=(
        " I haven't been able to answer this, so I'm passing you to a human agent who can help."
    ),
    empathy="I'm sorry about the trouble, and I understand how frustrating this is.",
    no_content=(
        "Sorry, I couldn't find relevant content in our help centre for that. "
        "Could you rephrase it, or add a detail such as the product or order?"
    ),
    llm_fallback=(
        "I'm having trouble composing a full answer right now. Here is what our help centre says:"
    ),
    ticket_created="I've opened ticket {ticket_id} for you. Our team will follow up by email.",
    ask_order_number=(
        "I can check that for you. What is your order number? It looks like ORD-2024-001."
    ),
    order_not_found="I couldn't find an order {order_id}. Could you check the number?",
    orders_down=(
        "I can't reach our order system right now, so I'm passing you to a human agent who can "
        "check your order for you."
    ),
    agents_away_until=(
        " Our agents are away right now and back on {when}. I've opened ticket "
        "{ticket_id}, so an agent will pick this up then and reply to you."
    ),
    next_working_day="the next working day",
    goodbye="Goodbye, and thanks for contacting Northwind Goods!",
    welcome="You're welcome! Is there anything else I can help you with?",
    who_we_are=(
        "I'm the Northwind Goods virtual assistant. I can answer questions about shipping, "
        "returns, payments, your account and orders, or connect you with a human agent."
    ),
    hello="Hello! How can I help you today?",
    anything_else="I'm here to help. What can I do for you?",
)

CHINESE = Phrases(
    handoff="正在为您转接人工客服。客服会看到我们之前的对话，您无需重复说明。",
    handoff_after_failures="这个问题我没能解答，现在为您转接人工客服。",
    empathy="非常抱歉给您带来麻烦，我理解您的心情。",
    no_content="抱歉，帮助中心里没有找到相关内容。您可以换个说法，或补充商品、订单等细节吗？",
    llm_fallback="我暂时无法组织完整的回答。以下是帮助中心的相关内容：",
    ticket_created="已为您创建工单 {ticket_id}，我们的团队会通过邮件跟进。",
    ask_order_number="我可以帮您查询。请告诉我您的订单号，格式如 ORD-2024-001。",
    order_not_found="没有找到订单 {order_id}，请核对订单号。",
    orders_down="暂时无法连接订单系统，现在为您转接人工客服，由客服为您查询订单。",
    agents_away_until=(
        "客服人员目前不在线，将于 {when} 回来。已为您创建工单 {ticket_id}，届时客服会跟进并回复您。"
    ),
    next_working_day="下一个工作日",
    goodbye="再见，感谢您联系 Northwind Goods！",
    welcome="不客气！还有什么可以帮您的吗？",
    who_we_are=(
        "我是 Northwind Goods 的智能客服，可以解答配送、退货、支付、账户和订单方面的问题，"
        "也可以为您转接人工客服。"
    ),
    hello="您好！请问有什么可以帮您？",
    anything_else="我在这里为您服务。请问有什么可以帮您？",
    weekdays=("周一", "周二", "周三", "周四", "周五", "周六", "周日"),
    space="",
)


def phrases_for(message: str) -> Phrases:
    """The phrases in the language ``message`` is written in."""
    return CHINESE if mostly_chinese(message) else ENGLISH
