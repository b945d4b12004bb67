"""`sunshine docs`: the parts of README.md and CONTRIBUTING.md written from code, kept in step with it.

Each generated part sits between two marker comments; everything else in the files is hand-written.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sunshine import settings
from sunshine.validate import codes


def settings_table() -> str:
    rows = ["| 设置 | 含义 | 默认值 |", "| --- | --- | --- |"]
    for s in settings.SETTINGS:
        default = f"`{settings.toml_value(s.default)}`" if s.default != "" else "（空）"
        rows.append(f"| `{s.name}` | {s.help} | {default} |")
    return "\n".join(rows) + "\n"


# (file, part name) -> the function that writes that part.
GENERATED: dict[tuple[str, str], Callable[[], str]] = {
    ("README.md", "settings"): settings_table,
    ("CONTRIBUTING.md", "codes"): codes.markdown_table,
}


class MarkersMissing(Exception):
    """A documentation file lacks the marker comments of a generated part."""


def markers(part: str) -> tuple[str, str]:
    return (
        f"<!-- 以下由 sunshine docs 生成（{part}），请勿手改 -->",
        f"<!-- 以上由 sunshine docs 生成（{part}） -->",
    )


def render(text: str, part: str, body: str) -> str:
    begin, end = markers(part)
    start, stop = text.find(begin), text.find(end)
    if start < 0 or stop < start:
        raise MarkersMissing(f"缺少标记：{begin} … {end}")
    return text[: start + len(begin)] + "\n" + body + text[stop:]


def stale(root: Path) -> dict[str, str]:
    """{file: new text} for every documentation file whose generated parts differ from the code."""
    out: dict[str, str] = {}
    for (name, part), make in GENERATED.items():
        path = root / name
        current = out.get(name) or path.read_text(encoding="utf-8")
        updated = render(current, part, make())
        if updated != path.read_text(encoding="utf-8"):
            out[name] = updated
    return out
