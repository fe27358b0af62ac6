"""Masks personal data (phone numbers, e-mail addresses, street addresses) before it is shown."""

from __future__ import annotations

import re

# Every pattern here runs in linear time: a pattern that starts with an unbounded run
# (e-mail user, Chinese address) starts only where its run starts (a lookbehind), and the
# phone pattern reads a bounded stretch from each start, so no run is re-read from each of
# its characters.
_EMAIL = re.compile(
    r"(?<![A-Za-z0-9._%+-])([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*+@"
    r"(?:[A-Za-z0-9-]++\.)+[A-Za-z]{2,}+\b"
)
# International or national numbers with at least 8 digits; keep the last 4 for recognition.
# E.164 numbers have at most 15 digits: 42 characters leave room for any separators.
_PHONE = re.compile(r"(?<![\w-])(\+?\d[\d\s().-]{6,40}\d)(?![\w-])")
_STREET = re.compile(
    r"\b\d{1,5}\s+(?:[A-Z][a-z]+\s){1,3}(?:Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|"
    r"Drive|Dr|Way|Court|Ct|Place|Pl)\b\.?|"
    # From the start of a run of Chinese characters, or right after a previous address.
    r"(?:(?<![\u4e00-\u9fff])|(?<=\d号))[\u4e00-\u9fff]{2,}(?:路|街|大道)\d+号"
)


def _mask_phone(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group(1))
    if len(digits) < 8 or re.fullmatch(r"\d{4}-\d{3,}", match.group(1)):
        return match.group(0)
    return "•" * (len(digits) - 4) + digits[-4:]


def mask_personal_data(text: str) -> str:
    """The text with e-mails, phone numbers and street addresses masked."""
    text = _EMAIL.sub(lambda m: f"{m.group(1)}•••@•••", text)
    text = _STREET.sub("[address on file]", text)
    return _PHONE.sub(_mask_phone, text)
