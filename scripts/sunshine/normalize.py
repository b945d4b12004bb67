"""Staff habits from Excel and WPS, recognised and (where it is safe) undone.

Shared by validation (to say exactly what to type instead) and `sunshine fix` (to type it).
Every function here either returns the one value a person meant, or None when it cannot know.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

# Full-width ASCII (U+FF01..U+FF5E) and the ideographic space, mapped to their half-width forms.
FULLWIDTH = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}
# Chinese punctuation people type inside numbers and dates.
PUNCTUATION = str.maketrans({"。": ".", "，": ",", "、": ",", "－": "-", "—": "-", "／": "/", "．": "."})
# Spaces a cell may start or end with: every character Python's str.strip() removes (ASCII
# whitespace, the ideographic space, no-break and typographic spaces such as U+2003, line and
# paragraph separators) and the byte-order mark, so no later `.strip()` finds one validation let pass.
SPACES = "".join(chr(c) for c in range(0x110000) if chr(c).isspace()) + "\ufeff"

ISO_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
PLAIN_INTEGER = re.compile(r"^-?[0-9]+$")
PLAIN_NUMBER = re.compile(r"^-?[0-9]+(\.[0-9]+)?$")
_YMD = re.compile(r"^([0-9]{4})\s*[-/.年]\s*([0-9]{1,2})\s*[-/.月]\s*([0-9]{1,2})\s*日?$")
_DMY_OR_MDY = re.compile(r"^([0-9]{1,2})[-/.]([0-9]{1,2})[-/.]([0-9]{2,4})$")
_MONTH_DAY = re.compile(r"^([0-9]{1,2})[-/.月]([0-9]{1,2})日?$")
_SERIAL = re.compile(r"^[0-9]{5}(\.0+)?$")
_MONEY = re.compile(r"^[¥￥]?\s*(-?)[¥￥]?\s*([0-9]{1,3}(,[0-9]{3})+|[0-9]+)(\.[0-9]+)?\s*元?$")
# Excel's 1900 date system counts 1900-02-29, which never existed: serial 60. Day 0 is 1899-12-30.
EXCEL_EPOCH = date(1899, 12, 30)
SERIAL_RANGE = (date(1990, 1, 1), date(2100, 1, 1))


def halfwidth(value: str) -> str:
    """Full-width letters, digits and punctuation to their ASCII forms."""
    return value.translate(FULLWIDTH)


def has_fullwidth(value: str) -> bool:
    return any(0xFF01 <= ord(ch) <= 0xFF5E for ch in value)


def strip_spaces(value: str) -> str:
    """Remove surrounding spaces, full-width (U+3000) and no-break spaces included."""
    return value.strip(SPACES)


def excel_serial_to_date(serial: int) -> date | None:
    """Excel (1900 system) serial to a date, only within a plausible range for these records."""
    if serial < 61:  # before 1900-03-01 the serials are off by Excel's fictional leap day
        return None
    d = EXCEL_EPOCH + timedelta(days=serial)
    return d if SERIAL_RANGE[0] <= d < SERIAL_RANGE[1] else None


def _make_date(y: int, m: int, d: int) -> date | None:
    try:
        return date(y, m, d)
    except ValueError:
        return None


def parse_date(value: str, *, serials: bool = True) -> tuple[date | None, str]:
    """The date a person meant, or (None, reason) when the text does not say it unambiguously.

    Accepts 2024-05-03, 2024-5-3, 2024/5/3, 2024.5.3, 2024年5月3日, with full-width digits or
    spaces, and (when `serials`) Excel date serials such as 45415.
    """
    text = halfwidth(strip_spaces(value)).translate(PUNCTUATION).replace(" ", "")
    if m := _YMD.match(text):
        d = _make_date(int(m[1]), int(m[2]), int(m[3]))
        return (d, "") if d else (None, "这一天不存在")
    if serials and _SERIAL.match(text):
        d = excel_serial_to_date(int(float(text)))
        return (d, "Excel 日期序号") if d else (None, "")
    if _DMY_OR_MDY.match(text):
        return None, "看不出是“日/月/年”还是“月/日/年”"
    if _MONTH_DAY.match(text):
        return None, "缺少年份"
    return None, ""


def iso(d: date) -> str:
    return d.isoformat()


def parse_amount(value: str) -> str | None:
    """`¥1,200.00`, `1，200元`, `１２００` → `1200.00` / `1200`; None when it is not plainly an amount."""
    text = halfwidth(strip_spaces(value)).translate(PUNCTUATION).replace(" ", "")
    m = _MONEY.match(text)
    if not m:
        return None
    out = f"{m[1]}{m[2].replace(',', '')}{m[4] or ''}"
    return out if PLAIN_NUMBER.match(out) else None


def parse_integer(value: str) -> str | None:
    """`１２０`, `1,200`, ` 120 ` → `120`; None when it is not plainly a whole number."""
    text = halfwidth(strip_spaces(value)).translate(PUNCTUATION).replace(" ", "")
    if re.match(r"^-?([0-9]{1,3}(,[0-9]{3})+|[0-9]+)$", text):
        return text.replace(",", "")
    return None


def decimals(value: str) -> int:
    """Number of digits after the decimal point of a plain number."""
    try:
        exponent = Decimal(value).as_tuple().exponent
    except InvalidOperation:
        return 0
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0
