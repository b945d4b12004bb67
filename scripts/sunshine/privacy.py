"""Personal data: resident ID numbers, mobile numbers, bank card numbers and e-mail addresses, found and masked.

Everything that leaves the program goes through `mask` (text) or `mask_row` / `mask_frame` (tables
of a Table Schema), so a value is only ever shown masked: at most the first 6 and last 4 digits of an
ID number (110105********1234) or a bank card, the first 3 and last 4 digits of a mobile number
(138****5678), the first character and the domain of an e-mail address (z***@example.com).

Numbers are recognised however they are written: full-width digits, Chinese numerals (一三九…〇,
零, 幺, 壹贰叁…), +86 / 0086 in front of a mobile number, and digits split by spaces, no-break or
zero-width spaces, dashes, dots, line breaks or other invisible characters. Checksums keep ordinary
numbers from being flagged: GB 11643 (ISO 7064 MOD 11-2) for ID numbers, Luhn for bank cards.
"""

from __future__ import annotations

import contextlib
import functools
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import polars as pl

from sunshine import normalize

# Bump when recognition changes: outputs kept from earlier builds (history.db) are then rebuilt.
VERSION = "4"

# ---------------------------------------------------------------- the characters of a disguise

_CN_DIGITS = {
    "〇": "0", "零": "0", "○": "0", "洞": "0",
    "一": "1", "幺": "1", "壹": "1",
    "二": "2", "两": "2", "贰": "2",
    "三": "3", "叁": "3",
    "四": "4", "肆": "4",
    "五": "5", "伍": "5",
    "六": "6", "陆": "6",
    "七": "7", "柒": "7", "拐": "7",
    "八": "8", "捌": "8",
    "九": "9", "玖": "9", "勾": "9",
}  # fmt: skip
# Characters people (or a careless paste) put between the digits of one number: spaces of every
# width, zero-width and other invisible format characters, bidi controls, control characters,
# dashes, dots and middle dots. As code point ranges, rendered for Python and for Rust's regex.
SEPARATOR_RANGES: tuple[tuple[int, int], ...] = (
    (0x00, 0x1F),  # control characters, tab and line breaks
    (0x20, 0x20),
    (0x2D, 0x2F),  # - . /
    (0x5C, 0x5C),  # backslash
    (0x5F, 0x5F),  # _
    (0x7F, 0x9F),  # DEL and C1 controls
    (0xA0, 0xA0),
    (0xAD, 0xAD),  # soft hyphen
    (0xB7, 0xB7),  # middle dot
    (0x300, 0x36F),  # combining accents put on each digit
    (0x61C, 0x61C),
    (0x1680, 0x1680),
    (0x180E, 0x180E),
    (0x2000, 0x200F),  # spaces, zero-width characters, LRM/RLM
    (0x2010, 0x2015),  # dashes
    (0x2024, 0x2027),  # dot leaders, hyphenation point
    (0x2028, 0x202F),  # line/paragraph separators, bidi embeddings, narrow no-break space
    (0x205F, 0x206F),  # word joiner, invisible operators, bidi isolates
    (0x20D0, 0x20FF),  # combining marks for symbols: the keycap of 1️⃣
    (0x2212, 0x2212),  # minus sign
    (0x3000, 0x3000),
    (0x30FB, 0x30FB),  # katakana middle dot
    (0xFE00, 0xFE0F),  # variation selectors (emoji digits)
    (0xFE58, 0xFE58),
    (0xFE63, 0xFE63),
    (0xFEFF, 0xFEFF),
    (0xFF0D, 0xFF0F),  # full-width - . /
    (0xFF3F, 0xFF3F),
    (0xE0100, 0xE01EF),  # variation selectors supplement
)
_SEP_CHARS = frozenset(chr(c) for lo, hi in SEPARATOR_RANGES for c in range(lo, hi + 1))
_DOTS = frozenset(".\uff0e")
_GAP = "\x1f"  # every separator, once normalised
_FULLWIDTH = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)}


def _class(ranges: Iterable[tuple[int, int]], *, rust: bool) -> str:
    def one(c: int) -> str:
        if rust:
            return f"\\x{{{c:X}}}"
        if c > 0xFFFF:
            return f"\\U{c:08x}"
        return f"\\x{c:02x}" if c < 0x100 else f"\\u{c:04x}"

    return "[" + "".join(one(lo) if lo == hi else f"{one(lo)}-{one(hi)}" for lo, hi in ranges) + "]"


# Digits of other scripts and styles that read as 0-9: Arabic-Indic, mathematical bold, circled ①,
# superscript ¹, dingbat ➊ ... (one character each, so positions are kept).
_OTHER_DIGITS = {
    chr(c): str(unicodedata.digit(chr(c)))
    for c in range(0x80, 0x20000)
    if unicodedata.digit(chr(c), None) is not None and not 0xFF10 <= c <= 0xFF19
}


def _ranges(code_points: Iterable[int]) -> tuple[tuple[int, int], ...]:
    out: list[list[int]] = []
    for c in sorted(code_points):
        if out and out[-1][1] == c - 1:
            out[-1][1] = c
        else:
            out.append([c, c])
    return tuple((lo, hi) for lo, hi in out)


_DIGITISH_RANGES = _ranges(
    [
        *range(0x30, 0x3A),
        *range(0xFF10, 0xFF1A),
        *(ord(c) for c in _CN_DIGITS),
        *(ord(c) for c in _OTHER_DIGITS),
    ]
)
# Vectorised pre-tests (Rust regex syntax, no look-around) that match every cell `find_personal` could
# flag, and few others: 15 (ID numbers, bank cards) or 11 (mobiles) digits in any of their disguises.
_RS = _class(SEPARATOR_RANGES, rust=True) + "{0,3}"
_RD = _class(_DIGITISH_RANGES, rust=True)
ID_PRETEST = _RD + "(?:" + _RS + _RD + "){14}"
MOBILE_PRETEST = _RD + "(?:" + _RS + _RD + "){10}"
EMAIL_PRETEST = "[@＠]"
_PY_SEP = _class(SEPARATOR_RANGES, rust=False)
_PY_DIGIT = _class(_DIGITISH_RANGES, rust=False)
_PRE_ANY = re.compile(f"{_PY_DIGIT}(?:{_PY_SEP}{{0,3}}{_PY_DIGIT}){{10}}|[@＠]")
# What a code can hide (in_code): an ID number or bank card (15 digits or more) or an e-mail address.
_PRE_NEVER_A_CODE = re.compile(f"{_PY_DIGIT}(?:{_PY_SEP}{{0,3}}{_PY_DIGIT}){{14}}|[@＠]")


def normalise(text: str) -> str:
    """The text with every disguise undone, character for character (same length, same positions).

    Full-width forms become ASCII; Chinese numerals become digits where at least three stand together
    in a long run of digits; every separator becomes one gap character. A dot followed by one or two
    digits only is a decimal point and stays.
    """
    chars = list(text.translate(_FULLWIDTH))
    if not text.isascii():
        chars = [_OTHER_DIGITS.get(ch, ch) for ch in chars]
    n = len(chars)
    for i, ch in enumerate(chars):
        if ch in _SEP_CHARS:
            if ch in _DOTS or ch == ".":
                j = i + 1
                while j < n and chars[j].isascii() and chars[j].isdigit():
                    j += 1
                if 1 <= j - i - 1 <= 2 and i > 0 and chars[i - 1].isascii() and chars[i - 1].isdigit():
                    continue  # 12800.50: a decimal point
            chars[i] = _GAP
    if any(ch in _CN_DIGITS for ch in chars):
        _chinese_numerals(chars)
    return "".join(chars)


def _chinese_numerals(chars: list[str]) -> None:
    """Chinese numerals to digits inside runs of digits that are long enough to be a personal number."""
    i, n = 0, len(chars)
    while i < n:
        if not (chars[i] in _CN_DIGITS or chars[i].isdigit()):
            i += 1
            continue
        j, count = i, 0
        while j < n and (
            chars[j] in _CN_DIGITS or chars[j] == _GAP or (chars[j].isascii() and chars[j].isdigit())
        ):
            count += chars[j] != _GAP
            j += 1
        if count >= 11:
            k = i
            # Convert groups of three or more numerals, and every numeral of a run where numerals stand
            # between digits (1一0一0五...), but not a lone 一 before or after a number.
            inner = [x for x in range(i + 1, j - 1) if chars[x] in _CN_DIGITS]
            mixed = any(chars[x - 1].isdigit() and chars[x + 1].isdigit() for x in inner)
            while k < j:
                if chars[k] in _CN_DIGITS:
                    m = k
                    group = 0
                    while m < j and (chars[m] in _CN_DIGITS or chars[m] == _GAP):
                        group += chars[m] != _GAP
                        m += 1
                    if group >= 3 or mixed or (k > i and m < j):
                        for x in range(k, m):
                            if chars[x] in _CN_DIGITS:
                                chars[x] = _CN_DIGITS[chars[x]]
                    k = m
                else:
                    k += 1
        i = max(j, i + 1)


# ---------------------------------------------------------------- recognising

_S = _GAP + "{0,3}"
_ID18 = re.compile(r"(?<![0-9])[1-9](?:" + _S + r"[0-9]){16}" + _S + r"[0-9Xx](?![0-9Xx])")
_ID15 = re.compile(r"(?<![0-9])[1-9](?:" + _S + r"[0-9]){14}(?![0-9Xx])")
_CARD = re.compile(r"(?<![0-9])[1-9](?:" + _S + r"[0-9]){15,18}(?![0-9])")
_MOBILE = re.compile(
    r"(?:(?<![0-9])(?:(?:\+|00)" + _S + r")?86" + _S + r"(?:\(0\)|\)|\])?" + _S + r"|(?<![0-9]))"
    r"(1" + _S + r"[3-9](?:" + _S + r"[0-9]){9})(?![0-9])"
)
# Matched on the text with full-width forms made ASCII only (dots and dashes are part of an address).
_EMAIL = re.compile(r"[A-Za-z0-9][A-Za-z0-9._%+\-]*\s?@\s?[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}")
_LONG_RUN = re.compile(r"[0-9]{11,}")
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
_DAYS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)

KINDS = ("id", "id-checksum", "id-old", "mobile", "bank-card", "email")


# What each kind of finding is called where it is refused (a cell, a setting, a rule): code,
# message ({masked}: the number as it may be shown) and hint.
REFUSALS: dict[str, tuple[str, str, str]] = {
    "id": (
        "personal-id",
        "含有身份证号 {masked}，公开数据不得包含个人身份信息",
        "请删除身份证号，或只保留与事项有关的文字；如确需说明，写“身份证号已隐去”。",
    ),
    "id-checksum": (
        "personal-id-like",
        "含有形似身份证号的 18 位号码 {masked}（校验位不符，可能输错）",
        "公开数据不得包含身份证号，请删除这串号码。",
    ),
    "id-old": (
        "personal-id",
        "含有 15 位旧身份证号 {masked}，公开数据不得包含个人身份信息",
        "请删除这串号码。",
    ),
    "mobile": (
        "personal-phone",
        "含有手机号 {masked}，公开数据不得包含个人联系方式",
        "请删除手机号；需要公开的工作电话只填在“工作电话”“办公电话”等电话列中。",
    ),
    "bank-card": (
        "personal-bank-card",
        "含有银行卡号 {masked}，公开数据不得包含个人账户信息",
        "请删除银行卡号；补贴发放情况只写“已通过一卡通发放到户”等文字。",
    ),
    "email": (
        "personal-email",
        "含有电子邮箱 {masked}，公开数据不得包含个人联系方式",
        "请删除电子邮箱地址。",
    ),
}


@dataclass(frozen=True)
class Finding:
    kind: str  # one of KINDS
    masked: str
    start: int = 0  # span in the original text
    end: int = 0


def id_checksum_ok(digits: str) -> bool:
    """GB 11643-1999 check digit (ISO 7064 MOD 11-2) of an 18-character ID number."""
    total = sum(int(d) * w for d, w in zip(digits[:17], _WEIGHTS, strict=True))
    return _CHECK[total % 11] == digits[17].upper()


def luhn_ok(digits: str) -> bool:
    """The Luhn check digit that bank card numbers carry."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _plausible_birth(digits: str, year_at: int, year_len: int) -> bool:
    year = int(digits[year_at : year_at + year_len])
    month = int(digits[year_at + year_len : year_at + year_len + 2])
    day = int(digits[year_at + year_len + 2 : year_at + year_len + 4])
    ok_year = 1900 <= year <= 2100 if year_len == 4 else True
    return ok_year and 1 <= month <= 12 and 1 <= day <= _DAYS[month - 1]


def mask_id(digits: str) -> str:
    return digits[:6] + "*" * (len(digits) - 10) + digits[-4:]


def mask_mobile(digits: str) -> str:
    return digits[:3] + "****" + digits[-4:]


def mask_digits(digits: str) -> str:
    """A long run of digits of unknown meaning: an ID-length run like an ID, a shorter one like a phone."""
    return mask_id(digits) if len(digits) >= 15 else digits[:3] + "*" * (len(digits) - 7) + digits[-4:]


def mask_email(address: str) -> str:
    local, _, domain = address.partition("@")
    return f"{local[:1]}***@{domain}"


def _digits(text: str) -> str:
    return text.replace(_GAP, "").upper()


def _in_groups(matched: str) -> list[int]:
    return [len(g) for g in matched.split(_GAP) if g]


def _in_fours(matched: str) -> bool:
    """A card number is typed whole or in groups of four; other groupings are other numbers."""
    groups = _in_groups(matched)
    return len(groups) == 1 or all(n == 4 for n in groups[:-1])


def _free(taken: list[tuple[int, int]], start: int, end: int) -> bool:
    return all(end <= s or start >= e for s, e in taken)


def _findings(value: str, *, phones_allowed: bool) -> list[Finding]:
    if not _PRE_ANY.search(value):
        return []
    text = normalise(value)
    found: list[Finding] = []
    taken: list[tuple[int, int]] = []

    def add(kind: str, masked: str, span: tuple[int, int]) -> None:
        found.append(Finding(kind, masked, *span))
        taken.append(span)

    for m in _ID18.finditer(text):
        digits = _digits(m.group())
        if _plausible_birth(digits, 6, 4):
            add("id" if id_checksum_ok(digits) else "id-checksum", mask_id(digits), m.span())
    for m in _CARD.finditer(text):
        digits = _digits(m.group())
        if _free(taken, *m.span()) and luhn_ok(digits) and _in_fours(m.group()):
            add("bank-card", mask_id(digits), m.span())
    for m in _ID15.finditer(text):
        digits = _digits(m.group())
        code = "-" in value[m.start() : m.end()] and _in_groups(m.group()) == [12, 3]
        if _free(taken, *m.span()) and _plausible_birth(digits, 6, 2) and not code:
            add("id-old", mask_id(digits), m.span())
    for m in _MOBILE.finditer(text):
        if _free(taken, *m.span()):
            digits = _digits(m.group(1))
            if not phones_allowed:
                add("mobile", mask_mobile(digits), m.span())
            else:
                taken.append(m.span())  # a published work phone: not part of anything else
    for m in _EMAIL.finditer(value.translate(_FULLWIDTH)):
        if _free(taken, *m.span()):
            add("email", mask_email(re.sub(r"\s", "", m.group())), m.span())
    found.sort(key=lambda f: f.start)
    return found


def find_personal(value: str, *, phones_allowed: bool = False) -> list[Finding]:
    """Every ID number, bank card, e-mail address and (unless phones are this field's purpose)
    mobile number in a cell, in the order they stand."""
    return _findings(value, phones_allowed=phones_allowed)


def mask(value: str, *, phones_allowed: bool = False, runs: bool = False) -> str:
    """The text as it may leave the program: every personal number masked, everything else as typed.

    With `runs`, any other run of eleven or more digits (an ID cut short, a long account number)
    keeps its ends only: for text that never passed validation (reports, old versions, diffs).
    """
    if not value or not _PRE_ANY.search(value):
        return value
    found = _findings(value, phones_allowed=phones_allowed)
    out: list[str] = []
    at = 0
    for f in found:
        out.append(value[at : f.start])
        out.append(f.masked)
        at = f.end
    out.append(value[at:])
    text = "".join(out)
    if not runs:
        return text
    plain = normalise(text)
    runs = [m for m in _LONG_RUN.finditer(plain) if "*" not in text[max(0, m.start() - 1) : m.end() + 1]]
    if not runs:
        return text
    kept = _phone_spans(plain) if phones_allowed else []
    out, at = [], 0
    for m in runs:
        if not _free(kept, *m.span()):
            continue
        out.append(text[at : m.start()])
        out.append(mask_digits(_digits(m.group())))
        at = m.end()
    out.append(text[at:])
    return "".join(out)


def _phone_spans(plain: str) -> list[tuple[int, int]]:
    return [m.span() for m in _MOBILE.finditer(plain)] + [
        m.span() for m in re.finditer(r"(?<![0-9])0[0-9]{2,3}-?[0-9]{7,8}(?![0-9])", plain.replace(_GAP, "-"))
    ]


_CONTROL = re.compile(
    r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u00ad\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]"
)


def mask_text(value: str, *, phones_allowed: bool = False, limit: int = 60) -> str:
    """The cell as it may be shown in a report: personal numbers masked, control characters, bidi
    controls and zero-width characters made visible (�), long text shortened."""
    value = _CONTROL.sub("�", mask(value, phones_allowed=phones_allowed, runs=True))
    if len(value) > limit:
        value = value[: limit - 1] + "…"
    return value


# ---------------------------------------------------------------- rows and tables of a Table Schema

# Values a code format must not admit for its cells to be left unmasked and unchecked.
_PROBES = (
    "110105198001011238",
    "110105800101123",
    "13812345678",
    "6222021234567890128",
    "a@b.cn",
    "身份证110105198001011238",
    "电话13812345678",
)


def _pattern(field: Mapping[str, Any]) -> re.Pattern[str] | None:
    constraints = field.get("constraints")
    pattern = constraints.get("pattern") if isinstance(constraints, Mapping) else None
    if not isinstance(pattern, str):
        return None
    try:
        return re.compile(f"^(?:{pattern})$")
    except re.error:
        return None


# What a code format cannot excuse: a pattern is part of the contract a pull request can change, and
# one can be written to fit ID numbers of one region only (3201[0-9]{14}) yet none of the probes.
_NEVER_A_CODE = frozenset({"id", "bank-card", "email"})


def in_code(value: str) -> list[Finding]:
    """Personal numbers in a cell that matches its column's code format: those with a checksum only."""
    if not _PRE_NEVER_A_CODE.search(value):  # a village code or case number: too short for any of them
        return []
    return [f for f in find_personal(value, phones_allowed=True) if f.kind in _NEVER_A_CODE]


def is_code(value: str, pattern: re.Pattern[str] | None) -> bool:
    """Whether a cell is a code of its column's strict format (code_pattern), as `sunshine fix` would
    write it: a village code or grid number is public, and a message shows it as it is."""
    plain = normalize.halfwidth(normalize.strip_spaces(value))
    return pattern is not None and bool(pattern.match(plain)) and not in_code(value)


def code_pattern(field: Mapping[str, Any]) -> re.Pattern[str] | None:
    """The field's pattern when it is a strict code format (a village code, a grid number) that no
    personal number can take; a cell matching it is a code, even if its digits look like a phone."""
    compiled = _pattern(field)
    return None if compiled is None or any(compiled.match(p) for p in _PROBES) else compiled


@dataclass(frozen=True)
class Columns:
    """What masking needs to know of a table's columns: which publish phones, which hold codes."""

    phones: frozenset[str] = frozenset()
    codes: Mapping[str, re.Pattern[str]] | None = None
    formats: Mapping[str, re.Pattern[str]] | None = None  # patterns of the phone columns
    enums: Mapping[str, list[str]] | None = None  # enumerations none of whose values is personal

    @classmethod
    def of(cls, fields: Iterable[Mapping[str, Any]]) -> Columns:
        fields = list(fields)
        codes = {f["name"]: p for f in fields if (p := code_pattern(f))}
        formats = {f["name"]: p for f in fields if f.get("x-phone") and (p := _pattern(f))}
        enums = {}
        for f in fields:
            values = (
                (f.get("constraints") or {}).get("enum")
                if isinstance(f.get("constraints"), Mapping)
                else None
            )
            if isinstance(values, list) and not any(find_personal(str(v)) for v in values):
                enums[f["name"]] = [str(v) for v in values]
        return cls(frozenset(f["name"] for f in fields if f.get("x-phone")), codes, formats, enums)

    def is_code(self, name: str, value: str) -> bool:
        pattern = (self.codes or {}).get(name)
        return bool(pattern and pattern.match(value))

    def phone_allowed(self, name: str, value: str) -> bool:
        """A phone column publishes a phone written as its format says; anything else there is masked."""
        if name not in self.phones:
            return False
        pattern = (self.formats or {}).get(name)
        return pattern is None or bool(pattern.match(value))


def mask_cell(columns: Columns, name: str, value: Any, *, runs: bool = True) -> Any:
    """One cell of a table as it may leave the program, whatever its column or type.

    With `runs` (text that never passed validation: old versions, diffs) control, bidi and zero-width
    characters are also made visible (�), so an old value cannot show other than it is.
    """
    if not isinstance(value, str) or not value:
        return value
    if columns.is_code(name, value) and not in_code(value):
        return value
    masked = mask(value, phones_allowed=columns.phone_allowed(name, value), runs=runs)
    return _CONTROL.sub("�", masked) if runs else masked


def mask_row(row: Mapping[str, Any], columns: Columns = Columns(), *, runs: bool = True) -> dict[str, Any]:
    """Every cell of a row masked, whatever its column or type; column names too (a header can leak)."""
    return {_masked_name(str(k), runs): mask_cell(columns, k, v, runs=runs) for k, v in row.items()}


class RowMasker:
    """`mask_row` for many rows of one table, remembering the cells it has seen: codes, dates and
    categories repeat in every row, so most cells are masked once (at most `limit` remembered)."""

    def __init__(self, columns: Columns, *, runs: bool = True, limit: int = 200_000) -> None:
        self.columns, self.runs, self.limit = columns, runs, limit
        self.seen: dict[tuple[str, str], Any] = {}

    def __call__(self, row: Mapping[str, Any]) -> dict[str, Any]:
        out = {}
        seen = self.seen
        for k, v in row.items():
            name = str(k)
            try:
                masked = seen[(name, v)]
            except (KeyError, TypeError):  # not seen yet, or a value that is not text
                masked = mask_cell(self.columns, k, v, runs=self.runs)
                if isinstance(v, str) and len(seen) < self.limit:
                    seen[(name, v)] = masked
            out[_masked_name(name, self.runs)] = masked
        return out

    def column(self, name: str, cells: list[str], series: pl.Series | None = None) -> list[str]:
        """Every cell of one column as `__call__` masks it: one vectorised pre-test finds the cells
        masking could change (`could_change`), and only those are masked one by one."""
        found = could_change(self.columns, name, cells, series)
        if not found:
            return cells
        out = list(cells)
        seen = self.seen
        for i in found:
            v = cells[i]
            try:
                out[i] = seen[(name, v)]
            except KeyError:
                out[i] = masked = mask_cell(self.columns, name, v, runs=self.runs)
                if len(seen) < self.limit:
                    seen[(name, v)] = masked
        return out


# What `mask_cell` looks at, as Rust's regex reads it (the same classes, code point by code point).
_RUST_SUSPECT = f"{MOBILE_PRETEST}|{EMAIL_PRETEST}"
_RUST_NEVER_A_CODE = f"{ID_PRETEST}|{EMAIL_PRETEST}"
# A code format both regex engines read alike, token by token: ASCII letters, digits, commas and
# dashes, classes of those, groups, alternatives, counts and anchors (no escapes, flags or nesting).
_PLAIN_REGEX = re.compile(
    r"(?:\[\^?[0-9A-Za-z-]+\]|[0-9A-Za-z,-]|\((?:\?:)?|\)|\||[?*+]|\{[0-9]+(?:,[0-9]*)?\}|\^|\$)*"
)


def could_change(columns: Columns, name: str, cells: list[str], series: pl.Series | None = None) -> list[int]:
    """Positions of the cells of a column that `mask_cell` (with runs) might change: every one it
    changes, and few others. A cell without eleven digits in any disguise, an @ or a control
    character is left as it is, and so is a code in its column's plain format too short to hide
    an ID number or card."""
    try:
        series = pl.Series(cells, dtype=pl.String) if series is None else series
    except (TypeError, ValueError, pl.exceptions.PolarsError):  # not text, or not valid Unicode
        return [i for i, v in enumerate(cells) if isinstance(v, str) and v]
    hit = series.str.contains(_RUST_SUSPECT) | series.str.contains(_CONTROL.pattern)
    code = (columns.codes or {}).get(name)
    if code is not None and _PLAIN_REGEX.fullmatch(code.pattern):
        # A format Rust's regex does not take leaves each suspect cell to be looked at.
        with contextlib.suppress(pl.exceptions.PolarsError):
            hit = hit & ~(series.str.contains(code.pattern) & ~series.str.contains(_RUST_NEVER_A_CODE))
    return hit.fill_null(False).arg_true().to_list()


@functools.lru_cache(maxsize=4096)
def _masked_name(name: str, runs: bool) -> str:
    """A column name masked: the same few names come with every row of a table."""
    return mask(name, runs=runs)


def mask_frame(frame: pl.DataFrame, columns: Columns = Columns()) -> pl.DataFrame:
    """Every text cell of a table masked (digit runs left alone: the data passed validation).

    One vectorised pre-test of all text columns at once (phone columns too: a phone not written in
    the column's format is masked); only the cells it finds go through Python.
    """
    texts = [name for name in frame.columns if frame[name].dtype == pl.String]
    if not texts:
        return frame
    pretest = f"{MOBILE_PRETEST}|{EMAIL_PRETEST}"
    codes = {name: p for name, p in (columns.codes or {}).items() if _rust_regex(p.pattern)}

    def suspect(name: str) -> pl.Expr:
        if name in (columns.enums or {}):  # a value of the enumeration is not personal; others are looked at
            return (~pl.col(name).is_in((columns.enums or {})[name])).fill_null(False)
        hit = pl.col(name).str.contains(pretest)
        if name in codes:  # a cell in the column's code format (a village code) is a code
            hit = hit & ~pl.col(name).str.contains(codes[name].pattern)
        return hit.fill_null(False)

    hits = frame.select(suspect(name) for name in texts)
    found = [name for name, n in zip(texts, hits.sum().row(0), strict=True) if n]
    if not found:
        return frame
    replaced = []
    for name in found:
        idx = hits[name].arg_true()
        values = [mask_cell(columns, name, v, runs=False) for v in frame[name].gather(idx).to_list()]
        replaced.append(frame[name].scatter(idx, pl.Series(values, dtype=pl.String)))
    return frame.with_columns(replaced)


def _rust_regex(pattern: str) -> bool:
    """Whether polars (Rust's regex) reads a pattern written for Python's re."""
    try:
        pl.Series([""]).str.contains(pattern)
    except pl.exceptions.PolarsError:
        return False
    return True


def masked_key(value: str) -> bool:
    """Whether a record key shown in a list is a masked personal number."""
    return bool(re.search(r"[0-9]\*{4,}[0-9Xx]|\*\*\*@", value or ""))
