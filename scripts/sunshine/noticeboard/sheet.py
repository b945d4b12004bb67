"""公开栏 sheets: one print-ready A4 page per village and quarter, from the same data as the site.

A sheet lists what the village published in the quarter, grouped by 党务公开, 村务公开 and 财务公开
with amounts, the supervision phone and the date it was printed, and a QR code (drawn as SVG by
segno, no outside service) to the same sheet online, with its address in words beneath it. Print
CSS lays it out on A4 in large type; no notice is split between two pages.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import segno

from sunshine.deadlines.periods import Period, day_text
from sunshine.site.pages import md as m

FOLDER = "noticeboard"
PDF_NAME = "sheet.pdf"
CODE_VERSION = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:16]

STYLE = """
@page { size: A4; margin: 14mm 14mm 16mm; }
* { box-sizing: border-box; }
body { margin: 0; font-family: "Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "Microsoft YaHei",
  sans-serif; font-size: 14pt; line-height: 1.55; color: #000; background: #fff; }
main { max-width: 182mm; margin: 0 auto; padding: 4mm; }
.head { display: flex; gap: 6mm; justify-content: space-between; align-items: flex-start;
  border-bottom: 1.2mm solid #000; padding-bottom: 3mm; }
.head h1 { font-size: 26pt; line-height: 1.25; margin: 0 0 1mm; }
.head p { margin: 0; font-size: 15pt; }
.qr { margin: 0; text-align: center; width: 46mm; flex: none; }
.qr svg { display: block; margin: 0 auto; width: 36mm; height: 36mm; }
.qr figcaption { font-size: 9.5pt; line-height: 1.3; overflow-wrap: anywhere; }
h2 { font-size: 19pt; margin: 5mm 0 2mm; border-left: 2.5mm solid #000; padding-left: 2.5mm;
  break-after: avoid; }
.item { border: 0.4mm solid #555; border-radius: 1.5mm; padding: 2mm 3mm; margin: 0 0 3mm;
  break-inside: avoid; page-break-inside: avoid; }
.item h3 { font-size: 15.5pt; margin: 0 0 1mm; }
.item p { margin: 0 0 1mm; }
.meta { font-size: 12pt; }
.amount { font-weight: 700; }
.none { font-size: 13pt; }
.foot { border-top: 0.6mm solid #000; margin-top: 5mm; padding-top: 2mm; font-size: 12.5pt;
  break-inside: avoid; }
.screen { font-size: 12pt; margin: 2mm 0; }
a { color: #0b57a4; }
@media print { .screen { display: none; } a { color: #000; text-decoration: none; } }
"""


@dataclass(frozen=True)
class Sheet:
    """One village's quarter: what the sheet shows (plain data) and where it lives."""

    code: str
    period: str  # 2026-Q3
    inputs: dict[str, Any]

    @property
    def path(self) -> str:
        """Relative to the site root."""
        return f"{FOLDER}/{self.code}/{self.period}/"

    @property
    def key(self) -> str:
        """Changes when what is printed changes (not with the printing date)."""
        payload = json.dumps(self.inputs, sort_keys=True, ensure_ascii=False, default=str)
        return hashlib.sha256((CODE_VERSION + payload).encode("utf-8")).hexdigest()


def sheets(
    villages: Iterable[dict[str, Any]],
    disclosures: Iterable[dict[str, Any]],
    categories: list[str],
    *,
    township: str,
    site_url: str,
) -> list[Sheet]:
    """A sheet for each village and each quarter in which it published something."""
    by_quarter: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for d in disclosures:
        try:
            day = date.fromisoformat(str(d["published_on"]))
        except ValueError:
            continue
        by_quarter[(d["village_code"], Period.of("quarter", day).text)].append(d)
    out = []
    for v in sorted(villages, key=lambda v: v["village_code"]):
        code = v["village_code"]
        for quarter in sorted(q for c, q in by_quarter if c == code):
            rows = sorted(by_quarter[(code, quarter)], key=lambda d: (d["published_on"], d["disclosure_id"]))
            sheet_url = f"{site_url}{FOLDER}/{code}/{quarter}/"
            groups = [
                {"category": c, "items": [_item(d) for d in rows if d["category"] == c]} for c in categories
            ]
            inputs = {
                "village": v["name"],
                "code": code,
                "township": township or v.get("township", ""),
                "phone": v["supervision_phone"],
                "period": quarter,
                "url": sheet_url,
                "groups": groups,
            }
            out.append(Sheet(code, quarter, inputs))
    return out


def _item(d: dict[str, Any]) -> dict[str, Any]:
    period = Period.parse(str(d.get("period") or ""))
    return {
        "id": d["disclosure_id"],
        "title": d["title"],
        "content": d["content"],
        "topic": d["topic"],
        "period": period.label if period else d.get("period", ""),
        "published_on": d["published_on"],
        "amount": d.get("amount_yuan"),
        "direction": d.get("direction") or "",
    }


def _breakable(url: str) -> str:
    """The address in words, allowed to wrap after each slash."""
    return "/<wbr>".join(m.html(part) for part in url.split("/"))


def qr_svg(url: str) -> str:
    """The QR code of the sheet's online address, as inline SVG with a text alternative."""
    svg = segno.make(url, error="m").svg_inline(scale=1, unit="mm", border=4, title="二维码：" + url)
    return svg.replace("<svg ", '<svg role="img" aria-label="本页网上记录的二维码" ', 1)


def _amount(item: dict[str, Any]) -> str:
    if item["amount"] in (None, ""):
        return ""
    return f' · <span class="amount">{m.html(item["direction"])} {m.yuan(float(item["amount"]))} 元</span>'


def css_string(text: str) -> str:
    """Text as a quoted CSS string that cannot end the string or the style element."""
    return '"' + "".join(c if c.isalnum() or c in " ·" else f"\\{ord(c):x} " for c in text) + '"'


def running_footer(title: str) -> str:
    """Each printed page names its board and period and counts the pages, so a second page on the
    wall is not taken for another notice."""
    words = f"{css_string(title + ' · 第 ')} counter(page) {css_string(' 页，共 ')} counter(pages) {css_string(' 页')}"
    return f'@page {{ @bottom-center {{ content: {words}; font-family: "Noto Sans CJK SC", sans-serif; font-size: 10pt; color: #000; }} }}'


def render(sheet: Sheet, *, printed: date, pdf: bool, ds_base: str, qr: Callable[[str], str] = qr_svg) -> str:
    """The sheet as a complete HTML page (screen and print)."""
    s = sheet.inputs
    period = Period.parse(s["period"])
    assert period is not None
    span = f"{period.start.month} 月 {period.start.day} 日至 {period.end.month} 月 {period.end.day} 日"
    title = f"{s['village']}三务公开栏 · {period.label}"
    ds = m.Datasette(ds_base)
    sections = []
    for group in s["groups"]:
        items = "".join(
            f'<article class="item"><h3>{m.html(i["title"])}</h3>'
            f'<p class="meta">公开日期 {m.html(i["published_on"])} · {m.html(i["topic"])} · '
            f"所属期间 {m.html(i['period'])}{_amount(i)}</p><p>{m.html(i['content'])}</p>"
            f'<p class="screen">{m.data_link(ds.row("disclosures", i["id"]), "原始记录 " + m.html(i["id"]))}</p>'
            "</article>"
            for i in group["items"]
        )
        sections.append(
            f"<section><h2>{m.html(group['category'])}（{len(group['items'])} 项）</h2>"
            + (items or '<p class="none">本季度没有此类公开事项。</p>')
            + "</section>"
        )
    links = [
        '<a href="../">本村其他季度</a>',
        f'<a href="../../../villages/{m.html(s["code"])}/">{m.html(s["village"])}的网页</a>',
    ]
    if pdf:
        links.insert(0, f'<a href="{PDF_NAME}" download>下载 PDF（A4）</a>')
    return (
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{m.html(title)}</title><style>{STYLE}{running_footer(title)}</style></head><body><main>"
        f'<header class="head"><div><p>{m.html(s["township"])}</p><h1>{m.html(s["village"])}三务公开栏</h1>'
        f"<p>{m.html(period.label)}（{span}公开）</p>"
        f"<p>村务监督电话：{m.html(s['phone'])}</p></div>"
        f'<figure class="qr">{qr(s["url"])}<figcaption>扫码核对网上记录：<br>{_breakable(s["url"])}</figcaption></figure>'
        "</header>"
        f'<p class="screen">{" · ".join(links)}</p>'
        + "".join(sections)
        + f'<footer class="foot"><p>对公开内容有疑问，请拨打村务监督电话 {m.html(s["phone"])}，'
        "或向镇人民政府反映（《村民委员会组织法》第三十一条）。</p>"
        f"<p>打印日期：{day_text(printed)} · 本页与网上记录由同一份数据生成，扫描二维码即可核对。</p></footer>"
        "</main></body></html>\n"
    )


def render_index(village: str, code: str, items: list[Sheet], *, with_pdf: set[str]) -> str:
    """The village's list of sheets, newest first."""
    rows = "".join(
        f'<li><a href="{s.period}/">{m.html(Period.parse(s.period).label)}</a>'  # type: ignore[union-attr]
        + (f' · <a href="{s.period}/{PDF_NAME}" download>PDF</a>' if s.period in with_pdf else "")
        + "</li>"
        for s in sorted(items, key=lambda s: s.period, reverse=True)
    )
    return (
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{m.html(village)}三务公开栏打印页</title><style>{STYLE}</style></head><body><main>"
        f"<h1>{m.html(village)}三务公开栏打印页</h1>"
        "<p>每季度一页（A4），内容与网站相同，可打印后张贴在公开栏。</p>"
        + (
            "<p>最近几个季度另有 PDF 可下载；其他季度请用浏览器的“打印”功能（已按 A4 排版）。</p>"
            if with_pdf
            else "<p>本次生成网站时没有可用的 Chromium，未生成 PDF，请用浏览器的“打印”功能（已按 A4 排版）。</p>"
        )
        + f'<ul>{rows}</ul><p><a href="../../villages/{m.html(code)}/">返回{m.html(village)}的网页</a></p>'
        "</main></body></html>\n"
    )
