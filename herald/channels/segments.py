"""SMS segment counting (3GPP TS 23.038): what an SMS costs, before any provider says so.

GSM-7 text fits 160 characters in one segment, 153 per segment when split; characters of
the extension table (``€ [ ] { } ^ ~ | \\``) take two. Anything outside the GSM-7 alphabet
(``ê``, ``ç``, ``ô``, emoji...) switches the whole message to UCS-2: 70 UTF-16 code units
in one segment, 67 per segment when split (an emoji outside the BMP takes two).
"""

from __future__ import annotations

from dataclasses import dataclass

GSM7_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = "^{}\\[~]|€\f"
_BASIC = frozenset(GSM7_BASIC)
_EXTENSION = frozenset(GSM7_EXTENSION)


@dataclass(frozen=True)
class SmsCount:
    encoding: str  # "GSM-7" or "UCS-2"
    units: int  # septets (GSM-7) or UTF-16 code units (UCS-2)
    segments: int


def count_sms(text: str) -> SmsCount:
    if all(c in _BASIC or c in _EXTENSION for c in text):
        units = sum(2 if c in _EXTENSION else 1 for c in text)
        single, multi, encoding = 160, 153, "GSM-7"
    else:
        units = len(text.encode("utf-16-le")) // 2
        single, multi, encoding = 70, 67, "UCS-2"
    segments = 1 if units <= single else -(-units // multi)
    return SmsCount(encoding, units, segments)
