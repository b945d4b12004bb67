"""Data text as it leaves the database: personal numbers masked, Markdown made inert, links built.

Shared by `sunshine diff`, build/history.db and the 变更记录 pages.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from sunshine.normalize import halfwidth
from sunshine.package import Table
from sunshine.privacy import mask_text


def mask_value(value: str, *, phones_allowed: bool = False, limit: int | None = None) -> str:
    """A cell as it may be published: 身份证号 and mobile numbers masked the way the validator shows them.

    The validator reads the cell in half-width form; characters it did not mask are kept as typed
    (a full-width comma stays full-width), so masking never shows up as a change of its own.
    """
    if not value:
        return value
    masked = mask_text(value, phones_allowed=phones_allowed, limit=len(value) + 1)
    if masked != value:
        plain = halfwidth(value)
        if len(masked) == len(plain) == len(value):
            masked = "".join(m if m != h else o for o, h, m in zip(value, plain, masked, strict=True))
    if limit is not None and len(masked) > limit:
        masked = masked[: limit - 1] + "…"
    return masked


def phone_fields(table: Table) -> set[str]:
    """Fields whose purpose is a published work phone (x-phone in the Table Schema)."""
    return {f["name"] for f in table.fields if f.get("x-phone")}


def free_text_fields(table: Table) -> set[str]:
    """Text fields a person types freely; codes, dates, enums and numbers cannot hold personal data."""
    return {
        f["name"]
        for f in table.fields
        if f.get("type", "string") == "string" and not {"pattern", "enum"} & set(f.get("constraints", {}))
    }


def mask_row(table: Table, row: dict[str, str]) -> dict[str, str]:
    """Free-text cells masked; cells of columns the schema does not know are treated as free text."""
    known = set(table.field_names) - free_text_fields(table)
    phones = phone_fields(table)
    return {k: v if k in known else mask_value(v, phones_allowed=k in phones) for k, v in row.items()}


_MARKDOWN_ENTITIES = {ch: f"&#{ord(ch)};" for ch in "\\`*_{}[]()<>#|~"}


def escape_markdown(value: object) -> str:
    """Data text made inert in Markdown and HTML: no links, markup, tags or table breaks; one line."""
    text = str(value if value is not None else "").replace("&", "&amp;")
    text = "".join(_MARKDOWN_ENTITIES.get(ch, ch) for ch in text)
    return " ".join(text.split())


md = escape_markdown


def record_label(table: Table, row: dict[str, Any]) -> str:
    """What a row is about, from the field its Table Schema names in x-label."""
    return str(row.get(table.label_field) or "")


def shown_value(value: Any) -> str:
    """An old or new value in a list of changes; an empty cell says so."""
    return "（空）" if value in (None, "") else str(value)


def row_url(datasette_url: str, table: str, record_id: str) -> str:
    from datasette.utils import tilde_encode

    key = ",".join(tilde_encode(part) for part in record_id.split(" / "))
    return f"{datasette_url.rstrip('/')}/sunshine/{table}/{key}"


def query_url(datasette_url: str, name: str, **params: str) -> str:
    url = f"{datasette_url.rstrip('/')}/history/{name}"
    return f"{url}?{urlencode(params)}" if params else url
