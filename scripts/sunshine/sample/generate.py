"""Generate a consistent, fictional data package of any size: the sample township and benchmark counties.

The same seed and sizes always give the same bytes: one seeded random.Random, fixed dates, no
dependence on the clock or on set ordering. Petitions are streamed to the CSV writer, so a million
rows need little memory.
"""

from __future__ import annotations

import bisect
import csv
import itertools
import os
import random
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import click

from sunshine.deadlines.periods import Period
from sunshine.sample import text as T
from sunshine.sample.committees import commitment_rows, member_rows
from sunshine.sample.disclosures import BUILDERS, CATEGORY_WEIGHTS, REF_MARK, Notice, Place, number_refs
from sunshine.sample.schedule import rules_start, scheduled_notices

DEFAULT_SEED = 20240501
FIRST_DAY = date(2024, 1, 1)  # first day of the data
LAST_RECEIVED = date(2026, 10, 31)  # petitions are received up to this day
DATA_END = date(2026, 11, 20)  # nothing is resolved or followed up after this day
FIRST_MONTH = (2024, 1)
LAST_MONTH = (2026, 10)  # disclosures are published up to this month
COUNTY_CODE = "990101"  # fictional: no province has code 99
TOWNSHIP_START = 101
VILLAGES_PER_TOWNSHIP = 15  # at county scale villages are spread over townships of about this size
COMMUNITY_CODES = range(1, 200)  # 001–199: residents' committees
VILLAGE_CODES = range(201, 400)  # 201–399: villagers' committees
MAX_CASES_PER_YEAR = 9_999_999  # case_id has 7 digits of sequence

FIELDS = {
    "villages": (
        "village_code", "name", "kind", "township", "county", "households", "population",
        "party_secretary", "director", "office_phone", "supervision_phone", "address",
    ),
    "grids": ("grid_id", "village_code", "name", "area", "households", "population"),
    "grid_staff": ("staff_id", "grid_id", "name", "role", "party_member", "work_phone", "duties", "since"),
    "disclosures": (
        "disclosure_id", "village_code", "category", "topic", "title", "content", "period",
        "published_on", "amount_yuan", "direction", "approval_ref", "responsible",
    ),
    "petitions": (
        "case_id", "village_code", "grid_id", "channel", "request_type", "category", "summary",
        "received_on", "resolved_on", "department", "outcome", "followup_on", "satisfaction",
    ),
    "committee_members": (
        "member_id", "village_code", "committee", "post", "name", "party_member", "duties", "work_phone", "since",
    ),
    "commitments": (
        "commitment_id", "member_id", "promise", "made_on", "deadline", "status", "progress", "updated_on",
    ),
}  # fmt: skip


@dataclass(frozen=True)
class Sizes:
    """How much to generate; the defaults are the committed sample in data/."""

    villages: int = field(default=3, metadata={"help": "村（社区）数量。"})
    grids_per_village: int = field(default=3, metadata={"help": "每个村（社区）的网格数。"})
    staff_per_grid: int = field(default=5, metadata={"help": "每个网格的人员数。"})
    disclosures: int = field(default=160, metadata={"help": "三务公开事项总数。"})
    petitions: int = field(default=600, metadata={"help": "群众诉求总数。"})

    def check(self) -> None:
        """Raise ValueError (in Chinese) for sizes the identifiers cannot hold."""
        limit = len(T.TOWNSHIPS) * (len(COMMUNITY_CODES) + len(VILLAGE_CODES))
        if not 1 <= self.villages <= limit:
            raise ValueError(f"村（社区）数量须在 1 到 {limit} 之间（统计用区划代码的容量）。")
        if not 1 <= self.grids_per_village <= 999:
            raise ValueError("每个村（社区）的网格数须在 1 到 999 之间（网格编号为 2–3 位序号）。")
        if self.staff_per_grid < 0 or self.disclosures < 0 or self.petitions < 0:
            raise ValueError("人员、公开事项和诉求的数量不能为负数。")
        if self.villages * self.grids_per_village * self.staff_per_grid > 999_999:
            raise ValueError("网格人员总数不能超过 999999（人员编号为 S 加 6 位数字）。")
        if self.disclosures > 99_999_999:
            raise ValueError("公开事项不能超过 99999999 条（编号为 D 加 8 位数字）。")


@dataclass
class Grid:
    grid_id: str
    name: str
    area: str
    households: int
    population: int
    areas: list[str]  # where households live: 自然村, 村民小组, streets and estates
    spots: list[str]  # places named in petition summaries: the areas and spots within them


@dataclass
class Village:
    code: str
    short: str
    kind: str
    township: str
    township_index: int
    local: int  # the last three digits of the code
    grids: list[Grid] = field(default_factory=list)
    cadres: list[str] = field(default_factory=list)  # [secretary, director, other members]
    place: Place | None = None

    @property
    def households(self) -> int:
        return sum(g.households for g in self.grids)

    @property
    def population(self) -> int:
        return sum(g.population for g in self.grids)


# ---- people and places ------------------------------------------------------------------------------


def person(rng: random.Random) -> str:
    """A plausible, fictional Chinese name."""
    while True:
        chars = T.GIVEN_MEN if rng.random() < 0.55 else T.GIVEN_WOMEN
        given = rng.choice(chars) + (rng.choice(chars) if rng.random() < 0.8 else "")
        name = rng.choice(T.SURNAMES) + given
        if name not in T.FAMOUS and len(set(given)) == len(given):
            return name


def mobile(n: int) -> str:
    """A visibly fictional mobile number: 13800000000–13800009999."""
    return f"1380000{n * 7919 % 10000:04d}"


def village_names(rng: random.Random, taken: set[str]) -> Iterator[str]:
    """Unique two- or three-syllable village names: curated ones first, then syllable combinations."""
    pairs = [a + b for a in T.VILLAGE_FIRST for b in T.VILLAGE_SECOND if a != b]
    rng.shuffle(pairs)
    triples = (
        a + b + c for a in T.VILLAGE_FIRST for b in T.VILLAGE_FIRST if a != b for c in T.VILLAGE_SECOND
    )
    for name in itertools.chain(T.VILLAGE_NAMES, pairs, triples):
        if name not in taken:
            taken.add(name)
            yield name


def layout(sizes: Sizes, rng: random.Random) -> list[Village]:
    """Villages with codes, kinds and townships: the first of each township (and every 8th) is a 社区."""
    towns = min(len(T.TOWNSHIPS), -(-sizes.villages // VILLAGES_PER_TOWNSHIP))
    taken = {t[:-1] for t in T.TOWNSHIPS} | set(T.COMMUNITY_NAMES)
    names = village_names(rng, taken)
    community_names = iter(T.COMMUNITY_NAMES)
    out: list[Village] = []
    for t in range(towns):
        township = T.TOWNSHIPS[t]
        count = (t + 1) * sizes.villages // towns - t * sizes.villages // towns
        communities = min(len(COMMUNITY_CODES), 1 + (count - 1) // 8, count)
        if count - communities > len(VILLAGE_CODES):
            communities = count - len(VILLAGE_CODES)
        for k in range(count):
            if k < communities:
                local = COMMUNITY_CODES[k]
                base = township[:-1] if k == 0 else next(community_names, None) or next(names)
                short, kind = base + "社区", "社区"
            else:
                local = VILLAGE_CODES[k - communities]
                short, kind = next(names) + "村", "村"
            code = f"{COUNTY_CODE}{TOWNSHIP_START + t:03d}{local:03d}"
            out.append(Village(code, short, kind, township, t, local))
    return out


def _grid_places(rng: random.Random, v: Village, n: int) -> tuple[list[str], list[str]]:
    """Hamlets (自然村 or streets) and groups (村民小组 or estates) of a village."""
    if v.kind == "村":
        hamlets = rng.sample(T.NATURAL_VILLAGES, min(n, len(T.NATURAL_VILLAGES)))
        groups = [f"第{T.cn_number(i + 1)}村民小组" for i in range(min(99, max(3, n * 2)))]
    else:
        hamlets = rng.sample(T.STREETS, min(n, len(T.STREETS)))
        groups = rng.sample(T.ESTATES, min(n, len(T.ESTATES)))
    return hamlets, groups


def build_grids(rng: random.Random, v: Village, per_village: int) -> None:
    hamlets, groups = _grid_places(rng, v, per_village)
    for j in range(per_village):
        hamlet = hamlets[j % len(hamlets)]
        name = f"{hamlet}网格" if j < len(hamlets) else f"第{j + 1}网格"
        if v.kind == "村":
            g1 = groups[(2 * j) % len(groups)]
            g2 = groups[(2 * j + 1) % len(groups)]
            area = f"{hamlet}自然村，含{g1}、{g2}"
            areas = [f"{hamlet}自然村", g1, g2]
            spots = [*areas, *(hamlet + s for s in rng.sample(T.VILLAGE_SPOTS, 3))]
            other = hamlets[(j + 1) % len(hamlets)]
            if other != hamlet:
                spots.append(f"{hamlet}至{other}路段")
            households = rng.randrange(80, 261)
            population = int(households * rng.uniform(2.6, 3.5))
        else:
            estate = groups[j % len(groups)]
            area = f"{hamlet}沿街住户及{estate}"
            areas = [hamlet, estate]
            spots = [*areas, f"{estate}周边", *(hamlet + s for s in rng.sample(T.STREET_SPOTS, 3))]
            households = rng.randrange(220, 561)
            population = int(households * rng.uniform(2.3, 3.0))
        grid_id = f"{v.code}-{j + 1:02d}"
        v.grids.append(Grid(grid_id, name, area, households, population, areas, spots))
    v.place = Place(
        code=v.code,
        short=v.short,
        kind=v.kind,
        township=v.township,
        households=v.households,
        population=v.population,
        groups=groups if v.kind == "村" else [f"{e}" for e in groups],
        hamlets=hamlets,
        people=[person(rng) for _ in range(12)],
    )


def day(d: date) -> str:
    return d.isoformat()


def random_day(rng: random.Random, first: date, last: date) -> date:
    return first + timedelta(days=rng.randrange((last - first).days + 1))


# ---- tables -----------------------------------------------------------------------------------------


def village_rows(villages: Sequence[Village]) -> Iterator[tuple]:
    for v in villages:
        secretary, director = v.cadres[0], v.cadres[1]
        t, k = v.township_index, v.local
        hall = "社区党群服务中心" if v.kind == "社区" else "村党群服务中心"
        yield (
            v.code,
            v.short,
            v.kind,
            v.township,
            T.COUNTY,
            v.households,
            v.population,
            secretary,
            director,
            f"0000-66{t + 1:02d}{k:03d}",
            f"0000-66{t + 41:02d}{k:03d}",
            f"{T.COUNTY}{v.township}{v.short.removesuffix('社区').removesuffix('村')}{hall}",
        )


def grid_rows(villages: Sequence[Village]) -> Iterator[tuple]:
    for v in villages:
        for g in v.grids:
            yield (g.grid_id, v.code, g.name, g.area, g.households, g.population)


ROLES = {
    "村": (
        "网格长",
        "专职网格员",
        "网格指导员",
        "党员中心户",
        None,
        "兼职网格员",
        "党员中心户",
        "兼职网格员",
    ),
    "社区": ("网格长", "专职网格员", "楼栋长", "单元长", None, "兼职网格员", "楼栋长", "单元长"),
}
# The fifth place of a grid rotates, so that every role appears in every village.
ROTATING = {
    "村": ("兼职网格员", "驻村民警", "法律顾问"),
    "社区": ("网格指导员", "驻村民警", "法律顾问", "党员中心户"),
}
SINCE = {
    "驻村民警": (date(2022, 3, 1), date(2025, 9, 30)),
    "法律顾问": (date(2023, 1, 1), date(2025, 12, 31)),
    "楼栋长": (date(2021, 6, 1), date(2026, 6, 30)),
    "单元长": (date(2021, 6, 1), date(2026, 6, 30)),
}
SINCE_DEFAULT = (date(2021, 4, 1), date(2026, 3, 31))


def staff_rows(rng: random.Random, villages: Sequence[Village], per_grid: int) -> Iterator[tuple]:
    n = 0
    for v in villages:
        roles = ROLES[v.kind]
        # People who serve every grid of the village: one police officer (reached through the
        # station's line), one legal adviser (through the law firm's), and the committee members.
        number = (v.township_index * 400 + v.local) % 10000
        police = (person(rng), f"0000-668{number:04d}")
        lawyer = (person(rng), f"0000-669{number:04d}")
        cadres = {
            name: mobile(9999 - v.township_index * 400 - v.local * 5 - i) for i, name in enumerate(v.cadres)
        }
        police_since = random_day(rng, *SINCE["驻村民警"])
        lawyer_since = random_day(rng, *SINCE["法律顾问"])
        for j, g in enumerate(v.grids):
            for slot in range(per_grid):
                role = roles[slot % len(roles)] or ROTATING[v.kind][j % len(ROTATING[v.kind])]
                n += 1
                if role == "驻村民警":
                    (name, phone), since = police, police_since
                elif role == "法律顾问":
                    (name, phone), since = lawyer, lawyer_since
                elif role == "网格指导员":
                    name = v.cadres[j % len(v.cadres)]
                    phone, since = cadres[name], random_day(rng, *SINCE_DEFAULT)
                else:
                    name, phone = person(rng), mobile(n)
                    since = random_day(rng, *SINCE.get(role, SINCE_DEFAULT))
                party = "是" if rng.randrange(100) < T.ROLE_PARTY[role] else "否"
                duties = rng.choice(T.ROLE_DUTIES[role])
                if v.kind == "社区":
                    duties = _community_text(duties)
                yield (f"S{n:06d}", g.grid_id, name, role, party, phone, duties, day(since))


def _pick(rng: random.Random, weighted: Sequence[tuple[object, int]]) -> object:
    return rng.choices([x for x, _ in weighted], weights=[w for _, w in weighted])[0]


def _months() -> list[tuple[int, int]]:
    (y, m), out = FIRST_MONTH, []
    while (y, m) <= LAST_MONTH:
        out.append((y, m))
        y, m = (y, m + 1) if m < 12 else (y + 1, 1)
    return out


# How a residents' committee words what a village says; "农村集体" is kept as it is.
NOTICE_WORDS = (
    ("农村集体", "\0"),
    ("村级", "社区"),
    ("村部", "社区服务中心"),
    ("村集体", "社区集体"),
    ("农田水利", "小区公共"),
    ("村规民约", "居民公约"),
    ("到村", "到社区"),
    ("村两委", "社区两委"),
    ("农户", "居民"),
    ("\0", "农村集体"),
)


def _community_text(text: str) -> str:
    for old, new in NOTICE_WORDS:
        text = text.replace(old, new)
    return text


def disclosure_rows(rng: random.Random, villages: Sequence[Village], count: int) -> list[tuple]:
    """Notices spread over villages and months, numbered in order of publication."""
    months = _months()
    notices: list[tuple[str, int, str, Notice]] = []
    for i in range(count):
        v = villages[i % len(villages)]
        y, m = rng.choice(months)
        category = _pick(rng, CATEGORY_WEIGHTS)
        builder = _pick(rng, BUILDERS[category])
        assert v.place is not None
        note: Notice = builder(rng, v.place, y, m)  # type: ignore[operator]
        if v.kind == "社区":
            note.title, note.content = _community_text(note.title), _community_text(note.content)
        notices.append((category, i, v.code, note))
    notices.sort(key=lambda x: (x[3].published, x[2], x[1]))
    refs = number_refs([(code, note.approval_ref) for _, _, code, note in notices])
    rows = []
    for n, ((category, _, code, note), ref) in enumerate(zip(notices, refs, strict=True), start=1):
        amount = "" if note.cents is None else f"{note.cents // 100}.{note.cents % 100:02d}"
        rows.append(
            (
                f"D{n:08d}",
                code,
                category,
                note.topic,
                note.title,
                note.content,
                note.period,
                date(*note.published).isoformat(),
                amount,
                note.direction if amount else "",
                ref,
                note.responsible,
            )
        )
    return rows


def keep_deadlines(villages: Sequence[Village], rows: list[tuple], seed: int) -> list[tuple]:
    """The notices with the sample's 公开时限 kept but for two planted lapses (see sample/schedule.py).

    Each notice that keeps a deadline takes the place of a random one published before the rules
    start, which no rule judges, so the package has as many notices as asked for (a small package
    keeps fewer deadlines). Numbers follow the order of publication.
    """
    fields = FIELDS["disclosures"]
    places = {v.code: v.place for v in villages if v.place is not None}
    kinds = {v.code: v.kind for v in villages}
    notices = scheduled_notices(places, [dict(zip(fields, r, strict=True)) for r in rows], seed)
    start = rules_start()
    removable = [
        i for i, r in enumerate(rows) if date.fromisoformat(r[7]) < start and Period.parse(r[6]).start < start
    ]
    keep = min(len(notices), len(removable))
    dropped = {removable[n * len(removable) // keep] for n in range(keep)} if keep else set()
    kept = [r for i, r in enumerate(rows) if i not in dropped]
    seen: dict[tuple[str, str], int] = {}  # documents already numbered in each series
    for r in kept:
        series = re.sub(r"〕[0-9]+号$", f"〕{REF_MARK}号", r[10])
        seen[(r[1], series)] = seen.get((r[1], series), 0) + 1
    added = []
    for code, category, note in sorted(notices[:keep], key=lambda x: (x[2].published, x[0])):
        if kinds[code] == "社区":
            note.title, note.content = _community_text(note.title), _community_text(note.content)
        amount = "" if note.cents is None else f"{note.cents // 100}.{note.cents % 100:02d}"
        ref = note.approval_ref
        if REF_MARK in ref:
            seen[(code, ref)] = seen.get((code, ref), 0) + 1
            ref = ref.replace(REF_MARK, str(seen[(code, ref)]))
        added.append(
            ("", code, category, note.topic, note.title, note.content, note.period,
             date(*note.published).isoformat(), amount, note.direction if amount else "", ref, note.responsible)
        )  # fmt: skip
    ordered = sorted(kept + added, key=lambda r: (r[7], r[1]))
    return [(f"D{n:08d}", *r[1:]) for n, r in enumerate(ordered, start=1)]


# ---- petitions --------------------------------------------------------------------------------------

COMMUNITY_WORDS = (
    ("阳光村务", "\0"),
    ("村调解委员会", "社区调解委员会"),
    ("村委会", "居委会"),
    ("村务", "居务"),
    ("村集体", "社区集体"),
    ("村民代表会议", "居民代表会议"),
    ("\0", "阳光村务"),
)


def _for_kind(text: str, kind: str) -> str:
    if kind == "社区":
        for old, new in COMMUNITY_WORDS:
            text = text.replace(old, new)
    return text


def _cumulative(weights: Iterable[float]) -> list[float]:
    return list(itertools.accumulate(weights))


@dataclass
class Issue:
    request_type: str
    departments: tuple[str, ...]
    body: str
    outcomes: tuple[str, ...]
    endings: tuple[str, ...]
    at_home: bool  # about a household or its land: placed in a hamlet, group or estate, not at a spot


AT_HOME = ("一户", "邻", "老人", "承包地", "宅基地", "征地", "流转费", "楼上", "楼道", "养殖场")


def prepare_issues() -> dict[tuple[str, str], list[Issue]]:
    out: dict[tuple[str, str], list[Issue]] = {}
    for kind in ("村", "社区"):
        for category, issues in T.ISSUES.items():
            out[(kind, category)] = [
                Issue(
                    rtype,
                    tuple(_for_kind(d, kind) for d in depts),
                    _for_kind(body, kind),
                    tuple(_for_kind(o, kind) for o in outcomes),
                    ("。",) if "请求" in body or "申请" in body else T.REQUEST_ENDINGS[rtype],
                    any(word in body for word in AT_HOME),
                )
                for kinds, rtype, depts, body, outcomes in issues
                if kind in kinds
            ]
    return out


def daily_counts(rng: random.Random, total: int) -> list[int]:
    """Petitions received on each day: fewer at weekends and at Spring Festival, more in summer, growing."""
    days = (LAST_RECEIVED - FIRST_DAY).days + 1
    weights = []
    for i in range(days):
        d = FIRST_DAY + timedelta(days=i)
        w = (1.0, 1.0, 1.0, 1.0, 1.0, 0.55, 0.45)[d.weekday()]
        w *= {2024: 1.0, 2025: 1.12, 2026: 1.2}.get(d.year, 1.2)
        w *= {2: 0.75, 7: 1.15, 8: 1.15}.get(d.month, 1.0)
        weights.append(w * rng.uniform(0.7, 1.3))
    cum = _cumulative(weights)
    scale = total / cum[-1]
    counts, before = [], 0
    for c in cum:
        upto = round(c * scale)
        counts.append(upto - before)
        before = upto
    return counts


def _bucket_sampler(buckets: Sequence[tuple[int, int, int]]) -> tuple[list[float], list[tuple[int, int]]]:
    return _cumulative(w for w, _, _ in buckets), [(lo, hi) for _, lo, hi in buckets]


def petition_rows(rng: random.Random, villages: Sequence[Village], total: int) -> Iterator[tuple]:
    counts = daily_counts(rng, total)
    per_year: dict[int, int] = {}
    for i, c in enumerate(counts):
        y = (FIRST_DAY + timedelta(days=i)).year
        per_year[y] = per_year.get(y, 0) + c
    if max(per_year.values(), default=0) > MAX_CASES_PER_YEAR:
        raise ValueError(f"每年的诉求不能超过 {MAX_CASES_PER_YEAR} 件（诉求编号为年份加 7 位序号）。")

    span = (DATA_END - FIRST_DAY).days
    iso = [day(FIRST_DAY + timedelta(days=i)) for i in range(span + 1)]
    years = [int(s[:4]) for s in iso]

    issues = prepare_issues()
    who = {"村": "村民", "社区": "居民"}
    openings = {
        kind: {ch: [o.format(who=who[kind]) for o in T.CHANNEL_OPENINGS[ch]] for ch in T.CHANNELS}
        for kind in who
    }
    channel_cum = _cumulative(T.CHANNEL_WEIGHTS)
    category_cum = {kind: _cumulative(T.CATEGORY_WEIGHTS[kind]) for kind in who}
    speeds = {name: _bucket_sampler(b) for name, b in T.DURATIONS.items()}
    followup = _bucket_sampler(T.FOLLOWUP_DAYS)
    village_cum = _cumulative(v.population for v in villages)
    grid_cum = [_cumulative(g.households for g in v.grids) for v in villages]
    village_spots = {"村": ["村部附近", "村内", "村道沿线"], "社区": ["社区内", "辖区内", "社区服务中心附近"]}
    village_areas = {"村": ["村内"], "社区": ["社区内", "辖区内"]}
    handled = ("由{d}办理：", "转{d}办理。", "{d}承办：")

    rnd, pick = rng.random, bisect.bisect_right

    def choice(seq: Sequence[str]) -> str:  # Random.choice, without its bookkeeping
        return seq[int(rnd() * len(seq))]

    seq: dict[int, int] = {}
    for offset, count in enumerate(counts):
        if not count:
            continue
        received = iso[offset]
        year = years[offset]
        for _ in range(count):
            n = seq[year] = seq.get(year, 0) + 1
            vi = pick(village_cum, rnd() * village_cum[-1])
            v = villages[vi]
            kind = v.kind
            channel = T.CHANNELS[pick(channel_cum, rnd() * channel_cum[-1])]
            ccum = category_cum[kind]
            category = T.CATEGORIES[pick(ccum, rnd() * ccum[-1])]
            pool = issues[(kind, category)]
            issue = pool[int(rnd() * len(pool))]
            if rnd() < 0.92:
                gcum = grid_cum[vi]
                g = v.grids[pick(gcum, rnd() * gcum[-1])]
                grid_id, place = g.grid_id, choice(g.areas if issue.at_home else g.spots)
            else:
                grid_id, place = "", choice((village_areas if issue.at_home else village_spots)[kind])
            rtype = issue.request_type
            summary = (
                choice(openings[kind][channel]) + issue.body.replace("{p}", place) + choice(issue.endings)
            )
            department = choice(issue.departments)
            outcome = (
                choice(handled).replace("{d}", department)
                + choice(issue.outcomes)
                + choice(T.OUTCOME_ENDINGS)
            )
            speed = "quick" if rtype == "咨询" else T.CATEGORY_SPEED[category]
            scum, sranges = speeds[speed]
            lo, hi = sranges[pick(scum, rnd() * scum[-1])]
            duration = lo + int(rnd() * (hi - lo + 1))
            resolved = min(offset + duration, span)
            fcum, franges = followup
            lo, hi = franges[pick(fcum, rnd() * fcum[-1])]
            follow = resolved + lo + int(rnd() * (hi - lo + 1))
            r = rnd()
            if follow > span or r < 0.04:
                followup_on, satisfaction = "", "未回访"
            else:
                followup_on = iso[follow]
                slow = duration > 30
                if r < (0.66 if slow else 0.82):
                    satisfaction = "满意"
                elif r < (0.9 if slow else 0.96):
                    satisfaction = "基本满意"
                else:
                    satisfaction = "不满意"
            yield (
                f"{year}-{n:07d}",
                v.code,
                grid_id,
                channel,
                rtype,
                category,
                summary,
                received,
                iso[resolved],
                department,
                outcome,
                followup_on,
                satisfaction,
            )


# ---- the package ------------------------------------------------------------------------------------


def build_villages(rng: random.Random, sizes: Sizes) -> list[Village]:
    villages = layout(sizes, rng)
    for v in villages:
        build_grids(rng, v, sizes.grids_per_village)
        secretary = person(rng)
        # Since 2021 the Party secretary is usually also the committee's director (一肩挑).
        director = secretary if rng.random() < 0.7 else person(rng)
        v.cadres = [secretary, director, *(person(rng) for _ in range(3))]
    return villages


def _write(path: Path, header: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def generate(out: Path, sizes: Sizes = Sizes(), seed: int = DEFAULT_SEED) -> dict[str, int]:
    """Write the five CSVs of a consistent package into `out`; return the row count of each.

    All five files are written to temporary names first and renamed at the end, so a failure
    leaves the previous files in place.
    """
    sizes.check()
    rng = random.Random(seed)
    villages = build_villages(rng, sizes)
    disclosures = disclosure_rows(rng, villages, sizes.disclosures)
    disclosures = keep_deadlines(villages, disclosures, seed + 1)
    counts = {
        "villages": len(villages),
        "grids": sum(len(v.grids) for v in villages),
        "grid_staff": sum(len(v.grids) for v in villages) * sizes.staff_per_grid,
        "disclosures": sizes.disclosures,
        "petitions": sizes.petitions,
    }
    tables: dict[str, Iterable[Sequence[object]]] = {
        "villages": village_rows(villages),
        "grids": grid_rows(villages),
        "grid_staff": staff_rows(rng, villages, sizes.staff_per_grid),
        "disclosures": disclosures,
        "petitions": petition_rows(rng, villages, sizes.petitions),
    }
    # The committees draw from their own generator, so the other tables stay as they were.
    committee_rng = random.Random(seed + 1)
    members = list(member_rows(committee_rng, villages, person, mobile))
    places = {v.code: [a for g in v.grids for a in g.areas] for v in villages}
    commitments = list(commitment_rows(committee_rng, members, places))
    tables["committee_members"] = members
    tables["commitments"] = commitments
    counts["committee_members"], counts["commitments"] = len(members), len(commitments)
    out.mkdir(parents=True, exist_ok=True)
    temps = {name: out / f".{name}.csv.tmp" for name in tables}
    try:
        for name, rows in tables.items():
            _write(temps[name], FIELDS[name], rows)
        for name, temp in temps.items():
            os.replace(temp, out / f"{name}.csv")
    finally:
        for temp in temps.values():
            temp.unlink(missing_ok=True)
    return counts


def generate_command(out: Path, sizes: Sizes = Sizes(), seed: int = DEFAULT_SEED) -> int:
    """`sunshine generate`: exit code 0 on success, 1 when the files cannot be written, 2 for bad sizes."""
    try:
        counts = generate(out, sizes, seed)
    except ValueError as exc:
        click.echo(f"无法生成：{exc}", err=True)
        return 2
    except OSError as exc:
        click.echo(f"无法写入 {out}：{exc.strerror or exc}。请检查目录是否存在、是否有写入权限。", err=True)
        return 1
    summary = "，".join(f"{TITLES[name]} {n:,} 行" for name, n in counts.items())
    click.echo(f"已在 {out} 生成示例数据：{summary}。")
    return 0


TITLES = {
    "villages": "村（社区）",
    "grids": "网格",
    "grid_staff": "网格人员",
    "disclosures": "公开事项",
    "petitions": "诉求",
    "committee_members": "两委成员",
    "commitments": "公开承诺",
}
