"""Escaping and link helpers shared by the page modules.

Every value that comes from a CSV goes through `text` (inside Markdown) or `html` (inside raw
HTML blocks), so markup or links typed into a cell are shown as text and never run.
"""

from __future__ import annotations

import html as _html
import json
import re

from sunshine.links import Datasette  # noqa: F401 - the pages build their links with m.Datasette
from sunshine.settings import SAMPLE_MARK

GENERATED = "<!-- 本页由 sunshine build 根据 data/ 中的数据自动生成，请勿手工编辑。 -->"
SAMPLE_NOTE = '!!! note "示例数据"\n    本站所有人名、电话和事项均为虚构的示例数据，仅用于演示。\n'


def sample_note(inputs: dict) -> str:
    """The 示例数据 notice, on a site built from the sample data only (sunshine.toml site.sample)."""
    return SAMPLE_NOTE if inputs.get("sample") else ""


def sample_mark(inputs: dict) -> str:
    return SAMPLE_MARK if inputs.get("sample") else ""


def sample_badge(inputs: dict, *parts: str) -> str:
    words = (["示例数据"] if inputs.get("sample") else []) + [html(p) for p in parts if p]
    return f'<p class="sample-badge">{" · ".join(words)}</p>\n'


# Python-Markdown's backslash escapes (with the tables extension's pipe); `{` also stops attribute lists.
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|])")
_SPACE = re.compile(r"\s+")


def one_line(value: object) -> str:
    """The value as one line of text: a newline in a cell must not start a Markdown block."""
    return _SPACE.sub(" ", "" if value is None else str(value)).strip()


def html(value: object) -> str:
    """Escape a data value for a raw HTML block."""
    return _html.escape(one_line(value), quote=True)


def text(value: object) -> str:
    """Escape a data value for Markdown text: HTML first, then Markdown's special characters."""
    return _MD_SPECIAL.sub(r"\\\1", _html.escape(one_line(value), quote=False))


def front_matter(
    title: str, *, search: bool = True, description: str = "", boost: float | None = None
) -> str:
    """YAML front matter for a generated page (values are quoted as JSON, a subset of YAML)."""

    # MkDocs renders front-matter titles and descriptions into HTML unescaped: escape them here.
    lines = ["---", f"title: {json.dumps(html(title), ensure_ascii=False)}"]
    if description:
        lines.append(f"description: {json.dumps(html(description), ensure_ascii=False)}")
    if not search:
        lines += ["search:", "  exclude: true"]
    elif boost is not None:  # rank this page's search results above (> 1) or below (< 1) the others
        lines += ["search:", f"  boost: {boost}"]
    lines += ["generated: true", "---", "", GENERATED, ""]
    return "\n".join(lines) + "\n"


def number(value: float | int | None, digits: int = 0) -> str:
    if value is None:
        return "—"
    return f"{value:,.{digits}f}"


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def rate(value: float | None) -> str:
    """A rate already in percent with one decimal (see sunshine.figures)."""
    return "—" if value is None else f"{value:.1f}%"


def yuan(value: float | None) -> str:
    return "—" if value is None else f"{value:,.2f}"


def tel(phone: str) -> str:
    """A tap-to-call link for a public phone number (digits and dashes only, checked by validation)."""
    digits = re.sub(r"[^0-9+]", "", phone or "")
    return f'<a class="tel" href="tel:{digits}">{html(phone)}</a>' if digits else html(phone)


def link(label: str, url: str) -> str:
    """A raw HTML link (URLs here are built by this module, never taken from the data)."""
    return f'<a href="{_html.escape(url, quote=True)}">{label}</a>'


def data_link(url: str, label: str = "在数据库中查看") -> str:
    return f'<a class="data-link" href="{_html.escape(url, quote=True)}">{label}</a>'


def count_link(count: int, url: str, label: str | None = None) -> str:
    """A count linked to exactly the rows it counts; the link checker compares the two."""
    text = label if label is not None else number(count)
    return f'<a class="num" href="{_html.escape(url, quote=True)}" data-count="{int(count)}">{text}</a>'


def figure_row(row: dict, group: str = "全部") -> dict:
    """The columns of the petition_figures query a row of the site's figures must equal."""
    return {
        "group_value": group,
        "petitions": row["count"],
        "median_days": row["median_days"],
        "p90_days": row["p90_days"],
        "followup_rate_percent": row["followup_rate"],
        "satisfaction_rate_percent": row["satisfaction_rate"],
    }


def figure_link(text: str, url: str, expect: dict | None = None) -> str:
    """A figure linked to the query that computes it; `expect` is the query row it must match."""
    check = ""
    if expect is not None:
        payload = json.dumps(expect, ensure_ascii=False, separators=(",", ":"))
        check = " data-expect='" + _html.escape(payload, quote=False).replace("'", "&#x27;") + "'"
    return f'<a class="num" href="{_html.escape(url, quote=True)}"{check}>{text}</a>'


def table_html(headers: list[str], rows: list[list[str]], *, caption: str = "", cls: str = "") -> str:
    """A raw HTML table; cells must already be escaped (use `html`)."""
    head = "".join(f'<th scope="col">{h}</th>' for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    cap = f"<caption>{caption}</caption>" if caption else ""
    # A class keeps Material from wrapping the table in a second, unfocusable scroll box.
    klass = f' class="data {cls}"' if cls else ' class="data"'
    return f'<div class="table-wrap" tabindex="0"><table{klass}>{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


def rel(from_page: str, to_path: str) -> str:
    """Relative URL from a page (docs path, e.g. villages/x.md) to a site file, for raw HTML links.

    Pages are served as directories (use_directory_urls), so villages/x.md lives at villages/x/.
    """
    depth = from_page.count("/") + (0 if from_page.endswith("index.md") else 1)
    return "../" * depth + to_path


def page_url(from_page: str, to_page: str) -> str:
    """Relative URL between two generated Markdown pages, for raw HTML links."""
    target = to_page[:-3]
    target = target[: -len("index")] if target.endswith("index") else target + "/"
    return rel(from_page, target) or "./"
