"""feed.xml: an RSS 2.0 feed of the latest disclosures, built with ElementTree (which escapes)."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from email.utils import format_datetime
from typing import Any

from sunshine.site.pages import Context, Page
from sunshine.site.pages import md as m

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
    yield Page(PATH, {"items": rows, "site_url": ctx.site_url}, render)


def _rfc822(day: str) -> str:
    try:
        return format_datetime(dt.datetime.fromisoformat(day).replace(tzinfo=dt.UTC))
    except ValueError:
        return ""


def render(inputs: dict[str, Any]) -> str:
    site = inputs["site_url"].rstrip("/") + "/"
    rss = ET.Element("rss", version="2.0")
    channel = ET.SubElement(rss, "channel")
    ET.SubElement(channel, "title").text = f"阳光村务：最新公开事项{m.sample_mark(inputs)}"
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
        ET.SubElement(
            item, "title"
        ).text = f"{m.one_line(r['village'])}·{r['category']}：{m.one_line(r['title'])}"
        ET.SubElement(item, "link").text = f"{site}villages/{r['village_code']}/"
        ET.SubElement(item, "description").text = m.one_line(r["content"])
        ET.SubElement(item, "guid", isPermaLink="false").text = r["disclosure_id"]
        ET.SubElement(item, "pubDate").text = _rfc822(r["published_on"])
    ET.indent(rss)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(rss, encoding="unicode") + "\n"
