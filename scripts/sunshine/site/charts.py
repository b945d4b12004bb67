"""Static SVG charts drawn at build time with Vega-Lite (vl-convert), each with a text equivalent.

The SVG is inlined into the page, so it needs no JavaScript and no extra request. Labels are SVG
text in a CJK font stack: the build machine measures with Noto Sans CJK SC, and a phone without it
draws the same characters with its own Chinese system font. Every chart is followed by a small
table with the same figures for screen readers and for copying.
"""

from __future__ import annotations

import hashlib
import html
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from sunshine import staging

FONT = '"Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei", sans-serif'
CONFIG = {
    "font": FONT,
    "background": "white",
    "axis": {"labelFontSize": 12, "titleFontSize": 12, "labelColor": "#333", "titleColor": "#333"},
    "legend": {"labelFontSize": 12, "titleFontSize": 12, "orient": "bottom"},
    "view": {"stroke": None},
}
COLORS = {"收入": "#2e7d32", "支出": "#c62828"}
_INNER_ARIA = re.compile(r'\s(?:role|aria-roledescription|aria-label)="[^"]*"')
_SIZE = re.compile(r'^<svg([^>]*?) width="([\d.]+)" height="([\d.]+)"')


class Drawer:
    """Vega-Lite in a process of its own (`python -m sunshine.site.charts PARENT`), started now: its
    engine (V8, some 60 MB) stays out of the build's memory, and starts while the build reads its data."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "sunshine.site.charts", str(os.getpid())],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            encoding="utf-8",
        )

    def svg(self, spec: dict[str, Any]) -> str:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps(spec, ensure_ascii=False) + "\n")
        self.proc.stdin.flush()
        answer = json.loads(self.proc.stdout.readline() or '{"error": "绘制图表的进程意外退出"}')
        if "error" in answer:
            raise ValueError(answer["error"])
        return answer["svg"]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.communicate()


def _draw(spec: dict[str, Any]) -> str:
    import vl_convert  # its engine starts on the first drawing, in the process that draws

    return vl_convert.vegalite_to_svg(spec)


def _serve() -> None:
    """The drawer's side: one spec per line in, one {"svg"} or {"error"} per line out."""
    _draw({"mark": "point", "data": {"values": []}})  # start the engine now
    for line in sys.stdin:
        try:
            answer = {"svg": _draw(json.loads(line))}
        except Exception as exc:  # the build raises it
            answer = {"error": str(exc)}
        print(json.dumps(answer, ensure_ascii=False), flush=True)


class ChartCache:
    """Drawn charts on disk by a digest of their spec: drawing is the slow part of a build.
    `drawer`: where to draw (else in this process)."""

    def __init__(self, directory: Path | None = None, drawer: Drawer | None = None) -> None:
        self.directory = directory
        self.drawer = drawer
        self.used: set[str] = set()

    def get(self, spec: dict[str, Any]) -> str:
        payload = json.dumps(spec, sort_keys=True, ensure_ascii=False)
        key = hashlib.sha256(payload.encode("utf-8")).hexdigest()[:24]
        self.used.add(key)
        path = self.directory / f"{key}.svg" if self.directory else None
        if path and path.exists():
            return path.read_text(encoding="utf-8")
        svg = self.drawer.svg(spec) if self.drawer else _draw(spec)
        if path:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(svg, encoding="utf-8")
        return svg

    def forget_unused(self) -> None:
        """Delete the charts this build did not draw or reuse."""
        if self.directory and self.directory.is_dir():
            for path in self.directory.glob("*.svg"):
                if path.stem not in self.used:
                    path.unlink()


cache = ChartCache()


def _svg(spec: dict[str, Any], label: str) -> str:
    spec = {"$schema": "https://vega.github.io/schema/vega-lite/v5.json", "config": CONFIG, **spec}
    svg = cache.get(spec)
    svg = _INNER_ARIA.sub("", svg)
    svg = _SIZE.sub(
        lambda m: (
            f'<svg{m.group(1)} width="100%" style="max-width:{m.group(2)}px"'
            f' role="img" aria-label="{html.escape(label)}" focusable="false"'
        ),
        svg,
        count=1,
    )
    return svg


def _figure(svg: str, caption: str, headers: list[str], rows: list[list[str]]) -> str:
    head = "".join(f'<th scope="col">{html.escape(h)}</th>' for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows)
    return (
        f'<figure class="chart">{svg}'
        f'<details class="chart-data"><summary>图表数据</summary><div class="table-wrap" tabindex="0"><table class="data">'
        f"<caption>{html.escape(caption)}</caption>"
        f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div></details>"
        f"<figcaption>{html.escape(caption)}</figcaption></figure>"
    )


def bar_chart(
    rows: list[dict[str, Any]], *, label: str, value: str, caption: str, value_title: str, unit: str = ""
) -> str:
    """Horizontal bars, one per row: rows are {label: str, value: number}."""
    if not rows:
        return ""
    height = max(60, 26 * len(rows))
    spec = {
        "width": 300,
        "height": height,
        "data": {"values": rows},
        "mark": {"type": "bar", "color": "#1565c0"},
        "encoding": {
            "y": {"field": label, "type": "nominal", "sort": None, "title": None},
            "x": {"field": value, "type": "quantitative", "title": value_title},
        },
    }
    table = [
        [r[label], f"{r[value]:,}{unit}" if isinstance(r[value], int) else f"{r[value]}{unit}"] for r in rows
    ]
    return _figure(_svg(spec, caption), caption, ["", value_title], table)


def line_chart(rows: list[dict[str, Any]], *, x: str, y: str, caption: str, y_title: str) -> str:
    """One line over time (x is a YYYY-MM month)."""
    if not rows:
        return ""
    spec = {
        "width": 300,
        "height": 160,
        "data": {"values": rows},
        "mark": {"type": "line", "point": True, "color": "#1565c0"},
        "encoding": {
            "x": {"field": x, "type": "ordinal", "title": None, "axis": {"labelAngle": -45}},
            "y": {"field": y, "type": "quantitative", "title": y_title},
        },
    }
    table = [[r[x], f"{r[y]:,}"] for r in rows]
    return _figure(_svg(spec, caption), caption, ["月份", y_title], table)


def income_expenditure_chart(rows: list[dict[str, Any]], *, caption: str) -> str:
    """Grouped bars of income and expenditure per year: rows are {year, direction, amount}."""
    if not rows:
        return ""
    spec = {
        "width": {"step": 24},
        "height": 160,
        "data": {"values": rows},
        "mark": "bar",
        "encoding": {
            "x": {"field": "year", "type": "nominal", "title": None, "axis": {"labelAngle": 0}},
            "xOffset": {"field": "direction"},
            "y": {"field": "amount", "type": "quantitative", "title": "金额（元）"},
            "color": {
                "field": "direction",
                "type": "nominal",
                "title": "收支",
                "scale": {"domain": list(COLORS), "range": list(COLORS.values())},
            },
        },
    }
    table = [[r["year"], r["direction"], f"{r['amount']:,.2f}"] for r in rows]
    return _figure(_svg(spec, caption), caption, ["年份", "收支", "金额（元）"], table)


if __name__ == "__main__":
    staging.stop_with_parent(int(sys.argv[1]))
    _serve()
