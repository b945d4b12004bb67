"""公开时限: the rules as data, and the one definition of 按时 / 逾期 / 未公开 at its edges."""

from __future__ import annotations

import csv
import re
import shutil
import sqlite3
from collections import Counter
from datetime import date
from pathlib import Path

import pytest

from sunshine.database.build import build_database
from sunshine.deadlines.periods import Period, due_date
from sunshine.deadlines.rules import FILENAME, RulesError, check_villages, load, parse
from sunshine.deadlines.status import compute, project_statuses
from sunshine.package import Project
from sunshine.portal.metadata import load_overlay
from sunshine.problems import BuildError
from sunshine.sample.generate import Sizes, generate
from sunshine.sample.schedule import RULES_FILE
from sunshine.site.pages.deadlines import lapse_order
from sunshine.validate.run import validate_project

from .conftest import ROOT, copy_package

CATEGORIES = ["党务公开", "村务公开", "财务公开"]
TOPICS = ["年度工作计划", "工程项目", "集体资金收支", "低保", "党费收缴"]
VILLAGES = {"990101101201": "桃源村", "990101101202": "石桥村"}

MONTHLY = """
[[rule]]
id = "finance-monthly"
name = "财务收支每月公开"
category = "财务公开"
topic = "集体资金收支"
every = "month"
due_months = 1
due_day = 10
from = 2024-01-01
basis = "村民委员会组织法第三十条"
"""


def rules(text: str):
    return parse(text, categories=CATEGORIES, topics=TOPICS)


def disclosure(n: int, period: str, published: str, *, code: str = "990101101201", **kw: str) -> dict:
    row = {
        "disclosure_id": f"D{n:08d}",
        "village_code": code,
        "category": "财务公开",
        "topic": "集体资金收支",
        "period": period,
        "published_on": published,
    }
    return {**row, **kw}


def judged(text: str, rows: list[dict], as_of: str, villages=None) -> list[tuple]:
    out = compute(rules(text), villages or {"990101101201": "桃源村"}, rows, date.fromisoformat(as_of))
    return [(s.period, s.status, s.days_late, s.disclosure_id) for s in out]


def test_a_disclosure_on_its_deadline_day_is_on_time_and_the_next_day_is_one_day_late() -> None:
    rows = [disclosure(1, "2024-01", "2024-02-10"), disclosure(2, "2024-02", "2024-03-11")]
    assert judged(MONTHLY, rows, "2024-03-31") == [
        ("2024-01", "按时", None, "D00000001"),
        ("2024-02", "逾期", 1, "D00000002"),
        ("2024-03", "未到期", None, None),
    ]


def test_a_period_is_missing_only_once_its_deadline_has_passed() -> None:
    assert judged(MONTHLY, [disclosure(1, "2024-03", "2024-04-10")], "2024-04-10") == [
        ("2024-01", "未公开", None, None),
        ("2024-02", "未公开", None, None),
        ("2024-03", "按时", None, "D00000001"),
        ("2024-04", "未到期", None, None),
    ]


def test_a_deadline_on_the_31st_falls_on_the_last_day_of_february_in_leap_years_and_others() -> None:
    january_2024, january_2025 = Period.parse("2024-01"), Period.parse("2025-01")
    assert due_date(january_2024, 1, 31) == date(2024, 2, 29)
    assert due_date(january_2025, 1, 31) == date(2025, 2, 28)
    text = MONTHLY.replace("due_day = 10", "due_day = 31")
    rows = [
        disclosure(1, "2024-01", "2024-02-29"),
        disclosure(2, "2025-01", "2025-02-28"),
    ]
    statuses = compute(rules(text), {"990101101201": "桃源村"}, rows, date(2025, 3, 1))
    by_period = {s.period: (s.due_on, s.status) for s in statuses}
    assert by_period["2024-01"] == ("2024-02-29", "按时")
    assert by_period["2025-01"] == ("2025-02-28", "按时")


def test_a_quarter_counts_the_months_inside_it_and_ends_on_the_last_day_of_its_third_month() -> None:
    text = MONTHLY.replace('every = "month"', 'every = "quarter"').replace("due_months = 1", "due_months = 3")
    text = text.replace("due_day = 10", "due_day = 15")
    rows = [disclosure(1, "2024-03", "2024-04-15"), disclosure(2, "2024-04", "2024-07-16")]
    assert judged(text, rows, "2024-07-31") == [
        ("2024-Q1", "按时", None, "D00000001"),
        ("2024-Q2", "逾期", 1, "D00000002"),
        ("2024-Q3", "未到期", None, None),
    ]


def test_a_rule_starting_mid_year_judges_only_the_periods_after_it() -> None:
    text = MONTHLY.replace("from = 2024-01-01", "from = 2024-07-15")
    assert [p for p, *_ in judged(text, [disclosure(1, "2024-06", "2024-07-01")], "2024-10-31")] == [
        "2024-08",
        "2024-09",
        "2024-10",
    ]


def test_a_correction_published_after_the_deadline_keeps_the_on_time_status() -> None:
    rows = [
        disclosure(2, "2024-01", "2024-02-20", title="2024年1月财务收支公开（更正）"),
        disclosure(1, "2024-01", "2024-02-08"),
    ]
    statuses = compute(rules(MONTHLY), {"990101101201": "桃源村"}, rows, date(2024, 2, 29))
    assert [(s.period, s.status, s.disclosure_id, s.later_count) for s in statuses] == [
        ("2024-01", "按时", "D00000001", 1),
        ("2024-02", "未到期", None, 0),
    ]


def test_an_exempt_village_is_shown_exempt_with_its_reason_and_the_others_are_judged() -> None:
    text = (
        MONTHLY
        + """
[[exemption]]
rule = "finance-monthly"
village_code = "990101101202"
from = 2024-02-01
reason = "集体财务往来较少，按季度公开"
basis = "镇人民政府同意"
"""
    )
    statuses = compute(rules(text), VILLAGES, [], date(2024, 3, 31))
    assert [(s.village_name, s.period, s.status, s.note) for s in statuses] == [
        ("桃源村", "2024-01", "未公开", ""),
        ("桃源村", "2024-02", "未公开", ""),
        ("桃源村", "2024-03", "未到期", ""),
        ("石桥村", "2024-01", "未公开", ""),
        ("石桥村", "2024-02", "免于公开", "集体财务往来较少，按季度公开（镇人民政府同意）"),
        ("石桥村", "2024-03", "免于公开", "集体财务往来较少，按季度公开（镇人民政府同意）"),
    ]


def test_a_rule_for_some_villages_judges_only_them_and_other_topics_do_not_count() -> None:
    text = MONTHLY.replace('basis = "', 'villages = ["990101101202"]\nbasis = "')
    rows = [disclosure(1, "2024-01", "2024-02-01", code="990101101202", topic="低保")]
    statuses = compute(rules(text), VILLAGES, rows, date(2024, 2, 29))
    assert [(s.village_name, s.period, s.status) for s in statuses] == [
        ("石桥村", "2024-01", "未公开"),
        ("石桥村", "2024-02", "未到期"),
    ]


def test_a_matter_disclosed_at_once_is_judged_from_the_end_of_the_month_it_happened_in() -> None:
    text = """
[[rule]]
id = "projects"
name = "工程项目随时公开"
category = "村务公开"
topic = "工程项目"
every = "event"
within_days = 10
from = 2024-01-01
basis = "第三十条：涉及村民利益的重大事项应当随时公布"
"""
    rows = [
        disclosure(1, "2024-02", "2024-03-10", category="村务公开", topic="工程项目"),
        disclosure(2, "2024-02", "2024-03-11", category="村务公开", topic="工程项目"),
    ]
    assert judged(text, rows, "2024-12-31") == [
        ("2024-02", "按时", None, "D00000001"),
        ("2024-02", "逾期", 1, "D00000002"),
    ]


def test_statuses_depend_on_the_data_alone_judged_on_the_latest_publication_day() -> None:
    statuses = compute(rules(MONTHLY), {"990101101201": "桃源村"}, [disclosure(1, "2024-01", "2024-02-10")])
    assert [(s.period, s.status, s.as_of) for s in statuses] == [
        ("2024-01", "按时", "2024-02-10"),
        ("2024-02", "未到期", "2024-02-10"),
    ]


def test_mistakes_in_the_rules_are_listed_in_chinese_naming_the_rule_and_the_key() -> None:
    text = MONTHLY.replace('"财务公开"', '"财务"').replace("due_day = 10", "due_day = 40")
    text = text.replace('every = "month"', 'every = "month"\nevery_other = 1')
    text += '[[exemption]]\nrule = "nope"\nvillage_code = "990101101201"\nfrom = "2024-13-01"\nreason = "x"\nbasis = "y"\n'
    with pytest.raises(RulesError) as caught:
        rules(text)
    assert [(p.code, p.column) for p in caught.value.problems] == [
        ("unknown-key", "every_other"),
        ("bad-category", "category"),
        ("bad-number", "due_day"),
        ("unknown-rule", "rule"),
        ("bad-date", "from"),
    ]
    category = next(n for n, line in enumerate(text.splitlines(), 1) if line.startswith("category"))
    exemption_from = len(text.splitlines()) - 2
    assert (
        f"deadlines.toml：第 {category} 行，第 1 条规则（finance-monthly）的 category“财务”不是公开类别"
        in str(caught.value)
    )
    assert f"deadlines.toml：第 {exemption_from} 行，第 1 条豁免的 from 不是日期：“2024-13-01”。" in str(
        caught.value
    )
    assert (
        "第 1 条规则（finance-monthly）的 due_day 应为 1 到 31 之间的整数，现在是“40”。请改成这个范围内的整数（不加引号）"
        in str(caught.value)
    )


@pytest.mark.parametrize(
    "change, expected",
    [
        (
            ('every = "month"', 'every = ["quarter"]'),
            '的 every 应为 month、quarter、year 或 event，现在是“["quarter"]”',
        ),
        (('id = "finance-monthly"', 'id = ["x"]'), '第 1 条规则（["x"]）缺少 id，或它不是文字'),
        (("from = 2024-01-01", "from = [2024-01-01]"), "的 from 不是日期：“[2024-01-01]”"),
        (("due_day = 10", "due_day = {a = 1}"), "的 due_day 应为 1 到 31 之间的整数，现在是“{a = 1}”"),
    ],
)
def test_a_value_of_the_wrong_kind_is_shown_as_the_file_writes_it(change, expected) -> None:
    with pytest.raises(RulesError) as caught:
        rules(MONTHLY.replace(*change))
    assert expected in str(caught.value)


def test_a_typing_mistake_in_the_file_is_located_by_line_in_chinese() -> None:
    with pytest.raises(RulesError) as caught:
        rules(MONTHLY.replace("due_day = 10", "due_day = 十"))
    assert str(caught.value) == (
        "deadlines.toml：无法读取：第 9 行第 11 列附近写法有误。请检查引号、方括号和等号；文字要加引号，日期写成 2026-01-01"
    )


def test_a_village_the_rules_name_must_exist() -> None:
    text = MONTHLY.replace('basis = "', 'villages = ["990101101299"]\nbasis = "')
    with pytest.raises(RulesError, match="990101101299 不是本乡镇的村（社区）代码"):
        check_villages(rules(text), set(VILLAGES))


def test_the_committed_rules_are_the_sample_townships_and_cite_their_legal_basis(repo: Project) -> None:
    assert (ROOT / FILENAME).read_bytes() == RULES_FILE.read_bytes()
    loaded, _ = project_statuses(repo)
    assert [r.id for r in loaded.rules] == [
        "party-quarterly",
        "affairs-quarterly",
        "finance-day",
        "finance-monthly",
        "annual-plan",
        "projects-at-once",
    ]
    assert all(r.basis for r in loaded.rules)
    assert "第三十条" in loaded.basis and "第三十一条" in loaded.basis
    assert [(e.rule, e.village_code) for e in loaded.exemptions] == [("finance-monthly", "990101101202")]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Project:
    """The sample township as `sunshine generate` writes it, with the sample rules."""
    root = tmp_path_factory.mktemp("demo")
    generate(root / "generated", Sizes())
    copy_package(ROOT, root / "pkg", data_from=root / "generated")
    shutil.copy(RULES_FILE, root / "pkg" / FILENAME)
    return Project.load(root / "pkg")


def test_the_demo_township_has_one_missing_and_one_late_disclosure_and_an_exemption(demo: Project) -> None:
    _, statuses = project_statuses(demo)
    counts = Counter(s.status for s in statuses)
    assert counts["未公开"] == 1 and counts["逾期"] == 1 and counts["免于公开"] > 0
    lapses = [(s.rule_id, s.status, s.days_late) for s in statuses if s.lapse]
    assert sorted(lapses) == [("finance-monthly", "逾期", 9), ("party-quarterly", "未公开", None)]


def test_the_database_holds_the_same_statuses_and_the_canned_query_lists_the_lapses(
    demo: Project, tmp_path: Path
) -> None:
    build_database(demo, tmp_path / "sunshine.db")
    _, statuses = project_statuses(demo)
    conn = sqlite3.connect(tmp_path / "sunshine.db")
    stored = conn.execute("SELECT village_code, rule_id, period, status, days_late FROM disclosure_deadlines")
    assert sorted(stored.fetchall()) == sorted(
        (s.village_code, s.rule_id, s.period, s.status, s.days_late) for s in statuses
    )
    sql = load_overlay()["queries"]["overdue_and_missing"]["sql"]
    rows = conn.execute(sql, {"village_code": ""}).fetchall()
    assert [(r[3], r[4]) for r in rows] == [("未公开", None), ("逾期", 9)]


def test_wrong_rules_stop_the_database_build_in_chinese_and_keep_the_last_database(
    demo: Project, tmp_path: Path
) -> None:
    target = tmp_path / "sunshine.db"
    build_database(demo, target)
    before = target.read_bytes()
    broken = tmp_path / "broken"
    shutil.copytree(demo.root, broken)
    rules_path = broken / FILENAME
    rules_path.write_text(
        rules_path.read_text(encoding="utf-8").replace('every = "month"', 'every = "fortnight"')
    )
    with pytest.raises(BuildError, match="every 应为 month、quarter、year 或 event"):
        build_database(Project.load(broken), target)
    assert target.read_bytes() == before


def test_rules_saved_by_notepad_with_a_byte_order_mark_are_read(tmp_path: Path) -> None:
    path = tmp_path / FILENAME
    path.write_bytes(b"\xef\xbb\xbf" + MONTHLY.encode("utf-8"))
    assert [r.id for r in load(path, categories=CATEGORIES, topics=TOPICS).rules] == ["finance-monthly"]


def test_rules_saved_in_gbk_are_refused_in_chinese_with_the_way_to_save_them(tmp_path: Path) -> None:
    path = tmp_path / FILENAME
    path.write_bytes(MONTHLY.encode("gbk"))
    with pytest.raises(RulesError) as caught:
        load(path, categories=CATEGORIES, topics=TOPICS)
    assert str(caught.value) == (
        "deadlines.toml：无法读取：文件不是 UTF-8 编码（可能是 GBK）。请用记事本或 WPS “另存为”，编码选 UTF-8"
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("from = 2024-01-01", "from = 2024-01-01T10:00:00"), "的 from 不是日期：2024-01-01 10:00:00"),
        (("from = 2024-01-01", "from = 0024-01-01"), "的 from 是 0024-01-01，不在 1990 年到 2099 年之间"),
        (
            ("from = 2024-01-01", "from = 2024-01-01\nuntil = 2023-12-31"),
            "的 until（2023-12-31）早于 from（2024-01-01）",
        ),
        (('id = "finance-monthly"', 'id = "<b>x</b>"'), "的 id 只能用英文字母、数字和短横线（最长 40 个）"),
        (('name = "财务收支每月公开"', 'name = "' + "长" * 2001 + '"'), "的 name 太长（2001 字）"),
        (('id = "finance-monthly"', "id = {x = 1}"), "缺少 id，或它不是文字"),
    ],
)
def test_nonsense_in_a_rule_is_refused_in_chinese_naming_the_key(
    change: tuple[str, str], message: str
) -> None:
    with pytest.raises(RulesError) as caught:
        rules(MONTHLY.replace(*change))
    assert len(caught.value.problems) == 1
    assert message in str(caught.value)


def test_a_title_that_is_not_text_is_refused() -> None:
    with pytest.raises(RulesError, match="文件开头的 title 应为文字"):
        rules("title = [1]\n" + MONTHLY)


def test_an_exemption_of_a_rule_with_mistakes_reports_only_the_rules_mistake() -> None:
    text = MONTHLY.replace("due_day = 10", "due_day = 0")
    text += '[[exemption]]\nrule = "finance-monthly"\nvillage_code = "990101101201"\nfrom = 2024-01-01\n'
    text += 'reason = "往来少"\nbasis = "镇政府批复"\n'
    with pytest.raises(RulesError) as caught:
        rules(text)
    assert [(p.code, p.column) for p in caught.value.problems] == [("bad-number", "due_day")]


def test_the_site_lists_lapses_as_the_canned_query_does_missing_first_then_the_latest_deadline() -> None:
    rows = [
        {"village_code": "990101101202", "status": "逾期", "due_on": "2026-10-10"},
        {"village_code": "990101101201", "status": "未公开", "due_on": "2026-04-10"},
        {"village_code": "990101101202", "status": "未公开", "due_on": "2026-07-10"},
        {"village_code": "990101101201", "status": "未公开", "due_on": "2026-07-10"},
        {"village_code": "990101101201", "status": "逾期", "due_on": "2026-01-10"},
    ]
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE t (village_code, status, due_on)")
    conn.executemany("INSERT INTO t VALUES (:village_code, :status, :due_on)", rows)
    order = load_overlay()["queries"]["overdue_and_missing"]["sql"].split("ORDER BY")[1].replace("s.", "")
    queried = conn.execute(f"SELECT village_code, status, due_on FROM t ORDER BY {order}").fetchall()
    assert [tuple(r.values()) for r in lapse_order(rows)] == queried
    assert queried[0] == ("990101101201", "未公开", "2026-07-10")


@pytest.mark.parametrize("stray_quote", [False, True], ids=["read-by-polars", "read-by-the-csv-module"])
def test_the_statuses_read_files_with_a_blank_line_and_columns_moved(
    demo: Project, tmp_path: Path, stray_quote: bool
) -> None:
    _, before = project_statuses(demo)
    copy = tmp_path / "pkg"
    shutil.copytree(demo.root, copy)
    path = copy / demo.tables["disclosures"].path
    with path.open(encoding="utf-8", newline="") as f:
        header, *rows = list(csv.reader(f))
    # The last column first, as a spreadsheet may save it, and a blank line. A quote in a cell that
    # is not quoted makes polars refuse the file: the csv module reads it.
    lines = [",".join([header[-1], *header[:-1]]), ""]
    title = header.index("title")
    for i, row in enumerate(rows):
        cells = ['"' + c.replace('"', '""') + '"' for c in row]
        if stray_quote and i == 0:
            cells[title] = '村民说"路灯坏了'
        lines.append(",".join([cells[-1], *cells[:-1]]))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    villages = copy / demo.tables["villages"].path
    head, rest = villages.read_text(encoding="utf-8").split("\n", 1)
    villages.write_text(f"{head}\n\n{rest}", encoding="utf-8")
    _, after = project_statuses(Project.load(copy))
    assert after == before and len(after) > 0


def test_the_statuses_are_kept_for_the_same_inputs_and_computed_again_when_any_changes(
    demo: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    copy = tmp_path / "pkg"
    shutil.copytree(demo.root, copy)
    project = Project.load(copy)
    _, first = project_statuses(project)
    kept = list((tmp_path / "cache" / "sunshine" / "deadline-statuses").glob("*.json"))
    assert len(kept) == 1 and project_statuses(project)[1] == first
    # A kept set that was tampered with is what the next build reads: the proof it was read.
    kept[0].write_text(kept[0].read_text(encoding="utf-8").replace("逾期", "按时"), encoding="utf-8")
    assert [s.status for s in project_statuses(project)[1]] == [
        "按时" if s.status == "逾期" else s.status for s in first
    ]
    # A late disclosure published a day earlier: the statuses follow the data, not the kept set.
    late = next(s for s in first if s.status == "逾期")
    path = copy / demo.tables["disclosures"].path
    text = path.read_text(encoding="utf-8")
    published = late.published_on
    earlier = date.fromisoformat(published).replace(day=date.fromisoformat(published).day - 1).isoformat()
    line = next(x for x in text.splitlines() if x.startswith(late.disclosure_id + ","))
    path.write_text(text.replace(line, line.replace(published, earlier)), encoding="utf-8")
    again = next(s for s in project_statuses(Project.load(copy))[1] if s.disclosure_id == late.disclosure_id)
    assert (again.status, again.days_late) == ("逾期", late.days_late - 1)
    rules = copy / FILENAME
    rules.write_text(rules.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    project_statuses(Project.load(copy))
    assert len(list(kept[0].parent.glob("*.json"))) == 3  # the rules, too, are an input


PERSON_ID = "110105198001011238"
MOBILE = "13912345601"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            ('name = "财务收支每月公开"', f'name = "财务收支每月公开（联系人 {MOBILE}）"'),
            ("personal-phone", "name", "第 1 条规则（finance-monthly）的 name 含有手机号 139****5601"),
        ),
        (
            ('basis = "村民委员会组织法第三十条"', f'basis = "经办人身份证 {PERSON_ID}"'),
            (
                "personal-id",
                "basis",
                "第 1 条规则（finance-monthly）的 basis 含有身份证号 110105********1238",
            ),
        ),
        (
            ("[[rule]]", f'title = "清溪镇 {MOBILE}"\n[[rule]]'),
            ("personal-phone", "title", "文件开头的 title 含有手机号 139****5601"),
        ),
        (
            ('id = "finance-monthly"', f'id = "finance-{PERSON_ID}"'),
            (
                "personal-id",
                "id",
                "第 1 条规则（finance-110105********1238）的 id 含有身份证号 110105********1238",
            ),
        ),
    ],
)
def test_a_personal_number_in_the_rules_is_refused_and_never_repeated_in_full(
    change: tuple[str, str], expected: tuple[str, str, str]
) -> None:
    with pytest.raises(RulesError) as caught:
        rules(MONTHLY.replace(*change))
    code, column, message = expected
    assert [(p.code, p.column) for p in caught.value.problems] == [(code, column)]
    assert message in str(caught.value)
    assert PERSON_ID not in str(caught.value) and MOBILE not in str(caught.value)


def copy_of(demo: Project, tmp_path: Path) -> Path:
    """A township of its own, to change without touching the shared demo."""
    township = tmp_path / "township"
    shutil.copytree(demo.root, township)
    return township


def test_an_exemption_whose_reason_names_a_resident_stops_the_build_and_publishes_nothing(
    demo: Project, tmp_path: Path
) -> None:
    township = copy_of(demo, tmp_path)
    rules_path = township / FILENAME
    reason = f'reason = "户主张三（身份证 {PERSON_ID}，电话 {MOBILE}）外出务工"'
    text = re.sub(r"(?m)^reason = .*$", reason, rules_path.read_text(encoding="utf-8"), count=1)
    rules_path.write_text(text, encoding="utf-8")
    target = tmp_path / "sunshine.db"
    with pytest.raises(BuildError) as caught:
        build_database(Project.load(township), target)
    assert "第 1 条豁免的 reason 含有身份证号 110105********1238" in str(caught.value)
    assert "第 1 条豁免的 reason 含有手机号 139****5601" in str(caught.value)
    assert PERSON_ID not in str(caught.value) and MOBILE not in str(caught.value)
    assert not target.exists()


def test_a_change_to_the_rules_alone_updates_the_statuses_without_a_full_rebuild(
    demo: Project, tmp_path: Path
) -> None:
    township = copy_of(demo, tmp_path)
    target = tmp_path / "sunshine.db"
    build_database(Project.load(township), target)
    rules_path = township / FILENAME
    text = rules_path.read_text(encoding="utf-8")
    rules_path.write_text(text.replace("due_day = 15", "due_day = 5", 1), encoding="utf-8")
    project = Project.load(township)

    summary = build_database(project, target)

    assert summary.endswith("，公开时限规则有变化，重算了公开状态）")
    _, statuses = project_statuses(project)
    with sqlite3.connect(target) as conn:
        stored = conn.execute(
            "SELECT village_code, rule_id, period, status, days_late FROM disclosure_deadlines"
        )
        assert sorted(stored.fetchall()) == sorted(
            (s.village_code, s.rule_id, s.period, s.status, s.days_late) for s in statuses
        )
    assert build_database(project, target).startswith("数据库没有变化")


def test_validate_reports_a_mistake_in_the_rules_that_would_stop_the_build(
    demo: Project, tmp_path: Path
) -> None:
    township = copy_of(demo, tmp_path)
    rules_path = township / FILENAME
    text = rules_path.read_text(encoding="utf-8")
    rules_path.write_text(
        text.replace("财务公开日（每季度首月 15 日）", "财务公开日（书记手机13812345678）", 1),
        encoding="utf-8",
    )

    report = validate_project(Project.load(township))

    assert not report.valid
    assert [(p.file, p.code) for p in report.errors] == [(FILENAME, "personal-phone")]
    assert "138****5678" in report.errors[0].message and "13812345678" not in report.errors[0].message


def test_an_unknown_key_at_the_top_of_the_file_is_named() -> None:
    with pytest.raises(RulesError) as caught:
        rules('titl = "公开时限"\n' + MONTHLY)
    assert [(p.code, p.column) for p in caught.value.problems] == [("unknown-key", "titl")]
    assert "文件开头中有未知的项 titl" in str(caught.value)
