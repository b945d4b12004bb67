"""Personal data in text cells: resident ID numbers and mobile numbers, found and masked.

A found value is only ever shown masked: at most the first 6 and last 4 digits of an ID number
(110105********1234) and the first 3 and last 4 digits of a mobile number (138****5678).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sunshine.normalize import halfwidth

# Digits, optionally separated by single spaces or dashes, as people paste them.
_SEP = r"[ \-\u3000]?"
_ID18 = re.compile(r"(?<![0-9])[1-9](?:" + _SEP + r"[0-9]){16}" + _SEP + r"[0-9Xx](?![0-9])")
_ID15 = re.compile(r"(?<![0-9])[1-9](?:" + _SEP + r"[0-9]){14}(?![0-9Xx])")
_MOBILE = re.compile(r"(?<![0-9])1" + _SEP + r"[3-9](?:" + _SEP + r"[0-9]){9}(?![0-9])")
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
# Cheap test: fewer than 11 digits anywhere means none of the above can match.
_DIGIT = re.compile(r"[0-9０-９]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


# Vectorised pre-tests (Rust regex syntax, no look-around) that match every cell find_personal could
# flag, and few others: 15 digits in a row for ID numbers, 1[3-9] and 9 digits for mobiles, with the
# same separators and full-width digits.
_S = "[ \\-\u3000－]?"
_D = "[0-9０-９]"
ID_PRETEST = "[1-9１-９](?:" + _S + _D + "){14}"
MOBILE_PRETEST = "[1１]" + _S + "[3-9３-９](?:" + _S + _D + "){9}"


@dataclass(frozen=True)
class Finding:
    kind: str  # "id", "id-checksum", "id-old", "mobile"
    masked: str


def id_checksum_ok(digits: str) -> bool:
    """GB 11643-1999 check digit (ISO 7064 MOD 11-2) of an 18-character ID number."""
    total = sum(int(d) * w for d, w in zip(digits[:17], _WEIGHTS, strict=True))
    return _CHECK[total % 11] == digits[17].upper()


def _plausible_birth(digits: str, year_at: int, year_len: int) -> bool:
    year = int(digits[year_at : year_at + year_len])
    month = int(digits[year_at + year_len : year_at + year_len + 2])
    day = int(digits[year_at + year_len + 2 : year_at + year_len + 4])
    ok_year = 1900 <= year <= 2100 if year_len == 4 else True
    return ok_year and 1 <= month <= 12 and 1 <= day <= 31


def mask_id(digits: str) -> str:
    return digits[:6] + "*" * (len(digits) - 10) + digits[-4:]


def mask_mobile(digits: str) -> str:
    return digits[:3] + "****" + digits[-4:]


def mask_digits(digits: str) -> str:
    """A long run of digits of unknown meaning: an ID-length run like an ID, a shorter one like a phone."""
    return mask_id(digits) if len(digits) >= 15 else digits[:3] + "*" * (len(digits) - 7) + digits[-4:]


def _digits(text: str) -> str:
    return re.sub(r"[ \-\u3000]", "", text)


def find_personal(value: str, *, phones_allowed: bool = False) -> list[Finding]:
    """Every ID number and (unless phones are this field's purpose) mobile number in a cell."""
    if len(_DIGIT.findall(value)) < 11:
        return []
    text = halfwidth(value)
    found: list[Finding] = []
    taken: list[tuple[int, int]] = []
    for m in _ID18.finditer(text):
        digits = _digits(m.group())
        if not _plausible_birth(digits, 6, 4):
            continue
        kind = "id" if id_checksum_ok(digits) else "id-checksum"
        found.append(Finding(kind, mask_id(digits)))
        taken.append(m.span())
    for m in _ID15.finditer(text):
        digits = _digits(m.group())
        if any(s <= m.start() < e for s, e in taken) or not _plausible_birth(digits, 6, 2):
            continue
        found.append(Finding("id-old", mask_id(digits)))
        taken.append(m.span())
    if not phones_allowed:
        for m in _MOBILE.finditer(text):
            if any(s <= m.start() < e for s, e in taken):
                continue
            found.append(Finding("mobile", mask_mobile(_digits(m.group()))))
    return found


def mask_text(value: str, *, phones_allowed: bool = False, limit: int = 60) -> str:
    """The cell as it may be shown in a report: personal numbers masked, long text shortened."""
    if len(_DIGIT.findall(value)) >= 11:
        text = halfwidth(value)

        def _id(m: re.Match[str]) -> str:
            return mask_id(_digits(m.group()))

        text = _ID18.sub(_id, text)
        text = _ID15.sub(_id, text)
        if not phones_allowed:
            text = _MOBILE.sub(lambda m: mask_mobile(_digits(m.group())), text)
        # Any long run of digits left (an ID cut short, a bank card): keep its ends only.
        text = re.sub(r"[0-9]{11,}", lambda m: mask_digits(m.group()), text)
        value = text
    value = _CONTROL.sub("�", value)
    if len(value) > limit:
        value = value[: limit - 1] + "…"
    return value
