"""Output-side safety for text cells that leave the portal as spreadsheets."""

from __future__ import annotations

# A cell that starts with one of these is run as a formula by Excel, WPS or LibreOffice.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise_formula(value: object) -> object:
    """Prefix a text cell that a spreadsheet would run as a formula with an apostrophe.

    Numbers are left alone, so a negative amount stays a number.
    """
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value
