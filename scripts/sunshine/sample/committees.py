"""The sample's 两委: members of each village's three committees, their 分工, and their public 承诺.

The Party secretary and the director are the village's cadres (often one person, 一肩挑); the other
members are drawn here. Each member makes one to three commitments in the spring of a year, with
a deadline, a status and the latest progress as a clerk would post it on the 公开栏. Some of them
are past their deadline and not done, as on any real board.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from datetime import date, timedelta
from typing import Protocol

PARTY, COMMITTEE, SUPERVISION = "党组织委员会", "村（居）民委员会", "村（居）务监督委员会"

# (committee, post, 分工) in the order of the board; {g} is a grid number.
SEATS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    (PARTY, "书记", ("主持党组织全面工作，负责党建、意识形态和党风廉政建设",)),
    (PARTY, "副书记", ("协助书记工作，分管组织、宣传和党员教育管理", "分管纪检、统战和发展党员工作")),
    (PARTY, "委员", ("分管组织和党费收缴，联系第{g}网格", "分管宣传和精神文明建设，联系第{g}网格")),
    (COMMITTEE, "主任", ("主持村（居）委会全面工作，负责集体经济和重大事项",)),
    (COMMITTEE, "副主任", ("分管财务、集体资产资源和工程项目", "分管人居环境、道路和水利设施")),
    (
        COMMITTEE,
        "委员",
        ("分管民政、低保和残疾人工作，兼妇联主席", "分管综治、调解和安全生产，联系第{g}网格"),
    ),
    (COMMITTEE, "委员", ("分管计生、医保和养老服务", "分管退役军人服务和征兵工作")),
    (SUPERVISION, "主任", ("主持村（居）务监督委员会工作，监督三务公开和集体资金使用",)),
    (SUPERVISION, "委员", ("监督工程项目招标、施工和验收", "监督惠民补贴和低保评议")),
    (SUPERVISION, "委员", ("收集群众对村（居）务的意见，监督承诺落实",)),
)

# What a member of each post promises, with how long it takes (days) and the progress steps.
PROMISES: dict[str, tuple[tuple[str, int, tuple[str, ...]], ...]] = {
    "书记": (
        ("每季度召开一次党员大会，通报村（居）务和财务情况", 300, ("已召开第一季度党员大会", "已召开三次")),
        ("年内新建或修缮{place}的党员活动室", 240, ("已完成选址和预算", "主体已完工，正在添置桌椅")),
    ),
    "副书记": (
        ("每月走访困难党员和老党员不少于 5 户", 300, ("已走访 20 户", "已走访 41 户，建立走访台账")),
        ("年内发展入党积极分子 2 名", 270, ("已确定培养对象 3 名", "已列为积极分子 2 名")),
    ),
    "委员": (
        ("负责的网格内矛盾纠纷一月一排查，小事不出网格", 300, ("已排查 4 次，调解纠纷 3 起", "已排查 8 次")),
        ("年内完成{place}主路的路灯维修，坏灯七日内修复", 200, ("已更换坏灯 12 盏", "主路路灯已全部修复")),
        ("每月按时收缴党费并公示", 300, ("一至四月已公示", "一至八月已公示")),
        ("年内完成{place}垃圾分类投放点改造 2 处", 180, ("已完成 1 处", "第 2 处正在施工")),
    ),
    "主任": (
        ("年内完成{place}道路硬化约 800 米", 240, ("已完成招标，施工单位已进场", "已硬化 520 米")),
        ("集体经营性收入比上年增加 5 万元以上", 330, ("上半年增加 2.1 万元", "前三季度增加 3.8 万元")),
    ),
    "副主任": (
        ("每月 20 日前公开上月财务收支", 330, ("已按时公开一至三月", "已按时公开一至九月")),
        ("年内完成{place}灌溉渠清淤 1.5 公里", 150, ("已清淤 0.6 公里", "已清淤 1.2 公里")),
    ),
    "监督委员": (
        (
            "每季度检查一次三务公开栏，发现问题一周内督促整改",
            300,
            ("已检查两次，督促整改 1 处", "已检查三次"),
        ),
        ("全程监督{place}道路硬化工程的质量和资金", 240, ("已参加开工前技术交底", "已参加两次隐蔽工程验收")),
    ),
}
STATUS_DONE, STATUS_ONGOING, STATUS_NOT_STARTED = "已完成", "推进中", "未开始"
PROMISE_YEARS = (2025, 2026)
AS_OF = date(2026, 11, 20)  # the sample's last day: progress is never posted after it


class _Village(Protocol):
    code: str
    kind: str
    cadres: list[str]
    township_index: int
    local: int
    grids: Sequence[object]


def _community(text: str, kind: str) -> str:
    if kind != "社区":
        return text.replace("村（居）", "村")
    return text.replace("村（居）", "居").replace("村内", "社区内")


def member_rows(
    rng: random.Random, villages: Sequence[_Village], person, mobile
) -> Iterator[tuple[str, ...]]:
    """committee_members rows: member_id, village_code, committee, post, name, party_member, duties, work_phone, since."""
    n = 0
    for v in villages:
        secretary, director = v.cadres[0], v.cadres[1]
        term = date(2021, rng.randrange(3, 6), rng.randrange(1, 29))
        grids = max(1, len(v.grids))
        people: dict[tuple[str, str, int], str] = {}
        parties: dict[str, str] = {}
        cadres = {
            name: mobile(9999 - v.township_index * 400 - v.local * 5 - i) for i, name in enumerate(v.cadres)
        }
        for i, (committee, post, duties) in enumerate(SEATS):
            if (committee, post) == (PARTY, "书记"):
                name = secretary
            elif (committee, post) == (COMMITTEE, "主任"):
                name = director
            else:
                name = people.setdefault((committee, post, i), person(rng))
            n += 1
            duty = _community(rng.choice(duties).format(g=rng.randrange(1, grids + 1)), v.kind)
            party = parties.setdefault(name, "是" if committee == PARTY or rng.random() < 0.6 else "否")
            phone = cadres.get(name) or (mobile(5000 + n) if rng.random() < 0.8 else "")
            yield (f"M{n:06d}", v.code, committee, post, name, party, duty, phone, term.isoformat())


def commitment_rows(
    rng: random.Random, members: Sequence[tuple[str, ...]], places: dict[str, list[str]]
) -> Iterator[tuple[str, ...]]:
    """commitments rows: commitment_id, member_id, promise, made_on, deadline, status, progress, updated_on."""
    n = 0
    for member_id, village, committee, post, *_ in members:
        key = "监督委员" if committee == SUPERVISION else post
        choices = list(PROMISES[key])
        rng.shuffle(choices)
        for year in PROMISE_YEARS:
            for text, days, steps in choices[: rng.randrange(1, min(2, len(choices)) + 1)]:
                made = date(year, 3, 1) + timedelta(days=rng.randrange(45))
                deadline = made + timedelta(days=days + rng.randrange(-20, 21))
                promise = text.format(place=rng.choice(places.get(village) or ["村内"]))
                status, progress, updated = _progress(rng, made, deadline, steps)
                n += 1
                yield (
                    f"C{n:06d}",
                    member_id,
                    promise,
                    made.isoformat(),
                    deadline.isoformat(),
                    status,
                    progress,
                    updated.isoformat() if updated else "",
                )


def _progress(
    rng: random.Random, made: date, deadline: date, steps: tuple[str, ...]
) -> tuple[str, str, date | None]:
    """Status, progress note and the day it was posted, as of the sample's last day."""
    elapsed = (min(AS_OF, deadline) - made).days
    if elapsed <= 30:
        return STATUS_NOT_STARTED, "", None
    if deadline < AS_OF and rng.random() < 0.8:
        posted = deadline - timedelta(days=rng.randrange(0, 15))
        return STATUS_DONE, "已按期完成，结果已在公开栏公示。", max(posted, made + timedelta(days=1))
    posted = made + timedelta(days=rng.randrange(20, max(21, min(elapsed, (AS_OF - made).days))))
    step = steps[0] if posted - made < (deadline - made) / 2 else steps[-1]
    return STATUS_ONGOING, f"{step}。", min(posted, AS_OF)
