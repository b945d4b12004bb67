"""`sunshine publish`: build with the public URLs, then write the bundle. Returns an exit code."""

from __future__ import annotations

import time
from pathlib import Path

import click

from sunshine.build import build_command
from sunshine.package import Project
from sunshine.publish.bundle import PublishError, public_urls, write_bundle


def publish_command(project: Project, *, out: Path | None = None, skip_build: bool = False) -> int:
    started = time.perf_counter()
    try:
        where, note = public_urls(project)
    except PublishError as exc:
        click.echo(f"发布失败：{exc}", err=True)
        return 2
    if note:
        click.echo(note, err=True)
    if not skip_build and build_command(project, datasette_url=where.datasette) != 0:
        click.echo("构建失败，没有生成发布包，上一次的发布包保持不变。", err=True)
        return 1
    target = out or project.build_dir / "publish"
    try:
        bundle = write_bundle(project, target, where)
    except PublishError as exc:
        click.echo(f"发布失败：{exc}\n上一次的发布包保持不变。", err=True)
        return 1
    click.echo(f"✓ {bundle.summary()}（共 {time.perf_counter() - started:.1f} 秒）")
    click.echo(f"网站：{where.site}　数据门户：{where.datasette}/　部署方法见 {target / 'DEPLOY.md'}")
    return 0
