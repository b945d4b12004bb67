"""feed.xml: an RSS 2.0 feed of the latest disclosures, built with ElementTree (which escapes).

Feed readers render an item's description as HTML once the XML is read, so data text goes into it
as plain text: tags removed and the rest escaped for HTML, then for XML. Titles are text (escaped once).
"""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from email.utils import format_datetime
from typing import Any
from urllib.parse import quote

from sunshine.deadlines.status import MISSING
from sunshine.markup import plain_text
from sunshine.site.pages import Context, Page
from sunshine.site.pages import calendar as deadline_calendar
from sunshine.site.pages.md import one_line, sample_mark

PATH = "feed.xml"
ITEMS = 50


def pages(ctx: Context) -> Iterator[Page]:
    names = ctx.data.village_name()
    rows = (
        ctx.data.disclosures.sort("published_on", "disclosure_id", descending=True)
        .head(ITEMS)
        .select("disclosure_id", "village_code", "category", "title", "content", "published_on")
        .to_dicts()
    )
    for r in rows:
        r["village"] = names.get(r["village_code"], r["village_code"])
    rows = sorted(rows + _missing(ctx), key=lambda r: (r["published_on"], r["disclosure_id"]), reverse=True)
    yield Page(PATH, {"items": rows[:ITEMS], "site_url": ctx.site_url}, render)


def _missing(ctx: Context) -> list[dict[str, Any]]:
    """An item for each period that closed with something missing, dated the day after its deadline."""
    _, statuses = deadline_calendar.deadlines(ctx)
    out = []
    for s in statuses:
        if s.status != MISSING:
            continue
        closed = (dt.date.fromisoformat(s.due_on) + dt.timedelta(days=1)).isoformat()
        out.append(
            {
                "disclosure_id": f"deadline-{s.village_code}-{s.rule_id}-{s.period}",
                "village_code": s.village_code,
                "village": s.village_name,
                "category": s.category,
                "title": f"{s.period_label}{s.rule_name}：到期未公开",
                "content": f"{s.village_name}{s.period_label}应于 {s.due_on} 前公开的{s.category}"
                f"{'（' + s.topic + '）' if s.topic else ''}到期未公开。依照《村民委员会组织法》第三十一条，"
                "村民有权向镇人民政府反映，村务监督电话见本村（社区）页面。",
                "published_on": closed,
                "anchor": deadline_calendar.ANCHOR,
            }
        )
    return out


def _rfc822(day: str) -> str:
    try:
        return format_datetime(dt.datetime.fromisoformat(day).replace(tzinfo=dt.UTC))
    except ValueError:
        return ""


def render(inputs: dict[str, Any]) -> str:
    site = inputs["site_url"].rstrip("/") + "/"
    rss = ET.Element("rss", version="2.0")
    channel = ET.SubElement(rss, "channel")
    ET.SubElement(channel, "title").text = f"阳光村务：最新公开事项{sample_mark(inputs)}"
    ET.SubElement(channel, "link").text = site
    ET.SubElement(channel, "description").text = "各村（社区）最新发布的党务、村务和财务公开事项。" + (
        "本站数据均为虚构的示例数据。" if inputs.get("sample") else ""
    )
    ET.SubElement(channel, "language").text = "zh-cn"
    items = inputs["items"]
    if items:
        ET.SubElement(channel, "lastBuildDate").text = _rfc822(items[0]["published_on"])
    for r in items:
        item = ET.SubElement(channel, "item")
        title = f"{one_line(r['village'])}·{one_line(r['category'])}：{one_line(r['title'])}"
        ET.SubElement(item, "title").text = title
        anchor = f"#{quote(r['anchor'])}" if r.get("anchor") else ""
        ET.SubElement(item, "link").text = f"{site}villages/{quote(r['village_code'] or '')}/{anchor}"
        ET.SubElement(item, "description").text = plain_text(r["content"])
        ET.SubElement(item, "guid", isPermaLink="false").text = one_line(r["disclosure_id"])
        ET.SubElement(item, "pubDate").text = _rfc822(r["published_on"])
    ET.indent(rss)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(rss, encoding="unicode") + "\n"
