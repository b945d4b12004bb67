"""Builds that overlap or die half-way: one build at a time, the last good output always in place,
and nothing a killed build was working on left behind. Builds are killed with SIGKILL at chosen
points by running them in a child process that kills itself there."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from contextlib import closing
from pathlib import Path

import pytest
import sqlite_utils

from sunshine import staging
from sunshine.build import STAGES, _kept
from sunshine.package import Project
from sunshine.problems import BuildError
from sunshine.publish.bundle import public_urls
from sunshine.site.build import build as build_site

from .conftest import FIXTURE, ROOT, copy_package
from .git_fixture import commit, git

DATASETTE = "http://127.0.0.1:8001"


def site_package(base: Path) -> Project:
    root = copy_package(ROOT, base / "pkg", data_from=FIXTURE / "data")
    shutil.copytree(ROOT / "content", root / "content")
    shutil.copy(ROOT / "mkdocs.yml", root / "mkdocs.yml")
    shutil.copy(ROOT / "sunshine.toml", root / "sunshine.toml")
    return Project.load(root)


def commit_all(root: Path) -> None:
    git(root, "init", "-q")
    commit(root, "录入数据", "2024-05-01T09:00:00+08:00")


def run_python(code: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], cwd=cwd, capture_output=True, text=True, timeout=300
    )


def sunshine(*args: str, cwd: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "sunshine.cli", *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def break_a_link(project: Project) -> None:
    (project.root / "content/docs/broken.md").write_text(
        "# 坏链接\n\n[不存在](nowhere.md)\n", encoding="utf-8"
    )


# -- one build at a time ---------------------------------------------------------------------------


def test_a_second_build_says_one_is_running_and_waits_for_it(tmp_path):
    project = site_package(tmp_path)
    build_dir = project.build_dir
    build_dir.mkdir()
    holder = subprocess.Popen(  # holds the lock until a line arrives on its stdin
        [
            sys.executable,
            "-c",
            "import fcntl, sys\n"
            f"f = open({str(build_dir / '.lock')!r}, 'a+')\n"
            "fcntl.flock(f, fcntl.LOCK_EX); f.write('4242\\n'); f.flush()\n"
            "print('held', flush=True); sys.stdin.readline()\n",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout.readline() == "held\n"
    second = sunshine("build", "--only", "database", cwd=project.root)
    try:
        said = second.stderr.readline()
        assert not (build_dir / "sunshine.db").exists()  # still waiting
    finally:
        holder.communicate("release\n", timeout=30)
    out, err = second.communicate(timeout=300)
    assert said == "另一个构建（进程 4242）正在进行，等它完成后再开始本次构建……\n"
    assert second.returncode == 0, err
    assert (build_dir / "sunshine.db").exists()


def test_two_builds_started_together_both_publish_the_whole_site(tmp_path):
    project = site_package(tmp_path)
    commit_all(project.root)
    first, second = (sunshine("build", cwd=project.root) for _ in range(2))
    results = [proc.communicate(timeout=300) for proc in (first, second)]
    assert [first.returncode, second.returncode] == [0, 0], results
    assert sum("正在进行" in err for _, err in results) == 1
    pages = sorted(p.relative_to(project.build_dir).as_posix() for p in project.build_dir.rglob("*.html"))
    again = sunshine("build", cwd=project.root)
    assert again.communicate(timeout=300) and again.returncode == 0
    assert pages == sorted(
        p.relative_to(project.build_dir).as_posix() for p in project.build_dir.rglob("*.html")
    )
    assert "site/index.html" in pages
    assert sorted(p.name for p in project.build_dir.iterdir() if not p.name.startswith(".site-work")) == [
        ".lock",
        "history.db",
        "site",
        "sunshine.db",
    ]


# -- the site swap ---------------------------------------------------------------------------------


KILL_BETWEEN_THE_RENAMES = """
    import os, signal, sys
    from pathlib import Path
    from sunshine import staging
    from sunshine.package import Project
    from sunshine.site.build import build

    staging.exchange = lambda a, b: False  # a file system without an atomic exchange
    rename = Path.rename

    def rename_then_die(self, target):
        done = rename(self, target)
        if Path(target).name == ".site-old":
            os.kill(os.getpid(), signal.SIGKILL)
        return done

    Path.rename = rename_then_die
    project = Project.load(Path.cwd())
    build(project, project.build_dir / "site", datasette_url="http://127.0.0.1:8001")
"""


def last_good_site(project: Project) -> Path:
    target = project.build_dir / "site"
    target.mkdir(parents=True)
    (target / "index.html").write_text("last good site", encoding="utf-8")
    return target


def test_a_build_killed_between_the_two_renames_of_the_swap_gets_the_last_good_site_back(tmp_path):
    project = site_package(tmp_path)
    target = last_good_site(project)
    killed = run_python(KILL_BETWEEN_THE_RENAMES, project.root)
    assert killed.returncode == -9, killed.stderr
    assert not target.exists()  # the moment the old code left no site at all
    break_a_link(project)
    with pytest.raises(BuildError, match="MkDocs"):
        build_site(project, target, datasette_url=DATASETTE)
    assert (target / "index.html").read_text(encoding="utf-8") == "last good site"
    assert sorted(p.name for p in project.build_dir.iterdir()) == [".site-work", "site"]


def test_after_a_killed_swap_the_next_good_build_leaves_only_the_new_site(tmp_path):
    project = site_package(tmp_path)
    target = last_good_site(project)
    assert run_python(KILL_BETWEEN_THE_RENAMES, project.root).returncode == -9
    build_site(project, target, datasette_url=DATASETTE)
    assert "last good site" not in (target / "index.html").read_text(encoding="utf-8")
    assert sorted(p.name for p in project.build_dir.iterdir()) == [".site-work", "site"]


def test_a_build_killed_while_mkdocs_writes_leaves_nothing_the_next_build_keeps(tmp_path):
    project = site_package(tmp_path)
    target = last_good_site(project)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    half = target.with_name(f".site.{dead.pid}.new")
    (half / "assets").mkdir(parents=True)
    (half / "index.html").write_text("half written", encoding="utf-8")
    break_a_link(project)
    with pytest.raises(BuildError):
        build_site(project, target, datasette_url=DATASETTE)
    assert (target / "index.html").read_text(encoding="utf-8") == "last good site"
    assert sorted(p.name for p in project.build_dir.iterdir()) == [".site-work", "site"]


@pytest.mark.parametrize("atomic", [True, False], ids=["exchange", "two renames"])
def test_a_swap_puts_the_new_directory_in_place_and_removes_the_old(tmp_path, monkeypatch, atomic):
    if not atomic:
        monkeypatch.setattr(staging, "exchange", lambda a, b: False)
    target, new = tmp_path / "site", tmp_path / ".site.1.new"
    for path, text in ((target, "old"), (new, "new")):
        path.mkdir()
        (path / "index.html").write_text(text, encoding="utf-8")
    staging.swap_directory(new, target)
    assert (target / "index.html").read_text(encoding="utf-8") == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site"]


# -- the history stage -----------------------------------------------------------------------------


KILL_DURING_HISTORY = """
import os, signal
from contextlib import closing
from pathlib import Path
from sunshine.history import build as history
from sunshine.package import Project

def die(project, db):
    db.conn.execute("pragma cache_size = 1")  # what it writes reaches the file before the kill
    db["half_written"].insert_all({"row": "x" * 1000} for _ in range(2000))
    os.kill(os.getpid(), signal.SIGKILL)

history._update = die
project = Project.load(Path.cwd())
history.build_history(project, project.build_dir / "history.db")
"""


@pytest.mark.parametrize("published", [False, True], ids=["in place", "on a copy"])
def test_a_history_build_killed_half_way_leaves_the_last_history_and_nothing_after_the_next_build(
    tmp_path, published
):
    project = site_package(tmp_path)
    commit_all(project.root)
    db = project.build_dir / "history.db"
    from sunshine.history.build import build_history

    build_history(project, db)
    good = _commits(db)
    if published:  # a published bundle links the file: it must not change under it
        os.link(db, tmp_path / "published.db")
    killed = run_python(KILL_DURING_HISTORY, project.root)
    assert killed.returncode == -9, killed.stderr
    left = sorted(p.name for p in project.build_dir.iterdir())
    if published:
        assert (tmp_path / "published.db").read_bytes() == db.read_bytes()
        assert len(left) == 2 and left[1] == "history.db"  # and the killed build's copy
    else:
        assert left == ["history.db", "history.db-journal"]  # SQLite rolls it back when next opened
    assert _commits(db) == good
    build_history(project, db)
    assert "half_written" not in sqlite_utils.Database(db).table_names()
    assert sorted(p.name for p in project.build_dir.iterdir()) == ["history.db"]


def _commits(db: Path) -> list[tuple]:
    """What history.db says, read by a connection closed again (an open one keeps the update off the file)."""
    with closing(sqlite3.connect(db)) as conn:
        return conn.execute("select * from commit_info").fetchall()


def test_a_history_update_that_would_commit_half_way_is_refused_and_changes_nothing(tmp_path, monkeypatch):
    from sunshine.history import build as history

    project = site_package(tmp_path)
    commit_all(project.root)
    db = project.build_dir / "history.db"
    history.build_history(project, db)
    before = db.read_bytes()

    def commits_early(project, database):
        database["half_written"].insert({"row": 1})
        database.conn.commit()

    monkeypatch.setattr(history, "_update", commits_early)
    with pytest.raises(BuildError, match="not authorized"):
        history.build_history(project, db)
    assert db.read_bytes() == before


def test_a_running_builds_temporary_file_is_not_taken_for_a_stale_one(tmp_path):
    target = tmp_path / "history.db"
    mine = staging.temporary(target)
    mine.write_bytes(b"in progress")
    staging.remove_stale(target)
    assert mine.read_bytes() == b"in progress"
    assert mine.name == f".history.db.{os.getpid()}.tmp"


def test_the_lock_names_the_build_holding_it(tmp_path):
    from sunshine.build import build_lock

    with build_lock(tmp_path / "build"):
        assert (tmp_path / "build" / ".lock").read_text() == f"{os.getpid()}\n"


def test_a_build_that_stops_after_the_database_says_which_outputs_are_new_and_which_are_the_last():
    assert _kept(list(STAGES), []) == "上一次的构建保持不变。"
    assert _kept(list(STAGES), ["database"]) == (
        "build/sunshine.db 已是这次的数据；build/history.db、build/site/ 仍是上一次构建的版本。"
    )


def test_a_file_another_process_has_open_or_a_bundle_links_is_held_elsewhere(tmp_path):
    db = tmp_path / "history.db"
    db.write_bytes(b"x")
    assert not staging.held_elsewhere(db)
    with db.open("rb") as f:
        reader = subprocess.Popen(["sleep", "30"], stdin=f)
    try:
        assert staging.held_elsewhere(db)
    finally:
        reader.kill()
        reader.wait()
    assert not staging.held_elsewhere(db)
    os.link(db, tmp_path / "bundle.db")
    assert staging.held_elsewhere(db)


# -- the database stage ----------------------------------------------------------------------------


KILL_DURING_DATABASE_UPDATE = """
import os, signal
from pathlib import Path
from sunshine.database import build as database, incremental
from sunshine.package import Project

def die(conn, *args):
    conn.execute("PRAGMA cache_size = 1")  # what it writes reaches the file before the kill
    conn.execute("CREATE TABLE half_written (row)")
    conn.executemany("INSERT INTO half_written VALUES (?)", (("x" * 1000,) for _ in range(2000)))
    os.kill(os.getpid(), signal.SIGKILL)

incremental.apply = die
project = Project.load(Path.cwd())
database.build_database(project, project.build_dir / "sunshine.db")
"""


@pytest.mark.parametrize("published", [False, True], ids=["in place", "on a copy"])
def test_a_database_update_killed_half_way_leaves_the_last_database(tmp_path, monkeypatch, published):
    from sunshine.database.build import build_database

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    project = site_package(tmp_path)
    db = project.build_dir / "sunshine.db"
    build_database(project, db)
    good = _petitions(db)
    if published:
        os.link(db, tmp_path / "published.db")
    petitions = project.root / "data" / "petitions.csv"
    petitions.write_text(petitions.read_text(encoding="utf-8").replace("。", "！", 1), encoding="utf-8")
    killed = run_python(KILL_DURING_DATABASE_UPDATE, project.root)
    assert killed.returncode == -9, killed.stderr
    if published:
        assert (tmp_path / "published.db").read_bytes() == db.read_bytes()
    else:
        assert (project.build_dir / "sunshine.db-journal").exists()  # SQLite rolls it back when next opened
    assert _petitions(db) == good
    assert "，按变化的 1 行更新" in build_database(project, db)
    assert _petitions(db) != good
    assert "half_written" not in sqlite_utils.Database(db).table_names()


def _petitions(db: Path) -> list[tuple]:
    with closing(sqlite3.connect(db)) as conn:
        return conn.execute("select * from petitions order by case_id").fetchall()


def test_a_history_left_mid_transaction_by_a_killed_build_is_published_as_the_last_good_one(tmp_path):
    project = site_package(tmp_path)
    for name in ("metadata.json", "DEPLOY.md"):
        shutil.copy(ROOT / name, project.root / name)
    commit_all(project.root)
    portal = public_urls(project)[0].datasette  # where the bundle puts it
    built = subprocess.run(
        [sys.executable, "-m", "sunshine.cli", "build", "--datasette-url", portal],
        cwd=project.root,
        capture_output=True,
        text=True,
    )
    assert built.returncode == 0, built.stdout + built.stderr
    db = project.build_dir / "history.db"
    good = _commits(db)
    killed = run_python(KILL_DURING_HISTORY, project.root)
    assert killed.returncode == -9, killed.stderr
    published = subprocess.run(
        [sys.executable, "-m", "sunshine.cli", "publish", "--skip-build"],
        cwd=project.root,
        capture_output=True,
        text=True,
    )
    assert published.returncode == 0, published.stdout + published.stderr
    bundled = project.build_dir / "publish" / "datasette" / "history.db"
    with closing(sqlite3.connect(f"file:{bundled}?immutable=1", uri=True)) as conn:  # as Datasette serves it
        assert conn.execute("pragma integrity_check").fetchone() == ("ok",)
        assert conn.execute("select * from commit_info").fetchall() == good
    assert not (project.build_dir / "history.db-journal").exists()


def test_a_site_built_for_a_local_preview_is_not_published_with_skip_build(tmp_path):
    project = site_package(tmp_path)
    for name in ("metadata.json", "DEPLOY.md"):
        shutil.copy(ROOT / name, project.root / name)
    commit_all(project.root)

    def sunshine(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "sunshine.cli", *args], cwd=project.root, capture_output=True, text=True
        )

    assert sunshine("build", "--datasette-url", "http://127.0.0.1:48001").returncode == 0  # as serve does
    refused = sunshine("publish", "--skip-build")
    portal = public_urls(project)[0].datasette
    assert refused.returncode == 1
    assert refused.stderr.splitlines()[-2:] == [
        f"发布失败：build/site 中的数据链接指向 http://127.0.0.1:48001，不是发布后的数据门户 {portal}/"
        "（sunshine serve 为本机预览生成的网站就是这样）。请去掉 --skip-build 再发布，网站会按公开地址重新生成。",
        "上一次的发布包保持不变。",
    ]
    assert not (project.build_dir / "publish").exists()
    published = sunshine("publish")
    assert published.returncode == 0, published.stderr
    site = project.build_dir / "publish" / "site"
    assert not [p for p in site.rglob("*.html") if "127.0.0.1:48001" in p.read_text(encoding="utf-8")]
    assert sunshine("publish", "--skip-build").returncode == 0


def test_publish_with_skip_build_waits_for_a_running_build_before_it_bundles_the_outputs(tmp_path):
    from sunshine.build import build_lock

    project = site_package(tmp_path)
    for name in ("metadata.json", "DEPLOY.md"):
        shutil.copy(ROOT / name, project.root / name)
    commit_all(project.root)
    portal = public_urls(project)[0].datasette
    built = sunshine("build", "--datasette-url", portal, cwd=project.root)
    built.communicate(timeout=300)
    assert built.returncode == 0
    with build_lock(project.build_dir):  # a build is running
        publishing = sunshine("publish", "--skip-build", cwd=project.root)
        said = ""
        while "正在进行" not in said and publishing.poll() is None:
            said = publishing.stderr.readline()
        assert said.startswith("另一个构建（进程 ") and said.endswith(
            "正在进行，等它完成后再开始本次构建……\n"
        )
        assert publishing.poll() is None
        assert not (project.build_dir / "publish").exists()
    out, err = publishing.communicate(timeout=300)
    assert publishing.returncode == 0, err
    assert (project.build_dir / "publish" / "datasette" / "sunshine.db").exists()


def test_the_next_history_build_puts_a_killed_update_back_before_it_copies_or_a_link_serves_it(tmp_path):
    from sunshine.history.build import build_history

    project = site_package(tmp_path)
    commit_all(project.root)
    db = project.build_dir / "history.db"
    build_history(project, db)
    good = _commits(db)
    killed = run_python(KILL_DURING_HISTORY, project.root)
    assert killed.returncode == -9, killed.stderr
    os.link(db, tmp_path / "published.db")  # linked by hand after the kill: the next build works on a copy
    summary = build_history(project, db)
    assert "本次处理 0 个新提交" in summary  # the last good history was copied, not recorded again
    with closing(sqlite3.connect(f"file:{tmp_path / 'published.db'}?immutable=1", uri=True)) as conn:
        assert conn.execute("select * from commit_info").fetchall() == good


KILL_WHILE_DOWNLOADS_ARE_WRITTEN = """
import os, signal, sys
from pathlib import Path
from sunshine.package import Project
from sunshine.site.pages.downloads import Writer

writer = Writer(Project.load(Path.cwd()), Path(sys.argv[1]))
print(writer.proc.pid, flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_the_download_writer_goes_with_a_killed_build(tmp_path):
    project = site_package(tmp_path)
    for table in project.tables.values():  # a file that is never finished: the writer waits on it
        (project.root / table.path).unlink()
        os.mkfifo(project.root / table.path)
    killed = subprocess.run(
        [sys.executable, "-c", KILL_WHILE_DOWNLOADS_ARE_WRITTEN, str(tmp_path / "downloads")],
        cwd=project.root,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert killed.returncode == -9, killed.stderr
    writer = int(killed.stdout.split()[0])
    for _ in range(100):
        try:
            status = Path(f"/proc/{writer}/status").read_text(encoding="utf-8")
        except FileNotFoundError:
            break
        if "State:\tZ" in status:  # dead, waiting to be reaped
            break
        time.sleep(0.05)
    else:
        os.kill(writer, signal.SIGKILL)
        pytest.fail("the download writer outlived the build that started it")


def test_a_data_file_deleted_during_the_build_is_named_in_chinese_without_a_traceback(tmp_path):
    project = site_package(tmp_path)
    out = run_python(
        f"""
        import sys
        from pathlib import Path
        from sunshine import build
        from sunshine.database import load
        from sunshine.package import Project

        open_database = load._open

        def open_then_delete(path, prepare):
            petitions = Path({str(project.root)!r}) / "data" / "petitions.csv"
            if petitions.exists():
                petitions.unlink()  # a clerk's sync tool moves it away while the tables load
            return open_database(path, prepare)

        load._open = open_then_delete
        project = Project.load(Path({str(project.root)!r}))
        sys.exit(build.build_command(project, datasette_url="{DATASETTE}", only=["database"]))
        """,
        cwd=project.root,
    )
    assert out.returncode == 1
    assert "Traceback" not in out.stderr
    assert out.stderr.count("上一次的构建保持不变") == 1
    assert "构建失败：无法读取 petitions.csv（No such file or directory）" in out.stderr
    assert not (project.build_dir / "sunshine.db").exists()


def _running(pid: int) -> bool:
    """Whether pid is a live process (a zombie waiting for a reaper counts as gone)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "\nState:\tZ" not in status


@pytest.mark.parametrize("delay", [0, 1], ids=["while-the-worker-imports", "while-it-indexes"])
def test_the_search_worker_of_a_killed_build_stops_instead_of_indexing_for_no_one(tmp_path, delay):
    pid_file = tmp_path / "worker.pid"
    build = run_python(
        f"""
        import os, signal, subprocess, sys, time
        worker = subprocess.Popen([sys.executable, "-c", f'''
        import time
        from sunshine.database.build import _while_the_build_lives
        rows = _while_the_build_lives(lambda start, stop: [("村东路灯损坏",)], {{os.getpid()}})
        for n in range(6000):  # ten minutes of chunks, unless the build goes
            rows(n, n + 1)
            time.sleep(0.1)
        '''.replace("\\n        ", "\\n")], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        open({str(pid_file)!r}, "w").write(str(worker.pid))
        time.sleep({delay})
        os.kill(os.getpid(), signal.SIGKILL)  # the build dies mid-way
        """,
        cwd=tmp_path,
    )
    assert build.returncode == -signal.SIGKILL
    worker = int(pid_file.read_text())
    deadline = time.monotonic() + 60
    while _running(worker) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _running(worker)


# -- all of the last build, or all of this one -----------------------------------------------------


def outputs(project: Project) -> dict[str, bytes]:
    """Every byte of build/sunshine.db, build/history.db and build/site/, by path."""
    build_dir = project.build_dir
    files = [build_dir / "sunshine.db", build_dir / "history.db", *sorted((build_dir / "site").rglob("*"))]
    return {p.relative_to(build_dir).as_posix(): p.read_bytes() for p in files if p.is_file()}


def build_in_process(project: Project) -> int:
    from sunshine.build import build_command

    return build_command(project, datasette_url=DATASETTE)


def correct_a_petition(project: Project) -> None:
    """A commit that changes one petition: the database and the history both have something to do."""
    petitions = project.root / "data" / "petitions.csv"
    text = petitions.read_text(encoding="utf-8")
    petitions.write_text(text.replace("村口路灯不亮", "村口两盏路灯不亮", 1), encoding="utf-8")
    commit(project.root, "更正一条诉求的摘要", "2024-06-01T09:00:00+08:00")


def the_site_stage_fails(monkeypatch: pytest.MonkeyPatch, project: Project, how: str) -> None:
    """The site stage, which runs after the database and the history are in place, fails `how`."""
    from sunshine import build

    real = build.build_site
    petitions = project.root / "data" / "petitions.csv"

    def failing(*args, **kwargs):
        if how == "a data file moved away":  # a clerk's sync tool, while the build runs
            petitions.rename(petitions.with_name("petitions.bak"))
        elif how == "interrupted":
            raise KeyboardInterrupt
        elif how == "a broken link":
            break_a_link(project)
        return real(*args, **kwargs)

    monkeypatch.setattr(build, "build_site", failing)


FAILURES = {
    "a data file moved away": (
        1,
        "构建失败：无法读取 petitions.csv（No such file or directory）。文件可能在构建过程中被移动、删除或占用；"
        "请确认 data/ 下的文件都已保存，再重新运行 sunshine build。\n上一次的构建保持不变。\n",
    ),
    "interrupted": (130, "构建被中断。上一次的构建保持不变。\n"),
    "a broken link": (1, "MkDocs"),
}


def built_then_corrected(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Project, dict[str, bytes]]:
    """A township built once (its outputs returned), then a petition corrected for the next build."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    project = site_package(tmp_path)
    commit_all(project.root)
    assert build_in_process(project) == 0
    before = outputs(project)
    correct_a_petition(project)
    return project, before


@pytest.mark.parametrize("how", FAILURES)
def test_a_site_stage_that_fails_puts_the_last_database_and_history_back_and_says_so_once(
    tmp_path, monkeypatch, capsys, how
):
    project, before = built_then_corrected(tmp_path, monkeypatch)
    the_site_stage_fails(monkeypatch, project, how)
    capsys.readouterr()
    code = build_in_process(project)
    out, err = capsys.readouterr()
    expected_code, expected_message = FAILURES[how]
    assert code == expected_code
    assert out.count("✓") == 2  # the database and the history were built, and replaced their files
    assert outputs(project) == before
    assert err.count("上一次的构建保持不变") == 1 and err.endswith("上一次的构建保持不变。\n")
    assert expected_message in err
    assert "Errno" not in err and "Error" not in err and "已是这次的数据" not in err
    assert sorted(p.name for p in project.build_dir.iterdir()) == [
        ".lock",
        ".site-work",
        "history.db",
        "site",
        "sunshine.db",
    ]


def tables(db: Path) -> dict[str, list[tuple]]:
    """Every row of every table and view but the search index's own, in one order, and the fingerprint."""
    with closing(sqlite3.connect(db)) as conn:
        names = [
            name
            for (name,) in conn.execute(
                "select name from sqlite_master where type in ('table', 'view') and name not like 'sqlite_%' "
                "and name not like '%_fts_%' and name != '_build' order by name"
            )
        ]
        found = {name: sorted(conn.execute(f"select * from {name}").fetchall(), key=repr) for name in names}
        found["_build"] = conn.execute(
            "select key, value from _build where key in ('counts', 'search_dictionary', 'fingerprint', 'inputs')"
            " order by key"
        ).fetchall()
        return found


def _rows(db: Path, sql: str) -> list[tuple]:
    with closing(sqlite3.connect(db)) as conn:
        return conn.execute(sql).fetchall()


def test_after_a_failed_site_stage_the_next_build_ends_where_a_build_from_nothing_ends(
    tmp_path, monkeypatch, capsys
):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    project = site_package(tmp_path)
    commit_all(project.root)
    assert build_in_process(project) == 0
    correct_a_petition(project)
    with monkeypatch.context() as failing:
        the_site_stage_fails(failing, project, "a data file moved away")
        assert build_in_process(project) == 1
    (project.root / "data" / "petitions.bak").rename(project.root / "data" / "petitions.csv")
    capsys.readouterr()
    assert build_in_process(project) == 0
    said = capsys.readouterr().out
    assert "，按变化的 1 行更新）" in said  # from the input copies of the database put back
    assert "本次处理 1 个新提交" in said  # the history put back had not recorded the correction
    cold = Project.load(
        shutil.copytree(project.root, tmp_path / "cold", ignore=shutil.ignore_patterns("build"))
    )
    assert build_in_process(cold) == 0
    assert tables(project.build_dir / "sunshine.db") == tables(cold.build_dir / "sunshine.db")
    for sql in (
        "select * from changes order by id",
        "select * from commit_info order by hash",
        "select * from history_info order by key",
    ):
        assert _rows(project.build_dir / "history.db", sql) == _rows(cold.build_dir / "history.db", sql)
    site = {k: v for k, v in outputs(project).items() if k.startswith("site/")}
    assert site == {k: v for k, v in outputs(cold).items() if k.startswith("site/")}


KILL_DURING_THE_SITE = """
    import os, signal, sys
    from pathlib import Path
    from sunshine import build
    from sunshine.package import Project

    build.build_site = lambda *args, **kwargs: os.kill(os.getpid(), signal.SIGKILL)
    project = Project.load(Path.cwd())
    sys.exit(build.build_command(project, datasette_url="http://127.0.0.1:8001"))
"""


def test_a_build_killed_during_the_site_stage_has_the_last_database_and_history_put_back_by_the_next(
    tmp_path, monkeypatch
):
    project, before = built_then_corrected(tmp_path, monkeypatch)
    killed = run_python(KILL_DURING_THE_SITE, project.root)
    assert killed.returncode == -9, killed.stderr
    for name in ("sunshine.db", "history.db"):  # the killed build had updated both, uncommitted
        assert (project.build_dir / f"{name}-journal").exists()
    break_a_link(project)  # and the next build fails too: what it puts back is the last good build
    next_build = sunshine("build", cwd=project.root)
    _, err = next_build.communicate(timeout=300)
    assert next_build.returncode == 1
    assert err.count("上一次的构建保持不变") == 1
    assert outputs(project) == before
    assert ".last-good" not in {p.name for p in project.build_dir.iterdir()}


def test_after_a_build_killed_during_the_site_stage_the_next_updates_the_database_from_the_changed_rows(
    tmp_path, monkeypatch
):
    project, before = built_then_corrected(tmp_path, monkeypatch)
    assert run_python(KILL_DURING_THE_SITE, project.root).returncode == -9
    next_build = sunshine("build", cwd=project.root)
    out, err = next_build.communicate(timeout=300)
    assert next_build.returncode == 0, err
    assert "，按变化的 1 行更新）" in out  # the input copies of the database put back were kept
    assert "本次处理 1 个新提交" in out


def test_a_first_build_whose_site_fails_leaves_no_database_or_history(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    project = site_package(tmp_path)
    commit_all(project.root)
    the_site_stage_fails(monkeypatch, project, "a broken link")
    assert build_in_process(project) == 1
    assert capsys.readouterr().err.endswith("\n上一次的构建保持不变。\n")
    assert sorted(p.name for p in project.build_dir.iterdir()) == [".lock", ".site-work"]


def _two_databases(build_dir: Path) -> None:
    build_dir.mkdir()
    for name in ("sunshine.db", "history.db"):
        with closing(sqlite3.connect(build_dir / name)) as conn:
            conn.execute("create table t (x)")


def _stage_updates_in_place(keeper, target: Path) -> None:
    """What the database and the history stages do in place: one transaction, left with the keeper."""
    conn = sqlite3.connect(target, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("insert into t values ('this build')")
    keeper.hold(target, conn)


def _database_update_waiting(tmp_path: Path):
    """A build whose database stage updated sunshine.db in place: its build folder, its LastGood and
    what sunshine.db held before."""
    from sunshine.build import LastGood

    build_dir = tmp_path / "build"
    _two_databases(build_dir)
    before = (build_dir / "sunshine.db").read_bytes()
    kept = LastGood(build_dir)
    kept.keep("database")
    _stage_updates_in_place(kept, build_dir / "sunshine.db")
    return build_dir, kept, before


def _t(db: Path) -> list[tuple]:
    with closing(sqlite3.connect(db)) as conn:
        return conn.execute("select * from t").fetchall()


def test_an_output_nothing_else_holds_is_not_copied_its_update_waits_for_the_build_to_succeed(tmp_path):
    build_dir, kept, _ = _database_update_waiting(tmp_path)
    assert not staging.held_elsewhere(build_dir / "sunshine.db")
    assert list((build_dir / ".last-good").iterdir()) == []
    assert kept.connection(build_dir / "sunshine.db").execute("select * from t").fetchall() == [
        ("this build",)
    ]
    kept.commit()
    kept.forget()
    assert _t(build_dir / "sunshine.db") == [("this build",)]
    assert sorted(p.name for p in build_dir.iterdir()) == ["history.db", "sunshine.db"]


def test_a_reader_that_opens_an_output_while_its_update_waits_reads_the_last_commit(tmp_path):
    build_dir, kept, before = _database_update_waiting(tmp_path)
    kept.connection(build_dir / "sunshine.db").execute("select count(*) from t").fetchone()
    assert (build_dir / "sunshine.db").read_bytes() == before  # what it changed waits in memory
    with closing(sqlite3.connect(f"file:{build_dir / 'sunshine.db'}?mode=ro", uri=True)) as reader:
        assert reader.execute("select * from t").fetchall() == []
        kept.commit()
        assert reader.execute("select * from t").fetchall() == [("this build",)]


def test_an_update_a_reader_keeps_from_committing_fails_in_chinese_and_is_rolled_back(tmp_path, monkeypatch):
    from sunshine import build

    monkeypatch.setattr(build, "HELD_BUSY_MS", 100)
    build_dir, kept, _ = _database_update_waiting(tmp_path)
    with closing(sqlite3.connect(build_dir / "sunshine.db", isolation_level=None)) as reader:
        reader.execute("BEGIN")
        reader.execute("select * from t").fetchall()  # a read transaction: no COMMIT can write under it
        with pytest.raises(BuildError, match=r"^无法提交 build/sunshine.db 的更新（database is locked）"):
            kept.commit()
        reader.execute("COMMIT")
    assert kept.restore() == {"database"}
    assert _t(build_dir / "sunshine.db") == []


def test_a_later_stage_that_fails_rolls_back_the_updates_in_place_and_puts_back_the_files_replaced(tmp_path):
    build_dir, kept, _ = _database_update_waiting(tmp_path)
    before = (build_dir / "history.db").read_bytes()
    kept.keep("history")
    kept.replacing(build_dir / "history.db")  # a bundle links it: a new file is renamed over it
    assert (build_dir / ".last-good" / "history.db").samefile(build_dir / "history.db")
    (build_dir / "new.db").write_bytes(b"")
    os.replace(build_dir / "new.db", build_dir / "history.db")
    assert kept.restore() == {"database", "history"}
    assert _t(build_dir / "sunshine.db") == []
    assert (build_dir / "history.db").read_bytes() == before
    assert sorted(p.name for p in build_dir.iterdir()) == ["history.db", "sunshine.db"]


def test_a_file_the_download_writer_could_not_read_is_named_like_any_other(tmp_path):
    from sunshine.build import _file_error

    relayed = BuildError(
        "生成网站时出错（RuntimeError：生成下载文件失败（FileNotFoundError: [Errno 2] No such file or "
        f"directory: '{tmp_path}/data/petitions.csv'））。"
    )
    assert _file_error(relayed, tmp_path / "build") == ("无法读取 petitions.csv", "No such file or directory")
    writing = BuildError(
        f"无法写入修改历史 {tmp_path}/build/history.db：[Errno 13] Permission denied: '{tmp_path}/build/history.db'"
    )
    assert _file_error(writing, tmp_path / "build") is None  # the stage's own words say what it wrote
