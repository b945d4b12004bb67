"""A build after each commit ends exactly where a build from nothing of the same commits ends:
the same rows, search results, history and pages. What cannot be updated row by row is rebuilt
in full, and the build says so."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from sunshine.database.build import build_database
from sunshine.history.build import build_history
from sunshine.package import Project
from sunshine.portal import plugin as portal
from sunshine.site.build import build as build_site

from .git_fixture import D1, D2, D3, DISCLOSURES_HEADER, P1, PETITIONS_HEADER, ROOT, commit, make_repo, write

DATASETTE = "http://127.0.0.1:8001"
P3 = P1.replace("2024-0000001", "2024-0000003").replace("村东路灯损坏", "村西水渠堵塞")
DISCLOSURES = DISCLOSURES_HEADER + D1.format(amount="1500.00") + D2 + D3


def build_all(repo: Path) -> dict[str, str]:
    project = Project.load(repo)
    out = repo / "build"
    summaries = {
        "database": build_database(project, out / "sunshine.db"),
        "history": build_history(project, out / "history.db"),
    }
    site = build_site(project, out / "site", datasette_url=DATASETTE)
    summaries["site"] = "dirty" if site.dirty else "full"
    return summaries


def add_remark_column(repo: Path) -> None:
    """A schema-compatible change: an optional column at the end of petitions."""
    path = repo / "schemas" / "petitions.schema.json"
    schema = json.loads(path.read_text(encoding="utf-8"))
    schema["fields"].append({"name": "remark", "type": "string", "title": "备注", "description": "备注。"})
    path.write_text(json.dumps(schema, ensure_ascii=False, indent=2), encoding="utf-8")
    rows = [
        PETITIONS_HEADER.rstrip("\n") + ",remark\n",
        P1.rstrip("\n") + ",已回访\n",
        P3.rstrip("\n") + ",\n",
    ]
    write(repo, "petitions.csv", "".join(rows))


# The public history from the first commit, and from a day in the middle (sunshine.toml's history.start).
STARTS = ["", "2024-06-11"]


@pytest.fixture(scope="module", params=STARTS, ids=["whole history", "history from a date"])
def builds(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, Path, list[dict[str, str]]]:
    """(built after every commit, built once from nothing, the summaries of the builds after each commit)."""
    cache = tmp_path_factory.mktemp("cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XDG_CACHE_HOME", str(cache))
        repo = tmp_path_factory.mktemp("incremental") / "repo"
        make_repo(repo)
        shutil.copy(ROOT / "mkdocs.yml", repo / "mkdocs.yml")
        settings = (ROOT / "sunshine.toml").read_text(encoding="utf-8")
        (repo / "sunshine.toml").write_text(
            settings.replace('start = ""', f'start = "{request.param}"', 1), encoding="utf-8"
        )
        shutil.copytree(ROOT / "content", repo / "content")
        steps = [build_all(repo)]
        write(repo, "petitions.csv", PETITIONS_HEADER + P1 + P3)
        commit(repo, "Add petition 2024-0000003", "2024-06-10T09:00:00+08:00")
        steps.append(build_all(repo))
        write(repo, "petitions.csv", PETITIONS_HEADER + P1 + P3.replace("堵塞", "堵塞，已清理"))
        write(repo, "disclosures.csv", DISCLOSURES.replace("党费收缴情况", "党费收缴情况（更正）"))
        commit(
            repo,
            "Correct a petition and a disclosure\n\n更正原因：标题漏写“更正”，诉求补记处理结果。",
            "2024-06-11T09:00:00+08:00",
        )
        steps.append(build_all(repo))
        write(repo, "petitions.csv", PETITIONS_HEADER + P1 + P3)
        write(repo, "disclosures.csv", DISCLOSURES_HEADER + D1.format(amount="1500.00") + D3)
        commit(repo, "Withdraw the work plan", "2024-06-12T09:00:00+08:00")
        steps.append(build_all(repo))
        write(repo, "disclosures.csv", DISCLOSURES)
        commit(repo, "Publish the work plan again", "2024-06-13T09:00:00+08:00")
        steps.append(build_all(repo))
        add_remark_column(repo)
        commit(repo, "Add a remark to each petition", "2024-06-14T09:00:00+08:00")
        steps.append(build_all(repo))

        cold = tmp_path_factory.mktemp("cold") / "repo"
        shutil.copytree(repo, cold, ignore=shutil.ignore_patterns("build"))
        build_all(cold)
    return repo, cold, steps


def test_each_build_after_a_row_change_updates_only_the_changed_rows(builds):
    _, _, steps = builds
    assert [s["database"].split("，")[-1] for s in steps[1:]] == [
        "按变化的 1 行更新）",
        "按变化的 2 行更新）",
        "按变化的 3 行更新）",  # the correction undone, a disclosure withdrawn
        "按变化的 1 行更新）",
        "全量重建：表结构、词表或程序有变化）",
    ]
    processed = [s["history"].split("：")[1].split("，")[0] for s in steps[1:]]
    sites = [s["site"] for s in steps[1:]]
    if start_of(builds) == "":
        assert processed == ["本次处理 1 个新提交"] * 5
        assert sites == ["dirty"] * 5  # the nav and every title stayed the same
    else:  # nothing public before the start; its first change adds 变更记录 to the nav
        assert processed == ["还没有任何提交修改过 data/ 下的表格"] + ["本次处理 1 个新提交"] * 4
        assert sites == ["dirty", "full", "dirty", "dirty", "dirty"]


def start_of(builds) -> str:
    incremental, _, _ = builds
    found = rows(incremental / "build" / "history.db", "select value from history_info where key = 'start'")
    return found[0][0]


def test_a_correction_carries_its_reason_into_the_history(builds):
    incremental, _, _ = builds
    reasons = rows(
        incremental / "build" / "history.db",
        "select table_name, kind, reason from changes where reason like '标题漏写%' order by id",
    )
    assert reasons == [
        ("disclosures", "修改", "标题漏写“更正”，诉求补记处理结果。"),
        ("petitions", "修改", "标题漏写“更正”，诉求补记处理结果。"),
    ]


def test_a_history_from_a_date_lists_nothing_before_it(builds):
    incremental, _, _ = builds
    dates = rows(incremental / "build" / "history.db", "select distinct commit_date from changes order by 1")
    if start_of(builds) == "2024-06-11":
        assert dates[0] == ("2024-06-11",)
    else:
        assert dates[0] < ("2024-06-11",)


def rows(db: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql).fetchall()


@pytest.mark.parametrize(
    "sql",
    [
        "select * from villages order by 1",
        "select * from grids order by 1",
        "select * from grid_staff order by 1",
        "select * from disclosures order by 1",
        "select * from petitions order by 1",
        "select * from petitions_detail order by 1",
        "select * from disclosures_detail order by 1",
        "select key, value from _build where key in ('counts', 'search_dictionary', 'fingerprint')",
    ],
)
def test_the_database_holds_the_same_rows(builds, sql):
    incremental, cold, _ = builds
    assert rows(incremental / "build" / "sunshine.db", sql) == rows(cold / "build" / "sunshine.db", sql)


def test_the_planner_has_statistics_for_the_same_tables_and_every_index(builds):
    incremental, cold, _ = builds
    sql = "select distinct tbl, idx from sqlite_stat1 order by 1, 2"
    analysed = rows(cold / "build" / "sunshine.db", sql)
    indexes = rows(
        cold / "build" / "sunshine.db", "select tbl_name, name from sqlite_master where type = 'index'"
    )
    filled = [
        (t, i) for t, i in indexes if rows(cold / "build" / "sunshine.db", f"select 1 from {t} limit 1")
    ]
    assert ("petitions", "idx_petitions_figures") in filled and set(filled) <= set(analysed)
    assert not [t for t, _ in analysed if t.endswith(("_fts_data", "_fts_idx", "_fts_docsize"))]
    assert rows(incremental / "build" / "sunshine.db", sql) == analysed


def search(db: Path, table: str, key: str, words: str) -> list[str]:
    conn = sqlite3.connect(db)
    portal.prepare_connection(conn, "sunshine", None)
    try:
        return [
            r[0]
            for r in conn.execute(
                f"select {key} from {table} where rowid in (select rowid from {table}_fts "
                f"where {table}_fts match escape_fts(?)) order by 1",
                [words],
            )
        ]
    finally:
        conn.close()


@pytest.mark.parametrize("words", ["路灯", "水渠", "清理", "党费", "更正", "工作计划", "村道"])
def test_search_finds_the_same_rows(builds, words):
    incremental, cold, _ = builds
    for table, key in (("petitions", "case_id"), ("disclosures", "disclosure_id")):
        found = search(incremental / "build" / "sunshine.db", table, key, words)
        assert found == search(cold / "build" / "sunshine.db", table, key, words)


def test_search_finds_what_the_last_commit_left(builds):
    incremental, _, _ = builds
    db = incremental / "build" / "sunshine.db"
    assert search(db, "petitions", "case_id", "水渠") == ["2024-0000003"]
    assert search(db, "petitions", "case_id", "清理") == []
    assert search(db, "disclosures", "disclosure_id", "工作计划") == ["D00000002"]


@pytest.mark.parametrize(
    "sql",
    [
        "select * from changes order by id",
        "select * from commit_info order by hash",
        "select * from removals order by 1, 2, 3",
        "select * from history_info order by key",
        "select n.name, i._item_id, v._version, c.hash, v._item_full_hash from namespaces n "
        "join commits c on c.namespace = n.id join petitions_version v on v._commit = c.id "
        "join petitions i on i._id = v._item order by 1, 2, 3",
        "select i._item_id, v._version, col.name from disclosures_changed ch join disclosures_version v "
        "on v._id = ch.item_version join disclosures i on i._id = v._item join columns col on col.id = ch.column "
        "order by 1, 2, 3",
        "select _commit_at, _commit_hash, _version, case_id, summary, remark, _item_full_hash, _changed_columns "
        "from petitions_version_detail order by case_id, _version",
    ],
)
def test_the_history_holds_the_same_versions_and_changes(builds, sql):
    incremental, cold, _ = builds
    assert rows(incremental / "build" / "history.db", sql) == rows(cold / "build" / "history.db", sql)


def test_the_site_has_the_same_pages_byte_for_byte(builds):
    incremental, cold, _ = builds

    def files(repo: Path) -> dict[str, bytes]:
        site = repo / "build" / "site"
        return {
            p.relative_to(site).as_posix(): p.read_bytes() for p in sorted(site.rglob("*")) if p.is_file()
        }

    mine, theirs = files(incremental), files(cold)
    assert sorted(mine) == sorted(theirs)
    assert [name for name in mine if mine[name] != theirs[name]] == []
