"""`sunshine build`: validate, then build each output. Invalid data publishes nothing.

One build at a time: a build holds an exclusive lock on build/.lock (released by the system
however the process ends); a second build says that one is running and waits for it.
"""

from __future__ import annotations

import fcntl
import os
import sys
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from sunshine.chinese import words
from sunshine.database.build import build_database
from sunshine.history.build import build_history
from sunshine.package import Project
from sunshine.privacy import mask
from sunshine.problems import BuildError
from sunshine.site.build import build_site
from sunshine.validate.report import render
from sunshine.validate.run import validate_project

STAGES = ("database", "history", "site")
LOCK = ".lock"


@contextmanager
def build_lock(build_dir: Path) -> Iterator[None]:
    """Hold the build directory's lock; if another build holds it, say so and wait."""
    build_dir.mkdir(parents=True, exist_ok=True)
    with open(build_dir / LOCK, "a+") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.seek(0)
            holder = f.read().strip() or "?"
            click.echo(f"另一个构建（进程 {holder}）正在进行，等它完成后再开始本次构建……", err=True)
            fcntl.flock(f, fcntl.LOCK_EX)
        f.seek(0)
        f.truncate()
        f.write(f"{os.getpid()}\n")
        f.flush()
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def build_command(project: Project, *, datasette_url: str, only: Iterable[str] = ()) -> int:
    with build_lock(project.build_dir):
        return _build(project, datasette_url=datasette_url, only=only)


def _build(project: Project, *, datasette_url: str, only: Iterable[str]) -> int:
    stages = [s for s in STAGES if not only or s in only]
    started = time.perf_counter()
    report = validate_project(project)
    if not report.valid:
        click.echo(render(report, "text"), err=True, nl=False)
        click.echo("数据未通过校验，本次没有发布任何内容，上一次的构建保持不变。", err=True)
        return 1
    unpublishable = sorted({p.file for p in report.problems if p.severity == "notice" and p.fixable})
    if unpublishable:
        click.echo(
            f"{'、'.join(unpublishable)} 是 Excel 改写过的写法（编码、日期、数字或中文表头），内容有效，"
            f"但发布前要统一为标准格式：请运行 sunshine fix {' '.join(unpublishable)}，"
            "或合并 PR 检查的“自动规范格式”提交。本次没有发布任何内容。",
            err=True,
        )
        return 1
    done: list[str] = []
    try:
        for stage in stages:
            t0 = time.perf_counter()
            summary = run_stage(project, stage, datasette_url=datasette_url)
            click.echo(f"✓ {summary}（{time.perf_counter() - t0:.1f} 秒）")
            done.append(stage)
            words.forget_tokenizers()  # the database stage's: the site would hold them on top of its own
    except BuildError as exc:
        # A stage's error may quote a cell (a number that would not convert): masked like every output.
        click.echo(mask(f"构建失败：{exc}\n{_kept(stages, done)}", runs=True), err=True)
        return 1
    except OSError as exc:
        # A file moved, deleted or locked while the build read it: said in Chinese, with its name.
        name = Path(exc.filename).name if exc.filename else ""
        what = f"无法读取 {name}" if name else "读写文件失败"
        click.echo(
            mask(
                f"构建失败：{what}（{exc.strerror or exc}）。文件可能在构建过程中被移动、删除或占用；"
                f"请确认 data/ 下的文件都已保存，再重新运行 sunshine build。\n{_kept(stages, done)}",
                runs=True,
            ),
            err=True,
        )
        return 1
    except KeyboardInterrupt:
        click.echo(f"构建被中断。{_kept(stages, done)}", err=True)
        return 130
    click.echo(f"构建完成，共 {time.perf_counter() - started:.1f} 秒。", file=sys.stdout)
    return 0


OUTPUTS = {"database": "build/sunshine.db", "history": "build/history.db", "site": "build/site/"}


def _kept(stages: list[str], done: list[str]) -> str:
    """What a stopped build left: each stage replaces its output whole, or not at all."""
    kept = "、".join(OUTPUTS.get(s, s) for s in stages if s not in done)
    if not done:
        return "上一次的构建保持不变。"
    updated = "、".join(OUTPUTS.get(s, s) for s in done)
    return f"{updated} 已是这次的数据；{kept} 仍是上一次构建的版本。"


def run_stage(project: Project, stage: str, *, datasette_url: str) -> str:
    """Run one stage; return a one-line Chinese summary of what it wrote."""
    out = project.build_dir
    out.mkdir(parents=True, exist_ok=True)
    if stage == "database":
        return build_database(project, out / "sunshine.db")
    if stage == "history":
        return build_history(project, out / "history.db")
    if stage == "site":
        return build_site(project, out / "site", datasette_url=datasette_url)
    raise ValueError(stage)
