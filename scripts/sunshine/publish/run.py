"""`sunshine publish`: build with the public URLs, then write the bundle. Returns an exit code."""

from __future__ import annotations

import time
from pathlib import Path

import click

from sunshine.build import build_lock, build_locked
from sunshine.package import Project
from sunshine.publish.bundle import PublishError, public_urls, write_bundle
from sunshine.site.build import built_for


def publish_command(project: Project, *, out: Path | None = None, skip_build: bool = False) -> int:
    started = time.perf_counter()
    try:
        where, note = public_urls(project)
    except PublishError as exc:
        click.echo(f"发布失败：{exc}", err=True)
        return 2
    if note:
        click.echo(note, err=True)
    if skip_build and (stale := _site_for_elsewhere(project, where.datasette)):
        click.echo(f"发布失败：{stale}\n上一次的发布包保持不变。", err=True)
        return 1
    # The bundle links build/'s outputs: no build changes them until it is written.
    with build_lock(project.build_dir):
        if not skip_build and build_locked(project, datasette_url=where.datasette) != 0:
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


def _site_for_elsewhere(project: Project, datasette: str) -> str:
    """Why build/site cannot be published as it is (its data links lead to another portal), or ""."""
    built = built_for(project)
    if built == datasette:
        return ""
    if built is None:
        return "无法确认 build/site 中的数据链接指向哪里（还没有完整构建过，或上次构建没有完成）。请去掉 --skip-build 再发布。"
    return (
        f"build/site 中的数据链接指向 {built}，不是发布后的数据门户 {datasette}/"
        "（sunshine serve 为本机预览生成的网站就是这样）。请去掉 --skip-build 再发布，网站会按公开地址重新生成。"
    )
