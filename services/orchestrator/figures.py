"""Figures in text (prices, durations, percentages, times of day, counts), normalised to compare.

"3-5 business days", "3–5 days" and "3 to 5 个工作日" are one figure; so are "$5.99" and
"5.99 USD", "15 days" and "15-day", "2 years" and "24 months", "9 pm" and "21:00". Number words
("two business days", "三十天") count only when a unit follows, so "the blue one" is no figure.
Every pattern reads its input once: numbers are matched from their first digit only
(a lookbehind), with possessive quantifiers, so a run of digits is never re-read.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# A number word turned into digits carries this mark, so it counts only with a unit.
_WORD_MARK = "\ue000"
_ONES = "one two three four five six seven eight nine".split()
_TEENS = "ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen".split()
_TENS = "twenty thirty forty fifty sixty seventy eighty ninety".split()
_WORD_VALUE = {w: i + 1 for i, w in enumerate(_ONES)} | {w: i + 10 for i, w in enumerate(_TEENS)}
_WORD_VALUE |= {w: (i + 2) * 10 for i, w in enumerate(_TENS)}
_NUMBER_WORD = re.compile(
    rf"\b(?:({'|'.join(_TENS)})(?:[- ]({'|'.join(_ONES)}))?|({'|'.join(_ONES + _TEENS)}))\b",
    re.IGNORECASE,
)
_CJK_DIGITS = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6}
_CJK_DIGITS |= {"七": 7, "八": 8, "九": 9}
_CJK_SCALES = {"十": 10, "百": 100, "千": 1000, "万": 10_000}
_CJK_NUMERAL = re.compile(
    r"(?<![零〇一二两三四五六七八九十百千万])(百分之)?([零〇一二两三四五六七八九十百千万]++)"
)
_CJK_UNITS: tuple[str, ...] = (
    "个工作日",
    "工作日",
    "个小时",
    "小时",
    "分钟",
    "个月",
    "星期",
    "天",
    "日",
    "周",
    "月",
    "年",
)
_CJK_UNITS += ("秒", "元", "块")

_AMOUNT = r"\ue000?\d++(?:[.,:]\d++)*+"
_FIGURE = re.compile(
    r"(?P<cur>[$€¥£]\s?|\b(?:US\$|USD|EUR|CNY|RMB)\s?)?"
    rf"(?<![\d.,:\ue000])(?P<a>{_AMOUNT})"
    rf"(?:\s*+(?:-|–|—|~|to\b|至|到)\s*+(?:[$€¥£]\s?)?(?P<b>{_AMOUNT}))?"
    r"(?:\s*+-?\s*+(?:(?:business|working|calendar|extra)\s++)?(?P<unit>"
    r"days?\b|weeks?\b|months?\b|years?\b|hours?\b|hrs?\b|minutes?\b|mins?\b|seconds?\b|"
    r"%|percent\b|per\s?cent\b|usd\b|eur\b|cny\b|rmb\b|yuan\b|dollars?\b|euros?\b|"
    r"[ap]\.?m\b\.?|个工作日|工作日|个小时|小时|分钟|个月|星期|天|日|周|月|年|秒|元|块))?",
    re.IGNORECASE,
)
_THOUSANDS = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?")
_DAY, _HOUR = 86_400.0, 3_600.0
# Durations compare in seconds: a month is 30 days and a year 12 months, so "2 years" and
# "24 months" agree, and so do "12 months" and "1 year".
_UNITS: dict[str, tuple[str, float]] = {
    **dict.fromkeys(("day", "days", "天", "日", "工作日", "个工作日"), ("s", _DAY)),
    **dict.fromkeys(("week", "weeks", "周", "星期"), ("s", 7 * _DAY)),
    **dict.fromkeys(("month", "months", "月", "个月"), ("s", 30 * _DAY)),
    **dict.fromkeys(("year", "years", "年"), ("s", 360 * _DAY)),
    **dict.fromkeys(("hour", "hours", "hr", "hrs", "小时", "个小时"), ("s", _HOUR)),
    **dict.fromkeys(("minute", "minutes", "min", "mins", "分钟"), ("s", 60.0)),
    **dict.fromkeys(("second", "seconds", "秒"), ("s", 1.0)),
    **dict.fromkeys(("%", "percent", "per cent", "percent"), ("%", 1.0)),
    **dict.fromkeys(("$", "usd", "us$", "dollar", "dollars"), ("USD", 1.0)),
    **dict.fromkeys(("€", "eur", "euro", "euros"), ("EUR", 1.0)),
    **dict.fromkeys(("¥", "cny", "rmb", "yuan", "元", "块"), ("CNY", 1.0)),
    "£": ("GBP", 1.0),
}


@dataclass(frozen=True)
class Figure:
    """One figure: a value or a range, in a comparable unit ("" when none was written)."""

    low: float
    high: float
    unit: str  # "s" (a duration), "USD", "EUR", "CNY", "GBP", "%", "time" (minutes after midnight), ""
    text: str
    start: int = 0  # offset in the normalised text

    @property
    def values(self) -> tuple[float, ...]:
        """The value, or both ends of a range."""
        return (self.low,) if self.low == self.high else (self.low, self.high)


def _cjk_number(numeral: str) -> int | None:
    """三十 -> 30, 两 -> 2, 一百五十 -> 150; None for a run that is no number (十十)."""
    total, section, digit = 0, 0, None
    for char in numeral:
        if char in "零〇":
            continue  # 一千零五: a zero only holds a place
        if char in _CJK_DIGITS:
            if digit is not None:
                return None
            digit = _CJK_DIGITS[char]
        elif char == "万":
            total += (section + (digit or 0)) * 10_000
            section, digit = 0, None
        else:
            section += (1 if digit is None else digit) * _CJK_SCALES[char]
            digit = None
    return total + section + (digit or 0)


def _digits_for_words(text: str) -> str:
    """Number words as marked digits: "two days" -> mark + "2 days"."""

    def english(match: re.Match[str]) -> str:
        tens, ones, single = (g.lower() if g else g for g in match.groups())
        value = _WORD_VALUE[tens] + (_WORD_VALUE[ones] if ones else 0) if tens else 0
        return f"{_WORD_MARK}{value or _WORD_VALUE[single]}"

    def chinese(match: re.Match[str]) -> str:
        value = _cjk_number(match.group(2))
        if value is None:
            return match.group()
        if match.group(1):
            return f"{value}%"
        following = spelled[match.end() : match.end() + 6].lstrip()
        return f"{_WORD_MARK}{value}" if following.startswith(_CJK_UNITS) else match.group()

    spelled = _NUMBER_WORD.sub(english, text)
    return _CJK_NUMERAL.sub(chinese, spelled)


def _value(amount: str) -> tuple[float, bool] | None:
    """The number written as ``amount`` and whether it is a time of day (14:00)."""
    amount = amount.lstrip(_WORD_MARK)
    if ":" in amount:
        hours, _, minutes = amount.partition(":")
        if not minutes.isdigit() or ":" in minutes:
            return None
        return int(hours) * 60 + int(minutes), True
    if _THOUSANDS.fullmatch(amount):
        amount = amount.replace(",", "")
    try:
        return float(amount.replace(",", ".")), False
    except ValueError:
        return None  # 1.2.3 is a version or a code, not a figure


def normalised(text: str) -> str:
    """The text figures are read from (and their offsets count in): NFKC, number words as
    marked digits."""
    return _digits_for_words(unicodedata.normalize("NFKC", text))


def figures(text: str, *, ready: bool = False) -> list[Figure]:
    """Every figure in ``text`` (already ``normalised`` when ``ready``), in order."""
    text = text if ready else normalised(text)
    found: list[Figure] = []
    for match in _FIGURE.finditer(text):
        first = _value(match["a"])
        second = _value(match["b"]) if match["b"] else first
        if first is None or second is None:
            continue
        unit_text = (match["unit"] or "").lower().replace(".", "")
        currency = (match["cur"] or "").strip().lower()
        if _WORD_MARK in match.group() and not unit_text:
            continue  # "one" or "两" with nothing counted is no figure
        (low, is_time), (high, _) = first, second
        if high < low and not is_time:  # 555-0142 is a phone number, not a range
            found += [
                Figure(v, v, "", t, match.start())
                for v, t in ((low, match["a"]), (high, match["b"]))
            ]
            continue
        if unit_text in ("am", "pm"):
            low, high = (_clock(v, is_time, unit_text) for v in (low, high))
            is_time = True
        unit, scale = ("time", 1.0) if is_time else _UNITS.get(currency or unit_text, ("", 1.0))
        low, high = sorted((low * scale, high * scale))
        text_of = match.group().strip().replace(_WORD_MARK, "")
        found.append(Figure(low, high, unit, text_of, match.start()))
    return found


def _clock(value: float, in_minutes: bool, half: str) -> float:
    """9 pm or 9:00 pm -> 21:00, as minutes after midnight; 12 am is midnight."""
    hours, minutes = divmod(value, 60) if in_minutes else (value, 0.0)
    return (hours % 12 + (12 if half == "pm" else 0)) * 60 + minutes


class FigureIndex:
    """The figures some text states, for looking others up in it."""

    def __init__(self, stated: list[Figure]) -> None:
        self._values: dict[str, set[float]] = {}
        self._ranges: dict[str, set[tuple[float, float]]] = {}
        for figure in stated:
            for unit in (figure.unit, "*"):
                self._values.setdefault(unit, set()).update(map(_key, figure.values))
                if figure.low != figure.high:
                    self._ranges.setdefault(unit, set()).add((_key(figure.low), _key(figure.high)))

    def supports(self, figure: Figure) -> bool:
        """True when the text states ``figure``, in the same unit: a value as a value or as
        an end of a range ("5 days" from "3-5 days"), a range as that range ("2-3 days" is not
        in "1-2 days, 3-5 days"). A figure with no unit is matched on its values alone."""
        unit = figure.unit or "*"
        if figure.low != figure.high:
            return (_key(figure.low), _key(figure.high)) in self._ranges.get(unit, set())
        return _key(figure.low) in self._values.get(unit, set())


def _key(value: float) -> float:
    return round(value, 6)


def supported_by(figure: Figure, evidence: list[Figure]) -> bool:
    """True when ``evidence`` states ``figure`` (see FigureIndex)."""
    return FigureIndex(evidence).supports(figure)
