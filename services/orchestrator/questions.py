"""What a customer's question asks for, read for the extractive answerer: the kind of answer
("which ..." wants a list, "how long" a duration) and the words that say what it is about."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from services.orchestrator.crosslingual import chinese_words
from services.orchestrator.figures import figures
from shared.text import mostly_chinese, tokenize

# Every pattern is an alternation of literals or bounded repeats: each reads the text once.
# "能退吗" ends in a yes/no particle; "是什么" ends in 么 but asks what, not whether.
ZH_YES_NO_ENDING = r"(?:吗|(?<![什怎这那多])么)[？?\s]*$"
ASKS = {
    "list": re.compile(
        r"\b(?:which|what)(?:\s+\w+){0,3}?\s+(?:methods?|options?|ways?|cards?|carriers?|"
        r"couriers?|items?|products?|countries|regions|languages?|documents?|types?|kinds?|"
        r"benefits?|services?|channels?|currencies|tiers?|things?|details|information|info)\b"
        r"|\bwhat (?:do|can) (?:you|i|we) (?:accept|take|need|bring|provide|change)\b"
        r"|哪些|哪几种|哪几个|几种|什么方式|哪种",
        re.IGNORECASE,
    ),
    "duration": re.compile(
        r"\bhow (?:long|soon|fast|quickly)\b|\bhow many (?:days|weeks|hours|minutes|months)\b"
        r"|^\s*when\b|\bwhen (?:will|does|do|did|is|are|can|should|would|am)\b"
        r"|\bwhat time\b|\bwhat hours\b|\bexpire|\bvalid until\b|\buntil when\b|\bvalidity\b"
        r"|多久|多长|几天|几个小时|什么时候|几点|时效|期限|有效期|过期",
        re.IGNORECASE,
    ),
    "price": re.compile(
        r"\bhow much\b|\bcosts?\b|\bprices?\b|\bfees?\b|\bcharge[sd]?\b|\bspend\b|\bpay for\b"
        r"|多少钱|费用|运费|收费|价格|花多少|钱",
        re.IGNORECASE,
    ),
    "count": re.compile(
        r"\bhow many\b|\bminimum\b|\bmaximum\b|\blimit\b|多少(?!钱)|几个|几张|几次|最少|最多",
        re.IGNORECASE,
    ),
    "yes_no": re.compile(
        # "someone stole my earbuds, does the warranty cover that?" asks yes or no too.
        r"(?:^|[,;.!?]\s*)(?:can|could|do|does|did|is|are|was|will|would|may|should|am|have|has)\b"
        rf"|{ZH_YES_NO_ENDING}|能否|可否|是否|能不能|可不可以|会不会|有没有",
        re.IGNORECASE,
    ),
    "overview": re.compile(
        r"\btell me (?:about|more about)\b|\bexplain\b|\boverview\b|\bsummar"
        r"|\bwhat(?:'s| is| are) (?:your|the)(?:\s+\w+){0,3}?\s+polic"
        r"|政策|规定|规则|介绍|说明一下",
        re.IGNORECASE,
    ),
}
# "How long" asks for a duration, "what happens" for a consequence: neither "long" nor
# "happen" is what the question is about.
_QUESTION_WORDS = re.compile(
    r"\bhow (?:long|soon|fast|quickly|often|much|many|far)\b|\bwhat (?:will )?happens?\b", re.I
)
# "How do I return the charger?": the task (return) says more than its object.
_TASK = re.compile(
    r"\bhow (?:do|can|should|would|could) (?:i|we|you) (\w+)|\bhow to (\w+)", re.IGNORECASE
)
SYNONYMS_FILE = Path(__file__).parent / "data" / "english_synonyms.txt"
# Question words as customers mistype them: "how lond does shipping take" asks how long.
_QUESTION_WORD_TYPOS = {
    "lond": "long",
    "logn": "long",
    "wat": "what",
    "wht": "what",
    "wen": "when",
    "whn": "when",
    "hw": "how",
    "hwo": "how",
    "hiw": "how",
    "wich": "which",
    "whch": "which",
}
_TYPOS = re.compile(rf"\b(?:{'|'.join(_QUESTION_WORD_TYPOS)})\b", re.IGNORECASE)
# Longer than any real question; a 100,000-character one is read this far (bounded work).
QUESTION_CHARS = 2_000
# Words customers add that say nothing about the topic.
FILLER = frozenset(
    """already still now really actually anyway guys guy u ur im dont cant wont isnt whats
    way stuff thing something anything everything bit lot ok okay legit even ever yet
    someone anyone everyone like just maybe probably honestly frankly seriously tbh literally
    basically""".split()
)


def asks_for_overview(text: str) -> bool:
    """ "Tell me about your returns policy": the page's key facts are wanted."""
    return ASKS["overview"].search(text[:QUESTION_CHARS]) is not None


def forms(term: str) -> set[str]:
    """A term and the forms it may take after light stemming: "updated" meets "update",
    "cancelled" "cancel", "getting" (stemmed "gett") "get", "changing" ("chang") "change"."""
    found = {term}
    if term.isascii() and len(term) > 4:
        if term.endswith("ed"):
            root = term[:-2]
            found |= {root, term[:-1]}
            if len(root) > 3 and root[-1] == root[-2]:
                found.add(root[:-1])
        elif term[-1] == term[-2] and term[-1] not in "aeiouls":
            found.add(term[:-1])
        elif term[-1] not in "aeiouy":
            found.add(term + "e")
    return found


def _read_synonyms(path: Path) -> dict[str, frozenset[str]]:
    """Term -> the terms of its group, from a file of word groups, one a line."""
    groups: dict[str, frozenset[str]] = {}
    for line in path.read_text("utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            group = frozenset(tokenize(line))
            groups |= dict.fromkeys(group, group)
    return groups


_SYNONYMS = _read_synonyms(SYNONYMS_FILE)


def forms_and_synonyms(term: str) -> set[str]:
    """A term's forms, and its synonyms' ("water" meets "liquid")."""
    return forms(term) | {f for s in _SYNONYMS.get(term, ()) for f in forms(s)}


def terms_of(text: str) -> set[str]:
    """The topic words of ``text``."""
    return {t for t in tokenize(text) if t not in FILLER}


@dataclass(frozen=True)
class Concept:
    """One thing a Chinese question names, as a Chinese word or its English senses: "退款" is
    met by a passage holding 退款 or "refund", so a Chinese and an English sentence compare."""

    word: str
    pieces: frozenset[str]  # the word's terms as Chinese text is tokenized (bigrams)
    english: dict[str, float]  # English term -> how surely it says the same thing

    def match(self, found: set[str]) -> float:
        """How well a unit with terms ``found`` names this concept (0 to 1)."""
        # "寄出去" is met by "寄出": most of a word's pieces name it.
        held = len(self.pieces & found) / len(self.pieces) if self.pieces else 0.0
        english = max((w for t, w in self.english.items() if forms(t) & found), default=0.0)
        return max(held if held >= 0.5 else 0.0, english)


@dataclass(frozen=True)
class Question:
    """What was asked, read once."""

    text: str
    chinese: bool
    asks: frozenset[str]
    terms: dict[str, float] = field(default_factory=dict)  # topic word -> how much it counts
    task: str = ""  # the verb of "how do I ...", as a term
    concepts: tuple[Concept, ...] = ()  # a Chinese question's words, in either language

    @classmethod
    def read(cls, text: str) -> Question:
        """Kinds of answer wanted, and the words that say what about; a Chinese question also
        brings the English words of its dictionary senses, counting less."""
        text = _TYPOS.sub(
            lambda typo: _QUESTION_WORD_TYPOS[typo.group().lower()], text[:QUESTION_CHARS]
        )
        chinese = mostly_chinese(text)
        asks = frozenset(kind for kind, pattern in ASKS.items() if pattern.search(text))
        # "2 hours ago" says when the customer ordered, not what the answer is about.
        topic = _QUESTION_WORDS.sub(" ", text)
        for figure in figures(topic):
            topic = topic.replace(figure.text, " ")
        terms = dict.fromkeys((t for t in terms_of(topic) if not t.isdigit()), 1.0)
        concepts: tuple[Concept, ...] = ()
        if chinese:
            words = chinese_words(text)
            for _, english in words:
                for term, weight in english.items():
                    terms[term] = max(terms.get(term, 0.0), weight)
            concepts = tuple(
                Concept(word, frozenset(tokenize(word)), english) for word, english in words
            ) + tuple(
                Concept(t, frozenset({t}), {t: 1.0})
                for t in terms_of(topic)
                if t.isascii() and not t.isdigit()
            )
        found = _TASK.search(text)
        task = next(iter(terms_of(found.group(1) or found.group(2))), "") if found else ""
        return cls(text, chinese, asks, terms, task, concepts)

    def mend_typos(self, vocabulary: set[str]) -> Question:
        """ "warrenty" as "warranty": a word missing from ``vocabulary`` that is one letter off
        a word in it (matched by deleting one letter from either, so the work stays linear)."""
        unknown = [t for t in self.terms if t not in vocabulary and _typo_prone(t)]
        if not unknown:
            return self
        known: dict[str, str] = {}
        for word in sorted(w for w in vocabulary if _typo_prone(w)):
            for key in _deletions(word):
                known.setdefault(key, word)
        terms = dict(self.terms)
        for term in unknown:
            match = next((known[k] for k in _deletions(term) if k in known), None)
            if match and match not in terms:
                terms[match] = terms.pop(term)
        return Question(self.text, self.chinese, self.asks, terms, self.task, self.concepts)

    def split_compounds(self, vocabulary: set[str]) -> Question:
        """ "giftcard" as "gift" and "card" when only those are in ``vocabulary``."""
        terms = dict(self.terms)
        for term, weight in self.terms.items():
            if term in vocabulary or len(term) < 6 or not term.isascii():
                continue
            for cut in range(3, len(term) - 2):
                head, tail = term[:cut], term[cut:]
                if head in vocabulary and tail in vocabulary:
                    del terms[term]
                    terms[head] = terms[tail] = weight
                    break
        return Question(self.text, self.chinese, self.asks, terms, self.task, self.concepts)


def _typo_prone(word: str) -> bool:
    """Long enough that one letter off is a typo, not another word (bounded, so linear)."""
    return word.isascii() and word.isalpha() and 6 <= len(word) <= 20


def _deletions(word: str) -> list[str]:
    """The word, and the word with each of its letters left out."""
    return [word] + [word[:i] + word[i + 1 :] for i in range(len(word))]
