"""Notices of the fictional sample township's 三务公开: titles, texts, periods and amounts.

Each builder writes one notice of one topic as a village would post it on its 公开栏.
Amounts are integer cents, so that they always have at most two decimals.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

QUARTERS = ("第一季度", "第二季度", "第三季度", "第四季度")


@dataclass
class Place:
    """What a notice needs to know about its village."""

    code: str
    short: str  # e.g. 桃源村 or 清溪社区
    kind: str  # 村 or 社区
    township: str
    households: int
    population: int
    groups: list[str]  # 村民小组 or 小区, e.g. 第三村民小组
    hamlets: list[str]  # 自然村 or streets
    people: list[str]  # fictional residents for notices that name people (发展党员)
    refs: dict[tuple[str, int], int] = field(default_factory=dict)

    @property
    def party_org(self) -> str:
        return "社区党委" if self.kind == "社区" else "村党支部"

    @property
    def party(self) -> str:
        """The Party organisation by its full name, e.g. 桃源村党支部."""
        return self.short + self.party_org.removeprefix("社区").removeprefix("村")

    @property
    def land(self) -> list[str]:
        """Where the collective land lies: 村民小组, or the former ones of a residents' committee."""
        if self.kind == "社区":
            return [f"原{g}" for g in ("第一村民小组", "第二村民小组", "第三村民小组")]
        return self.groups

    @property
    def party_minutes(self) -> str:
        return "社区党委会议纪要" if self.kind == "社区" else "村党支部委员会会议纪要"

    @property
    def committee(self) -> str:
        return "居民委员会" if self.kind == "社区" else "村民委员会"

    @property
    def supervision(self) -> str:
        return "居务监督委员会" if self.kind == "社区" else "村务监督委员会"

    @property
    def cooperative(self) -> str:
        return "社区股份经济合作社" if self.kind == "社区" else "村股份经济合作社"

    @property
    def meeting(self) -> str:
        return "居民代表会议" if self.kind == "社区" else "村民代表会议"

    @property
    def affairs(self) -> str:
        return "居务公开" if self.kind == "社区" else "村务公开"

    @property
    def scale(self) -> float:
        """Amounts grow with the size of the village."""
        return min(2.5, max(0.5, self.households / 600))

    def ref(self, kind: str, year: int) -> str:
        """A document of a series of this village in a year, e.g. 村民代表会议决议〔2024〕#号.

        The # is numbered once all notices are in order of publication (see number_refs).
        """
        return f"{kind}〔{year}〕{REF_MARK}号"


REF_MARK = "#"


def number_refs(refs: list[tuple[str, str]]) -> list[str]:
    """Number the (village code, ref) pairs in order: the n-th document of a series in a year is n号."""
    seen: dict[tuple[str, str], int] = {}
    out = []
    for code, ref in refs:
        if REF_MARK not in ref:
            out.append(ref)
            continue
        n = seen[(code, ref)] = seen.get((code, ref), 0) + 1
        out.append(ref.replace(REF_MARK, str(n)))
    return out


@dataclass
class Notice:
    topic: str
    title: str
    content: str
    period: str
    published: tuple[int, int, int]
    cents: int | None = None
    direction: str = ""
    approval_ref: str = ""
    responsible: str = ""


def yuan(cents: int) -> str:
    """Cents as they are written in a notice: 156,800.00 元."""
    return f"{cents // 100:,}.{cents % 100:02d}元"


def prev_month(y: int, m: int) -> tuple[int, int]:
    """The month before, but not before January 2024 (the first month of the data)."""
    if (y, m) <= (2024, 1):
        return y, m
    return (y, m - 1) if m > 1 else (y - 1, 12)


def next_month(y: int, m: int) -> tuple[int, int]:
    return (y, m + 1) if m < 12 else (y + 1, 1)


def after_quarter(y: int, q: int) -> tuple[int, int]:
    """The first month after a quarter, when its accounts are posted."""
    return (y, 3 * q + 1) if q < 4 else (y + 1, 1)


def prev_quarter(y: int, m: int) -> tuple[int, int]:
    q = (m - 1) // 3 + 1
    if (y, q) <= (2024, 1):
        return y, q
    return (y, q - 1) if q > 1 else (y - 1, 4)


OBJECTION = (
    "公示期为七天。如有异议，请在公示期内向{sup}反映。",
    "欢迎广大群众监督，如有疑问请向{sup}反映，监督电话见公开栏。",
    "如有异议，请于公示之日起七日内向{sup}书面或口头反映。",
)


def _objection(rng: random.Random, p: Place) -> str:
    return rng.choice(OBJECTION).format(sup=p.supervision)


def _round(rng: random.Random, lo: float, hi: float, step: int = 100) -> int:
    """A random amount in yuan rounded to `step` yuan, as cents."""
    return int(rng.uniform(lo, hi) / step) * step * 100


def _cents(rng: random.Random, lo: float, hi: float) -> int:
    return int(rng.uniform(lo, hi) * 100)


# ---- 财务公开 ---------------------------------------------------------------------------------------


def land_transfer(rng: random.Random, p: Place, y: int, m: int) -> Notice:
    group = rng.choice(p.land)
    mu = rng.randrange(40, 420) if p.kind == "村" else rng.randrange(15, 60)
    price = rng.choice((450, 500, 550, 600, 650, 700, 750, 800))
    buyer = rng.choice(("果蔬专业合作社", "家庭农场", "茶叶种植合作社", "水稻种植大户", "苗木公司"))
    cents = mu * price * 100
    half = rng.random() < 0.3
    if half:
        cents //= 2
    return Notice(
        "集体资金收支",
        f"{p.short}{y}年{'上半年' if half else '度'}土地流转费收入公开",
        f"经{p.meeting}讨论同意，{group}集体耕地{mu}亩流转给{buyer}经营，流转费每亩每年{price}元。"
        f"{y}年{'上半年' if half else ''}流转费{yuan(cents)}已全额转入{p.cooperative}账户，"
        f"按章程用于集体公益事业和成员分红。{_objection(rng, p)}",
        str(y),
        (y, m, rng.randint(3, 25)),
        cents,
        "收入",
        p.ref(f"{p.meeting}决议", y - (1 if m < 3 and rng.random() < 0.5 else 0)),
        p.cooperative,
    )


ASSETS = (
    ("临街门面房", 12000, 60000),
    ("原村小学校舍", 8000, 30000),
    ("村集体厂房", 30000, 150000),
    ("集体鱼塘", 5000, 25000),
    ("集体山林", 10000, 60000),
    ("农贸市场摊位", 20000, 80000),
)


def asset_rent(rng: random.Random, p: Place, y: int, m: int) -> Notice:
    asset, lo, hi = rng.choice(ASSETS)
    years = rng.choice((3, 5, 5, 10))
    cents = int(_round(rng, lo, hi) * p.scale) // 10000 * 10000
    return Notice(
        "集体资产资源",
        f"{p.short}关于{asset}出租（承包）收入的公示",
        f"{p.short}{asset}经{p.meeting}表决，通过镇农村产权交易平台公开竞价出租，租期{years}年。"
        f"本年度租金{yuan(cents)}已于{m}月收取并入账，合同文本可在{p.committee}查阅。"
        f"{_objection(rng, p)}",
        str(y),
        (y, m, rng.randint(5, 28)),
        cents,
        "收入",
        p.ref("集体资产租赁合同", y),
        p.cooperative,
    )


def transfer_payment(rng: random.Random, p: Place, y: int, m: int) -> Notice:
    what, lo, hi = rng.choice(
        (
            ("村级组织运转经费", 60000, 150000),
            ("一事一议财政奖补资金", 100000, 400000),
            ("人居环境整治奖补资金", 30000, 120000),
            ("村级公益事业建设补助资金", 50000, 200000),
        )
    )
    cents = _round(rng, lo, hi, 1000)
    return Notice(
        "集体资金收支",
        f"{p.short}收到上级转移支付资金（{what}）的公开",
        f"{y}年{m}月，{p.short}收到上级财政转移支付{what}{yuan(cents)}，"
        f"资金已纳入村级账户统一管理、专款专用，使用情况将按季度公开。{_objection(rng, p)}",
        f"{y}-{m:02d}",
        (y, m, rng.randint(5, 28)),
        cents,
        "收入",
        f"{p.township[0]}财预〔{y}〕{rng.randint(3, 60)}号",
        p.committee,
    )


def small_income(rng: random.Random, p: Place, y: int, m: int) -> Notice:
    py, pq = prev_quarter(y, m)
    y, m = after_quarter(py, pq)
    what, cents = rng.choice(
        (
            ("村级光伏电站发电收益", _cents(rng, 6000, 45000)),
            ("集体资金存款利息", _cents(rng, 200, 3000)),
            ("农贸市场摊位管理费", _cents(rng, 3000, 18000)),
        )
    )
    return Notice(
        "集体资金收支",
        f"{p.short}{py}年{QUARTERS[pq - 1]}{what}公开",
        f"{py}年{QUARTERS[pq - 1]}{p.short}{what}共计{yuan(cents)}，已全部入账，"
        f"纳入集体经营性收入统一核算。{_objection(rng, p)}",
        f"{py}-Q{pq}",
        (y, m, rng.randint(1, 20)),
        cents,
        "收入",
        "",
        p.cooperative,
    )


def road_payment(rng: random.Random, p: Place, y: int, m: int) -> Notice:
    a, b = rng.sample(p.hamlets, 2) if len(p.hamlets) > 1 else (p.hamlets[0], "村部")
    length = rng.randrange(300, 2200, 10)
    width = rng.choice((3.5, 4.0, 4.5))
    total = int(length * width * rng.uniform(170, 260)) // 100 * 100
    stage, share = rng.choice((("预付款", 0.3), ("进度款", 0.4), ("结算款", 0.27), ("质保金", 0.03)))
    cents = int(total * share) * 100
    return Notice(
        "工程项目",
        f"{a}至{b}道路硬化工程{stage}支付公示",
        f"{a}至{b}道路硬化工程全长{length}米、宽{width}米，经{p.meeting}决议实施，合同价{yuan(total * 100)}。"
        f"本次按合同支付{stage}{yuan(cents)}，资金来源为一事一议财政奖补资金和村集体自筹。"
        f"工程质量由{p.supervision}全程监督。{_objection(rng, p)}",
        f"{y}-{m:02d}",
        (y, m, rng.randint(3, 28)),
        cents,
        "支出",
        p.ref(f"{p.meeting}决议", y),
        p.committee,
    )


def monthly_expense(rng: random.Random, p: Place, y: int, m: int) -> Notice:
    py, pm = prev_month(y, m)
    y, m = next_month(py, pm)
    kind = rng.randrange(6)
    if kind == 0:
        n = rng.randrange(2, 9)
        wage = rng.choice((1800, 2000, 2200, 2400, 2600))
        cents = n * wage * 100
        item, detail = "保洁员工资", f"发放保洁员{n}名工资，每人{wage}元"
    elif kind == 1:
        n = rng.randrange(3, 30)
        cents = n * _cents(rng, 150, 420)
        item, detail = "路灯维修费", f"更换、维修路灯{n}盏，含灯具和线路材料费"
    elif kind == 2:
        cents = _cents(rng, 800, 6000)
        item, detail = "办公经费", "支付村部水电费、办公用品和报刊订阅费"
    elif kind == 3:
        cents = _cents(rng, 1500, 6500)
        item, detail = "垃圾清运费", "支付生活垃圾转运费用，按实际清运车次结算"
    elif kind == 4:
        cents = _round(rng, 3000, 60000)
        item, detail = "水利设施维修费", f"{rng.choice(p.hamlets)}山塘加固和沟渠清淤"
    else:
        n = rng.randrange(10, 60)
        cents = n * rng.choice((200, 300, 500)) * 100
        item, detail = "走访慰问支出", f"走访慰问困难群众和老党员{n}户"
    return Notice(
        "集体资金收支",
        f"{p.short}{py}年{pm}月财务收支公开（{item}）",
        f"{py}年{pm}月，{detail}，共计支出{yuan(cents)}。支出凭证已经{p.supervision}审核签字，"
        f"镇农村集体“三资”管理平台可查。{_objection(rng, p)}",
        f"{py}-{pm:02d}",
        (y, m, rng.randint(1, 15)),
        cents,
        "支出",
        "",
        p.committee,
    )


def subsidy_payment(rng: random.Random, p: Place, y: int, m: int) -> Notice:
    what, per_lo, per_hi, office = rng.choice(
        (
            ("耕地地力保护补贴", 300, 1500, "农补"),
            ("高龄津贴", 600, 1200, "民"),
            ("残疾人两项补贴", 800, 1600, "民"),
            ("农机购置补贴", 3000, 12000, "农补"),
        )
    )
    n = max(3, int(rng.randrange(8, 120) * p.scale)) if what != "农机购置补贴" else rng.randrange(1, 6)
    cents = sum(_round(rng, per_lo, per_hi, 10) for _ in range(min(n, 20))) * n // min(n, 20)
    cents = cents // 100 * 100
    return Notice(
        "惠民补贴",
        f"{p.short}{y}年{what}发放情况公示",
        f"经审核，{p.short}{y}年符合{what}发放条件的共{n}户，发放金额合计{yuan(cents)}，"
        f"资金已通过“一卡通”直接发放到户。分户明细已在{p.affairs}栏张贴（已隐去身份证号等个人信息）。"
        f"{_objection(rng, p)}",
        str(y),
        (y, m, rng.randint(5, 28)),
        cents,
        "支出",
        f"{p.township[0]}{office}〔{y}〕{rng.randint(2, 40)}号",
        p.committee,
    )


def debt(rng: random.Random, p: Place, y: int, m: int) -> Notice:
    ly = y - 1 if y > 2024 else y
    claims = _round(rng, 20000, 300000)
    debts = _round(rng, 0, 200000)
    repay = min(debts, _round(rng, 10000, 80000))
    if repay:
        return Notice(
            "债权债务",
            f"{p.short}偿还村级债务情况公开",
            f"截至{ly}年底，{p.short}集体债权{yuan(claims)}，债务{yuan(debts)}。"
            f"经{p.meeting}决议，本次偿还历年工程欠款{yuan(repay)}，剩余债务将分年度化解。"
            f"{_objection(rng, p)}",
            str(ly),
            (y, m, rng.randint(5, 28)),
            repay,
            "支出",
            p.ref(f"{p.meeting}决议", y),
            p.committee,
        )
    return Notice(
        "债权债务",
        f"{p.short}{ly}年末债权债务情况公开",
        f"截至{ly}年底，{p.short}集体债权{yuan(claims)}，无村级债务。{_objection(rng, p)}",
        str(ly),
        (y, m, rng.randint(5, 28)),
        None,
        "",
        "",
        p.supervision,
    )


def party_dues(rng: random.Random, p: Place, y: int, m: int) -> Notice:
    py, pq = prev_quarter(y, m)
    y, m = after_quarter(py, pq)
    n = max(8, int(rng.randrange(25, 70) * p.scale))
    paid = n - rng.choice((0, 0, 0, 1, 2))
    cents = sum(rng.choice((600, 1200, 1800, 2400, 3000, 6000, 12000)) for _ in range(paid))
    return Notice(
        "党费收缴",
        f"{p.party}{py}年{QUARTERS[pq - 1]}党费收缴情况公示",
        f"{py}年{QUARTERS[pq - 1]}，{p.party}应交党费党员{n}名，实交{paid}名，"
        f"收缴党费合计{yuan(cents)}，已全额上缴镇党委。"
        + ("" if paid == n else f"未按时交纳的{n - paid}名党员已由支部委员提醒补交。"),
        f"{py}-Q{pq}",
        (y, m, rng.randint(1, 20)),
        cents,
        "收入",
        "",
        p.party_org,
    )


# ---- 党务公开 and 村务公开 without amounts -----------------------------------------------------------


def party_member(rng: random.Random, p: Place, y: int, m: int) -> Notice:
    who = rng.sample(p.people, rng.randint(1, 2))
    names = "、".join(f"{n}同志" for n in who)
    stage, extra = rng.choice(
        (
            ("拟确定为入党积极分子", "经党员和群众推荐、支部委员会研究"),
            ("拟列为发展对象", "经一年以上培养考察、听取党员和群众意见"),
            ("拟接收为中共预备党员", "经支部大会讨论表决"),
            ("拟按期转为中共正式党员", "预备期满，经支部大会讨论表决"),
        )
    )
    return Notice(
        "发展党员",
        f"关于{names}{stage}的公示",
        f"{extra}，{names}{stage}，现予公示。公示期间，党员和群众可通过来信、来电或来访向"
        f"{p.party}或镇党委组织办反映情况。反映问题应实事求是，署真实姓名。",
        f"{y}-{m:02d}",
        (y, m, rng.randint(1, 28)),
        approval_ref=p.ref(p.party_minutes, y),
        responsible=p.party_org,
    )


def party_building(rng: random.Random, p: Place, y: int, m: int) -> Notice:
    title, text = rng.choice(
        (
            (
                f"{p.party}{y}年{m}月主题党日活动情况",
                f"{m}月主题党日，{p.party}组织党员学习有关文件精神，开展“党员进网格”志愿服务，"
                f"清理{rng.choice(p.hamlets)}周边卫生死角，走访慰问困难群众和老党员。",
            ),
            (
                f"{p.party}{y}年{QUARTERS[(m - 1) // 3]}“三会一课”开展情况",
                f"本季度召开支部党员大会1次、支部委员会3次，讲党课1次，各党小组组织学习3次，"
                f"党员参学率{rng.randint(88, 100)}%。",
            ),
            (
                f"{p.party}党员积分管理评议结果公示",
                f"根据党员积分管理办法，{p.party}对全体党员{y}年上半年履职情况进行评议，"
                f"评出优秀党员{rng.randint(3, 8)}名，积分结果已在党员活动室公示。",
            ),
            (
                f"{p.party}党员中心户名单调整公告",
                f"为加强网格党建，经支部委员会研究，调整党员中心户{rng.randint(2, 6)}户，"
                f"每户联系周边群众十户左右，名单已在各网格公示牌公开。",
            ),
        )
    )
    return Notice(
        "党组织建设",
        title,
        text,
        f"{y}-{m:02d}",
        (y, m, rng.randint(1, 28)),
        responsible=p.party_org,
    )


def _work_plan(rng: random.Random, p: Place, y: int, party: bool) -> Notice:
    mm = rng.randint(1, 3)
    org = p.party if party else p.short + p.committee
    items = rng.sample(
        (
            f"完成{rng.choice(p.hamlets)}道路硬化",
            "推进人居环境整治和垃圾分类",
            "发展壮大村级集体经济",
            "做好低保、特困供养等民生保障",
            "深化网格化服务管理",
            "开展矛盾纠纷排查化解",
            "规范集体“三资”管理",
            "加强党员教育管理",
            "完善村规民约，推进移风易俗",
            "实施农田水利设施维修",
        ),
        4,
    )
    text = "；".join(f"{i + 1}.{item}" for i, item in enumerate(items))
    return Notice(
        "年度工作计划",
        f"{org}{y}年工作{'要点' if party else '计划'}",
        f"{y}年主要工作：{text}。具体安排经{p.meeting}讨论通过，执行情况将按季度公开。",
        str(y),
        (y, mm, rng.randint(5, 28)),
        approval_ref=p.ref(p.party_minutes if party else f"{p.meeting}决议", y),
        responsible=p.party_org if party else p.committee,
    )


def party_plan(rng: random.Random, p: Place, y: int, m: int) -> Notice:
    return _work_plan(rng, p, y, party=True)


def village_plan(rng: random.Random, p: Place, y: int, m: int) -> Notice:
    return _work_plan(rng, p, y, party=False)


MATTERS = (
    "{h}道路拓宽",
    "新建文化广场",
    "集体鱼塘对外发包",
    "人居环境整治实施方案",
    "修订村规民约",
    "屋顶光伏项目建设",
    "{h}饮水工程改造",
    "集体经营性资产收益分配方案",
    "村级公益性岗位设置",
    "{h}山塘除险加固",
)


def resolution(rng: random.Random, p: Place, y: int, m: int) -> Notice:
    matter = rng.choice(MATTERS).format(h=rng.choice(p.hamlets))
    total = rng.randint(25, 45)
    yes = total - rng.randint(0, 4)
    return Notice(
        "村民代表会议决议",
        f"关于{matter}的{p.meeting}决议公告",
        f"{y}年{m}月，{p.short}召开{p.meeting}，应到代表{total}名，实到{yes}名，"
        f"经“四议两公开”程序，表决通过{matter}事项（同意{yes - rng.randint(0, 2)}票）。"
        f"决议由{p.committee}组织实施，{p.supervision}全程监督。",
        f"{y}-{m:02d}",
        (y, m, rng.randint(1, 28)),
        approval_ref=p.ref(f"{p.meeting}决议", y),
        responsible=p.committee,
    )


def project_stage(rng: random.Random, p: Place, y: int, m: int) -> Notice:
    what = rng.choice(("道路硬化工程", "路灯安装工程", "饮水安全工程", "文化广场建设工程", "沟渠清淤工程"))
    name = f"{rng.choice(p.hamlets)}{what}"
    stage, text = rng.choice(
        (
            ("招标公告", "经镇招标站审核，采用公开招标方式确定施工单位，报名截止时间为公告后十日。"),
            (
                "中标结果公示",
                f"经公开招标，确定中标单位为青禾县某建筑工程有限公司，工期{rng.randint(30, 120)}天。",
            ),
            ("开工公告", f"工程于{m}月开工，{p.supervision}派员全程监督施工质量。"),
            ("竣工验收公示", "工程已完工，经镇村镇建设办组织验收合格，工程结算将另行公开。"),
        )
    )
    return Notice(
        "工程项目",
        f"{name}{stage}",
        f"{name}经{p.meeting}决议实施。{text}{_objection(rng, p)}",
        f"{y}-{m:02d}",
        (y, m, rng.randint(1, 28)),
        approval_ref=p.ref(f"{p.meeting}决议", y),
        responsible=p.committee,
    )


def dibao(rng: random.Random, p: Place, y: int, m: int) -> Notice:
    py, pq = prev_quarter(y, m)
    y, m = after_quarter(py, pq)
    n = max(2, int(rng.randrange(6, 30) * p.scale))
    people = n + rng.randrange(n // 2, n + 1)
    if rng.random() < 0.6:
        cents = sum(_round(rng, 1200, 2600, 10) for _ in range(n))
        return Notice(
            "低保",
            f"{p.short}{py}年{QUARTERS[pq - 1]}低保金发放情况公示",
            f"{py}年{QUARTERS[pq - 1]}，{p.short}共有低保户{n}户{people}人，发放低保金合计{yuan(cents)}，"
            f"已由民政部门通过“一卡通”发放到户。为保护个人信息，公示不含身份证号和家庭住址。"
            f"{_objection(rng, p)}",
            f"{py}-Q{pq}",
            (y, m, rng.randint(1, 20)),
            cents,
            "支出",
            f"{p.township[0]}民〔{py}〕{rng.randint(5, 60)}号",
            p.committee,
        )
    new, out = rng.randint(1, 3), rng.randint(0, 3)
    change = f"拟新增低保户{new}户" + (f"、退出{out}户" if out else "")
    return Notice(
        "低保",
        f"{p.short}{py}年{QUARTERS[pq - 1]}低保对象动态调整评议结果公示",
        f"经入户调查、民主评议，{p.short}本季度{change}，调整后共有低保户{n}户。"
        f"评议结果报镇社会事务办审核。{_objection(rng, p)}",
        f"{py}-Q{pq}",
        (y, m, rng.randint(1, 20)),
        approval_ref=p.ref("民主评议会议记录", y),
        responsible=p.committee,
    )


def homestead(rng: random.Random, p: Place, y: int, m: int) -> Notice:
    n = rng.randint(1, 4)
    group = rng.choice(p.land)
    area = rng.randrange(90, 150, 5)
    return Notice(
        "宅基地审批",
        f"{p.short}{y}年{m}月农村宅基地申请审核公示（{group}）",
        f"{group}共{n}户申请在原址或村庄规划区内新建住宅，每户占地面积不超过{area}平方米，不占用永久基本农田，"
        f"符合“一户一宅”规定。经{p.meeting}讨论同意，现予公示，公示期满无异议后报镇政府审批。"
        f"{_objection(rng, p)}",
        f"{y}-{m:02d}",
        (y, m, rng.randint(1, 28)),
        approval_ref=p.ref(f"{p.meeting}决议", y),
        responsible=p.committee,
    )


def land_compensation(rng: random.Random, p: Place, y: int, m: int) -> Notice:
    project = rng.choice(("县道改扩建工程", "高速公路连接线", "产业园区道路", "镇污水处理厂", "输变电工程"))
    mu = round(rng.uniform(5, 120), 1)
    per = rng.choice((32000, 38000, 45000, 52000))
    cents = int(mu * per) * 100
    group = rng.choice(p.land)
    return Notice(
        "征地补偿",
        f"{project}征收{group}集体土地补偿款分配方案公示",
        f"{project}征收{group}集体土地{mu}亩，征地补偿款{yuan(cents)}已拨付至村集体账户。"
        f"分配方案经{p.meeting}讨论通过：土地补偿费按规定比例留存集体，其余连同安置补助费发放到被征地农户。"
        f"{_objection(rng, p)}",
        f"{y}-{m:02d}",
        (y, m, rng.randint(1, 28)),
        cents,
        "收入",
        f"{p.township[0]}征补〔{y}〕{rng.randint(1, 30)}号",
        p.committee,
    )


def village_rules(rng: random.Random, p: Place, y: int, m: int) -> Notice:
    clauses = rng.sample(
        (
            "红白喜事简办，宴席不超过十桌",
            "垃圾分类投放，不乱倒乱堆",
            "不在河塘边焚烧秸秆和垃圾",
            "孝老爱亲，赡养老人",
            "邻里和睦，有事协商",
            "爱护公共设施，保护集体土地",
            "文明养犬，犬只拴养",
            "不参与赌博，抵制封建迷信",
        ),
        4,
    )
    text = "；".join(clauses)
    return Notice(
        "村规民约",
        f"{p.short}{'居民公约' if p.kind == '社区' else '村规民约'}（{y}年修订）公告",
        f"经广泛征求意见、{p.meeting}表决通过，修订后的主要条款：{text}。"
        f"执行情况纳入积分制管理，每季度评选“红榜”。",
        str(y),
        (y, m, rng.randint(1, 28)),
        approval_ref=p.ref(f"{p.meeting}决议", y),
        responsible=p.committee,
    )


def small_powers(rng: random.Random, p: Place, y: int, m: int) -> Notice:
    n = rng.randint(28, 40)
    return Notice(
        "小微权力清单",
        f"{p.short}{'' if p.kind == '社区' else '村级'}小微权力清单（{y}年版）",
        f"{p.short}{'' if p.kind == '社区' else '村级'}小微权力清单共{n}项，包括集体资产资源处置、工程项目建设、低保申请初审、"
        f"宅基地申请初审、印章使用等，每项均附运行流程图，做到“清单之外无权力”。",
        str(y),
        (y, m, rng.randint(1, 28)),
        approval_ref=p.ref(f"{p.meeting}决议", y),
        responsible=p.committee,
    )


def other_affairs(rng: random.Random, p: Place, y: int, m: int) -> Notice:
    title, text = rng.choice(
        (
            ("人居环境整治“红黑榜”", f"{m}月对{len(p.groups)}个片区开展环境卫生评比，评出“清洁户”"
             f"{rng.randint(10, 40)}户，整改户{rng.randint(2, 9)}户。"),
            ("积分制兑换结果公示", f"本季度共有{rng.randint(40, 160)}户参加积分兑换，兑换生活用品"
             f"{rng.randint(200, 900)}件。"),
            ("网格员和网格长调整公告", "因工作需要，调整部分网格的网格长和网格员，新名单已在网格公示牌公开。"),
            ("村务监督委员会季度工作报告", f"本季度审核财务票据{rng.randint(20, 80)}张，列席两委会议"
             f"{rng.randint(2, 6)}次，受理群众反映问题{rng.randint(1, 8)}件，均已答复。"),
        )
    )  # fmt: skip
    return Notice(
        "其他",
        f"{p.short}{y}年{m}月{title}",
        text,
        f"{y}-{m:02d}",
        (y, m, rng.randint(1, 28)),
        responsible=p.supervision if "监督" in title else p.committee,
    )


Builder = Callable[[random.Random, Place, int, int], Notice]

# Category → [(builder, weight)]
BUILDERS: dict[str, tuple[tuple[Builder, int], ...]] = {
    "党务公开": ((party_member, 3), (party_building, 5), (party_dues, 4), (party_plan, 1)),
    "村务公开": (
        (village_plan, 2),
        (resolution, 5),
        (project_stage, 4),
        (dibao, 3),
        (homestead, 3),
        (land_compensation, 1),
        (village_rules, 1),
        (small_powers, 1),
        (other_affairs, 3),
    ),
    "财务公开": (
        (monthly_expense, 9),
        (land_transfer, 3),
        (asset_rent, 3),
        (transfer_payment, 2),
        (small_income, 2),
        (road_payment, 3),
        (subsidy_payment, 3),
        (debt, 1),
    ),
}
CATEGORY_WEIGHTS = (("党务公开", 25), ("村务公开", 35), ("财务公开", 40))
