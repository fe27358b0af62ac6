"""What a message shows by itself, in English and Chinese: an explicit request for a person or
a ticket, a question about something, the customer's own order, anger or distress.

The route accepts an intent only with its evidence: asking *about* agents, opening hours or
the complaint process is a question for the help centre, not a request for a hand-off.
Everything here is a pure function of the text, linear in its length: clauses are split by
one character class, words are matched one at a time, and no pattern backtracks.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from services.orchestrator.emotion import distressed
from services.orchestrator.intent_model import content_terms
from services.orchestrator.questions import ZH_YES_NO_ENDING

ORDER_ID = re.compile(r"\bORD-\d{4}-\d{3,}\b", re.IGNORECASE)
# A lexicon score this low is anger, whatever the model thinks; below NEGATIVE_BELOW it is
# at least evidence of a negative emotion (neutral text scores 0.75).
FURIOUS_BELOW = 0.3
NEGATIVE_BELOW = 0.6

_CLAUSE = re.compile(r"[.?!。？！,，;；:：\n]+|\s-+\s")
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")

# Leading words that do not change what a clause is ("hi, so how do I ...").
_FILLERS = frozenset(
    "hi hello hey ok okay so and but also btw um quick q one more question".split()
)
# A clause opening with one of these asks for information (modal "can/could/may/would you"
# are left out on purpose: "can I speak to a person" is a request).
_ASKS = frozenset(
    """what whats what's when where wheres where's which why who whom whose how hows is isn't
    are aren't am was were do does did don't doesn't must should shall will won't""".split()
)
_ASKING_OPENERS = (
    ("i", "want", "to", "know"),
    ("i'd", "like", "to", "know"),
    ("i", "need", "to", "know"),
    ("need", "to", "know"),
    ("i'd", "like", "information"),
    ("i'd", "like", "some", "information"),
    ("i", "need", "information"),
    ("can", "you", "explain"),
    ("could", "you", "explain"),
    ("i", "wonder"),
    ("i'm", "wondering"),
    ("wondering",),
    ("can", "you", "tell", "me"),
    ("could", "you", "tell", "me"),
    ("tell", "me", "about"),
    ("tell", "me", "how"),
    ("tell", "me", "when"),
    ("tell", "me", "what"),
    ("tell", "me", "where"),
    ("tell", "me", "if"),
)
# A clause that opens with a condition may go on to ask; "if this isn't fixed I will
# complain" does not.
_CONDITION_OPENERS = frozenset("if once after".split())
_WH_WORDS = frozenset("how what when where which who why".split())
# ... and so does a modal one that names a channel: "can I open a ticket online?", "could I
# complain by phone?" ask how it is done, where "can I open a ticket?" asks for one.
_MAY_I = (
    ("can", "i"),
    ("could", "i"),
    ("may", "i"),
    ("can", "we"),
    ("is", "it", "possible"),
)
_CHANNEL = re.compile(
    r"\b(?:by|via) (?:e-?mail|mail|post|phone|telephone|chat|whatsapp|wechat)\b|\bonline\b"
    r"|\b(?:through|on|in|from) (?:the |your )?(?:app|website|site|web|contact page)\b"
    r"|\bover the phone\b"
)
# ... or that sets a condition: "can I open a ticket if the chat is closed?", "can I make a
# complaint in Chinese?" ask what is allowed.
_CONDITION = re.compile(
    r"\b(?:if|without|unless|even though|once|in (?:english|chinese|mandarin|german|french|"
    r"spanish|dutch|another language))\b"
)
_ZH_CHANNEL = re.compile(
    r"(?:通过|用|打|发)(?:电话|邮件|邮箱|微信)|网上|在线|线上|官网|App|APP|社交媒体|社交平台|微博|公众号"
)
_ZH_YES_NO = re.compile(rf"{ZH_YES_NO_ENDING}|能不能|可不可以|能否|是否")
_ZH_WHEN = re.compile(
    r"周末|节假日|假期|晚上|夜里|凌晨|早上|春节|国庆|过年|周[一二三四五六日天]|星期"
)
_ZH_CALL_ME = re.compile(r"给我打电话|打电话给我|回电话|回个电话")
_MODALS = frozenset("can could may will would".split())
_SOMEONE = frozenset("i you u we someone somebody anyone anybody".split())
# Policy questions: what is allowed or how something works, not what happened to an order.
_POLICY_OPENERS = (
    ("how", "long"),
    ("how", "much"),
    ("how", "many"),
    ("how", "far"),
    ("how", "do"),
    ("how", "does"),
    ("how", "can"),
    ("how", "should"),
    ("how", "to"),
    ("how", "will", "i"),
    ("how", "would", "i"),
    ("where", "do", "i"),
    ("where", "can", "i"),
    ("where", "should", "i"),
    *_MAY_I,
    ("am", "i"),
    ("is", "it"),
    ("is", "there"),
    ("are", "there"),
    ("do", "you"),
    ("does", "it"),
    ("what", "if"),
    ("what", "happens"),
    ("until", "when"),
)
# "Where does the refund go?" asks how refunds work: after these, "the refund" is any refund.
_GENERAL_OPENERS = tuple(
    (wh, verb) for wh in ("where", "when", "who", "what") for verb in ("do", "does")
)

_PEOPLE = frozenset(
    """human humans hooman person someone somebody sum1 some1 agent agents representative
    representatives rep reps operator supervisor manager staff colleague employee advisor
    adviser team""".split()
)
_CONTACT = frozenset(
    "speak talk chat connect transfer transferred pass put get give reach want need like".split()
)
_REAL = frozenset("real live actual".split())
_BARE_PERSON = _PEOPLE | frozenset("a an the real live actual please pls plz now asap me".split())
_TICKET_NOUNS = frozenset(
    "ticket tickets tix complaint complain case claim investigation report callback".split()
)
_TICKET_VERBS = frozenset(
    """open raise file submit create log make register start lodge put escalate escalated get
    need want like""".split()
)
_TICKET_DONE = frozenset("opened open logged filed raised created started".split())
_BARE_TICKET = _TICKET_NOUNS | frozenset("a an please pls plz now formal official".split())
_BARE_REQUEST = _BARE_PERSON | _BARE_TICKET
_REQUEST_OPENERS = _MODALS | _CONTACT | _TICKET_VERBS | frozenset("please pls plz".split())
_CALL_ME = (("call", "me"), ("ring", "me"), ("phone", "me"), ("call", "back"))
_FORMAL = (("formal", "complaint"), ("official", "complaint"), ("formally", "complain"))
_ORDER_NOUNS = frozenset(
    """order orders parcel parcels package packages shipment delivery refund return returns
    returned exchange repair replacement item items box purchase money tracking courier
    invoice""".split()
)
# An asked clause with one of these asks what happened to an order, not what the rules are.
_STATUS_WORDS = frozenset(
    """where wheres where's status arrive arrived arriving shipped dispatched yet eta progress
    update updated tracking track happened coming late delayed stuck processed approved lost
    missing received doing going news long taking""".split()
)
# "When will my order ship?" asks after one order ("where is my parcel?" does too: "where"
# is a status word).
_WHEN_ONE_ORDER = tuple(("when", verb) for verb in "will is are can does do did".split())
# "has it been processed?" asks what happened; "does it still work?" what the rule is.
_HAPPENED = frozenset("has have had did was were hasn't haven't didn't wasn't".split())
_BOUGHT = frozenset("ordered bought purchased returned paid".split())
# A question with a topic of its own ("Which heating system is cheapest to run?") is not
# small talk, unless it is about the bot itself ("what do you think of the weather?").
_THE_BOT = frozenset("you u your yours ur yourself bot robot chatgpt ai assistant chatting".split())
# ... but "you" is the shop when it opens, ships, replies or stocks: "are you open over Chinese
# New Year", "u accept bitcoin?", "how fast do you answer emails", "which couriers do you use"
# and "do you have a live chat" ask the help centre.
_WHAT_A_SHOP_DOES = frozenset(
    """open opened close closed accept accepted ship shipped deliver delivered answer answered
    reply replied respond responded sell sold offer offered charge charged refund refunded
    exchange exchanged repair repaired use uses used carry carries stock stocks
    support supports provide provides take takes match matches call calls called email emails
    emailed phone phones notify notifies send sends sent""".split()
)
# "Have" only as what the shop has: "do you have a live chat", not "have you heard the news?".
_DO_YOU_HAVE = (("do", "you", "have"), ("do", "u", "have"), ("does", "it", "have"))
# ... unless it is the bot's taste: "what languages do you like to use?".
_TASTE = frozenset("like likes love enjoy prefer favourite favorite think feel".split())
# 你 alone is the bot; 你们 is the company ("你们支持哪些支付方式") and 你好 a greeting.
_ZH_THE_BOT = re.compile(r"你(?![们好])|机器人|真人")
TOPIC_TERMS = 2

_ZH_ASKS = re.compile(
    r"几点|什么时候|何时|多久|多长时间|几天|怎么(?![还又没])|怎样|如何|为什么|为何|什么(?!破|垃圾)|哪|多少|谁"
)
_ZH_PERSON_REQUEST = re.compile(
    r"(?:转|找|要|接|叫|换|需要)(?:个|一个|接|下)?(?:人工|真人|客服人员|客服)|^(?:人工|真人|客服)+[呢啊吧]?$"
)
_ZH_PERSON = re.compile(r"人工|真人|客服|经理|主管")
_ZH_TICKET = re.compile(
    r"工单|投诉|理赔|售后单|申请保修|报修|回电话|回个电话|打电话给我|给我打电话"
)
_ZH_MINE = re.compile(r"我的(?:订单|快递|包裹|单子|退货|退款|货|东西|钱)|帮我(?:查|看)")
_ZH_ORDER = re.compile(r"订单|快递|包裹|单子|物流|退款|退货|发货")
_ZH_STATUS = re.compile(r"到哪|到了|还没|没到|收到|发了|进度|状态|什么时候|怎么还|一直|显示|没有")
_ZH_POLICY = re.compile(
    r"能不能|可不可以|能否|是否|怎么(?![还又没])|如何|多久|几天|多少钱|谁出|要不要"
)


def clauses(message: str) -> list[str]:
    """The message's clauses, lowercased: split at sentence marks, commas and dashes."""
    return [c for c in (p.strip() for p in _CLAUSE.split(message.lower())) if c]


def _words(clause: str) -> list[str]:
    words = _WORD.findall(clause)
    start = 0
    while start < len(words) - 1 and words[start] in _FILLERS:
        start += 1
    return words[start:]


@functools.cache
def _first_words(openers: tuple[tuple[str, ...], ...]) -> frozenset[str]:
    return frozenset(o[0] for o in openers)


def _opens_with(words: list[str], openers: tuple[tuple[str, ...], ...]) -> bool:
    if not words or words[0] not in _first_words(openers):
        return False  # most clauses: one set look-up rather than a slice per opener
    return any(tuple(words[: len(o)]) == o for o in openers)


def _asks(clause: str) -> bool:
    """True for a clause that asks for information (what, when, how, 几点, 怎么 ...)."""
    words = _words(clause)
    if words:
        if words[0] in _ASKS and words[:2] not in (["what", "a"], ["what", "an"]):
            return True
        if _opens_with(words, _ASKING_OPENERS):
            return True
        if words[0] in _CONDITION_OPENERS and _WH_WORDS & set(words[2:]):
            return True  # "if I make a complaint how long until I hear back"
        if _opens_with(words, _MAY_I) and (_CHANNEL.search(clause) or _CONDITION.search(clause)):
            return True
        if _asks_if_possible(words):
            return True
    if _ZH_CHANNEL.search(clause) and _ZH_YES_NO.search(clause):
        return _ZH_CALL_ME.search(clause) is None  # "可以给我打电话吗" asks for a call-back
    if _ZH_WHEN.search(clause) and _ZH_YES_NO.search(clause):
        return True  # "周末有人工客服吗" asks about the hours; "有人工吗" asks for one
    return _ZH_ASKS.search(clause) is not None


def _asks_if_possible(words: list[str]) -> bool:
    """ "can a claim be filed after 14 days?" asks what is possible, where "can a ticket be
    opened for me" and "could a real person be assigned" ask for it."""
    return (
        words[0] in _MODALS
        and "be" in words[2:5]
        and words[1] not in _SOMEONE
        and not ("me" in words or _PEOPLE & set(words))
    )


def _marked_question(clause: str) -> bool:
    """A clause the customer ended with a question mark asks, unless it is a bare request
    ("agent?", "ticket?") or opens like one ("talk to a human?", "can I get a rep?")."""
    words = _words(clause)
    if not words or set(words) <= _BARE_REQUEST:
        return False
    return words[0] not in _REQUEST_OPENERS


def _has_phrase(words: list[str], phrases: tuple[tuple[str, ...], ...]) -> bool:
    return any(
        tuple(words[i : i + len(p)]) == p for p in phrases for i in range(len(words) - len(p) + 1)
    )


def _asks_for_person(clause: str) -> bool:
    words = _WORD.findall(clause)
    if words and set(words) <= _BARE_PERSON and _PEOPLE & set(words):
        return True  # "AGENT AGENT AGENT", "real person?", "supervisor pls"
    if _has_phrase(words, (("put", "me", "through"), ("transfer", "me"), ("pass", "me", "on"))):
        return True
    if any(w in _REAL and words[i + 1] in _PEOPLE for i, w in enumerate(words[:-1])):
        return True  # "can a real employee look at this": a person, not the bot
    first_verb = next((i for i, w in enumerate(words) if w in _CONTACT), None)
    if first_verb is not None and any(w in _PEOPLE for w in words[first_verb + 1 :]):
        return True  # "let me speak to someone real", "can i get a rep"
    return _ZH_PERSON_REQUEST.search(clause) is not None


def _asks_for_ticket(clause: str, mentioned: bool) -> bool:
    """``mentioned``: a ticket came up elsewhere in the message ("... just file one for me")."""
    words = _WORD.findall(clause)
    if words and set(words) <= _BARE_TICKET and _TICKET_NOUNS & set(words):
        return True  # "ticket pls"
    if _has_phrase(words, _CALL_ME + _FORMAL) or "callback" in words:
        return True
    objects = _TICKET_NOUNS | ({"one", "it"} if mentioned else set())
    for i, word in enumerate(words):
        if word in _TICKET_VERBS and any(w in objects for w in words[i + 1 : i + 7]):
            return True  # "raise a support case", "pls put a claim through"
        if word in _TICKET_NOUNS and any(w in _TICKET_DONE for w in words[i + 1 : i + 3]):
            return True  # "need a case opened"
    return _ZH_TICKET.search(clause) is not None


@dataclass(frozen=True)
class Evidence:
    """What a message shows by itself, for or against each intent."""

    asks_for_person: bool  # explicitly, in a clause that is not a question about people
    asks_for_ticket: bool  # a ticket, complaint, claim or call-back, likewise
    mentions_person: bool  # a person or a ticket comes up outside a question: the model
    mentions_ticket: bool  # may then read a request into it
    upset: bool  # a low emotion score (not just a question on a grim topic) or clear cues
    furious: bool  # so upset that it takes over the turn
    own_order: bool  # the customer's own order, shipment, return or refund
    order_id: str | None
    small_talk: bool  # no clause asks about anything but the bot

    def allows(self, intent: str) -> bool:
        """Whether this evidence lets the model choose ``intent``."""
        if intent == "transfer_to_human":
            return self.asks_for_person or self.mentions_person
        if intent == "ticket":
            return self.asks_for_ticket or self.mentions_ticket
        if intent == "emotion_sensitive":
            return self.upset
        if intent == "business_query":
            return self.own_order
        if intent == "chitchat":
            return self.small_talk
        return True


def read(message: str, emotion: float) -> Evidence:
    """The evidence in ``message``; ``emotion`` is its lexicon score (0 furious, 1 delighted)."""
    parts = clauses(message)
    asking = [_asks(c) for c in parts]
    if parts and message.rstrip().endswith(("?", "？")) and _marked_question(parts[-1]):
        asking[-1] = True  # "complaint procedure?"
    # Requests, statements and complaints: the clauses that do not ask for information.
    requests = [c for c, asks in zip(parts, asking, strict=True) if not asks]
    asked = [c for c, asks in zip(parts, asking, strict=True) if asks]
    text = " ".join(requests)
    words = set(_WORD.findall(text))
    all_words = set(_WORD.findall(message.lower()))
    ticket_mentioned = bool(all_words & _TICKET_NOUNS) or _ZH_TICKET.search(message) is not None
    question = (
        bool(asked)
        or message.rstrip().endswith(("?", "？"))
        or bool(parts and _ZH_YES_NO.search(parts[-1]))  # "超过14天还能报吗"
    )
    cues = distressed(message)
    upset = cues or (emotion < NEGATIVE_BELOW and not question)
    order_id = ORDER_ID.search(message)
    return Evidence(
        asks_for_person=any(_asks_for_person(c) for c in requests),
        asks_for_ticket=any(_asks_for_ticket(c, ticket_mentioned) for c in requests),
        mentions_person=bool(words & _PEOPLE) or _ZH_PERSON.search(text) is not None,
        mentions_ticket=bool(words & _TICKET_NOUNS) or _ZH_TICKET.search(text) is not None,
        upset=upset,
        furious=upset and (cues or emotion < FURIOUS_BELOW),
        own_order=order_id is not None or _own_order(parts, asking),
        order_id=order_id.group().upper() if order_id else None,
        small_talk=_small_talk(asked, all_words, message),
    )


def _small_talk(asked: list[str], words: set[str], message: str) -> bool:
    """False for a question on a topic: small talk asks about the bot, or about little."""
    shop = words & _WHAT_A_SHOP_DOES or any(_opens_with(_words(c), _DO_YOU_HAVE) for c in asked)
    about_the_bot = bool(words & _THE_BOT) and bool(words & _TASTE or not shop)
    if not asked or about_the_bot or _ZH_THE_BOT.search(message):
        return True
    return len(content_terms(" ".join(asked))) < TOPIC_TERMS


def _asks_a_rule(words: list[str]) -> bool:
    """An English question on what is allowed, not on where an order is or what happened."""
    return (
        bool(words)
        and words[0] not in _HAPPENED
        and not _opens_with(words, _WHEN_ONE_ORDER)
        and not _STATUS_WORDS & set(words)
    )


def _own_order(parts: list[str], asking: list[bool]) -> bool:
    """An order, parcel or refund of the customer's, outside a general policy question.

    "my return label is 10 days old, does it still work?" tells of the customer's order to
    ask a rule: a statement counts only when no clause asks anything but where an order is.
    """
    clause_words = [_words(c) for c in parts]
    # "can I still cancel it?" asks what is allowed too, though it is no question for _asks.
    rules = [
        (asks or _opens_with(words, _MAY_I)) and _asks_a_rule(words)
        for words, asks in zip(clause_words, asking, strict=True)
    ]
    asks_a_rule = any(rules)
    for clause, words, asks, rule in zip(parts, clause_words, asking, rules, strict=True):
        if _opens_with(words, _POLICY_OPENERS) or _ZH_POLICY.search(clause):
            continue
        if asks_a_rule and (not asks or rule):
            continue  # "does my order come with an invoice?" asks what always happens
        if _ZH_MINE.search(clause) or (words and words[0] in _BOUGHT | _ORDER_NOUNS):
            return True
        order = _ZH_ORDER.search(clause)
        if order and _ZH_STATUS.search(clause, order.end()):
            return True  # "订单一直显示待发货": what happened to an order
        owners = ("my", "our") if _opens_with(words, _GENERAL_OPENERS) else ("my", "our", "the")
        for i, word in enumerate(words):
            if word in owners and any(w in _ORDER_NOUNS for w in words[i + 1 : i + 4]):
                return True
            if word == "i" and any(w in _BOUGHT or w == "sent" for w in words[i + 1 : i + 3]):
                return True
    return False
