"""Output-side safety of text: formulas neutralised for spreadsheets, Markdown and HTML made inert.

(Personal numbers are masked by sunshine.privacy; this module only escapes.)
"""

from __future__ import annotations

import html
import re

# A cell that starts with one of these is run as a formula by Excel, WPS or LibreOffice.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise_formula(value: object) -> object:
    """Prefix a text cell that a spreadsheet would run as a formula with an apostrophe.

    Numbers are left alone, so a negative amount stays a number.
    """
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


_MARKDOWN_ENTITIES = str.maketrans({ch: f"&#{ord(ch)};" for ch in "\\`*_{}[]()<>#|~"})


def escape_markdown(value: object) -> str:
    """Data text made inert in Markdown and HTML: no links, markup, tags or table breaks; one line."""
    text = str(value if value is not None else "").replace("&", "&amp;")
    return " ".join(text.translate(_MARKDOWN_ENTITIES).split())


md = escape_markdown

# A tag, closed or not: "<" and a letter, "/", "!" or "?" up to the next ">" (or the end).
_TAG = re.compile(r"<\s*[a-zA-Z/!?][^>]*>?")


def plain_text(value: object) -> str:
    """Data text for a place that renders HTML from text (an RSS description): tags removed, the rest
    escaped, one line. The result is HTML that shows exactly the text, whatever a reader does with it."""
    text = "" if value is None else str(value)
    text = html.unescape(text)  # "&lt;img" typed as text must not become a tag either
    text = _TAG.sub(" ", text)
    return html.escape(" ".join(text.split()), quote=True)
