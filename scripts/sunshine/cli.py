"""The `sunshine` command: a thin layer over the library, one command per pipeline stage."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path
from typing import Any

import click

from sunshine.package import Project, ProjectNotFound
from sunshine.sample.generate import DEFAULT_SEED, Sizes, generate_command
from sunshine.settings import SettingsError
from sunshine.validate.report import FORMATS


class SetUpError(click.ClickException):
    """No project here, or its sunshine.toml is wrong: the reason in Chinese, exit code 2, and
    none of click's usage lines, which are about the command line."""

    exit_code = 2

    def show(self, file: Any = None) -> None:
        click.echo(f"错误：{self.message}", err=True)


def _project() -> Project:
    try:
        project = Project.find()
        project.settings  # noqa: B018 - read now, so a broken sunshine.toml stops every command
    except (ProjectNotFound, SettingsError) as exc:
        raise SetUpError(str(exc)) from exc
    return project


class _Commands(click.Group):
    """click's group, but a prompt left unanswered (no terminal, or Ctrl-D) ends in Chinese instead
    of click's "Aborted!"."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.Abort:
            click.echo()  # after the prompt's line
            if sys.stdin.isatty():
                raise SetUpError("已取消。") from None
            raise SetUpError(
                "没有得到回答：请在终端中运行，或在命令行中给出全部选项（见 --help）。"
            ) from None


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="sunshine")
def cli() -> None:
    """阳光村务：校验、发布三务公开与群众诉求数据。"""


@cli.command()
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="text",
    show_default=True,
    help="输出格式：中文文本、JSON，或 GitHub 注释。",
)
@click.option("--max-bytes", type=int, default=None, help="单个 CSV 文件的大小上限（字节）。")
@click.option(
    "--base", default=None, help="与哪个 git 版本比较：本次新增或修改的行的问题列在最前面、全部列出。"
)
@click.option(
    "--whole",
    is_flag=True,
    help="每个文件都从头读完再校验，不沿用上次校验通过的版本只查变化的行（结果相同，只是更慢）。",
)
def validate(fmt: str, max_bytes: int | None, base: str | None, whole: bool) -> None:
    """校验 data/ 下的全部表格。退出码：0 通过，1 有错误，2 用法错误。"""
    project = _project()
    from sunshine.validate.report import render
    from sunshine.validate.run import validate_project

    kwargs: dict = {"max_bytes": max_bytes} if max_bytes else {}
    if base:
        from sunshine.diff.run import against_base

        kwargs["focus"], kwargs["extra"] = against_base(project, base)
    report = validate_project(project, by_changes=not whole, **kwargs)
    click.echo(render(report, fmt), nl=False)
    sys.exit(0 if report.valid else 1)


@cli.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
def fix(files: tuple[Path, ...]) -> None:
    """安全地修复 CSV：编码转为 UTF-8、全角数字、常见日期格式、首尾空格。原文件保留为 .orig.csv。"""
    from sunshine.fix.run import fix_command

    sys.exit(fix_command(_project(), list(files)))


@cli.command("next-id")
@click.argument("table")
def next_id(table: str) -> None:
    """给出一张表下一个可用的编号：比历史上用过的（包括已删除的）编号都大。"""
    from sunshine.diff.keys import next_free
    from sunshine.history.gitrepo import GitRepo, NotARepository

    project = _project()
    if table not in project.tables:
        raise click.UsageError(f"没有这张表：{table}。可用的表：{'、'.join(project.tables)}")
    try:
        repo = GitRepo.find(project.root)
    except NotARepository as exc:
        raise click.UsageError(str(exc)) from exc
    click.echo(next_free(project, repo, project.tables[table]))


@cli.command()
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=Path("build/templates"),
    show_default=True,
    help="写入 .xlsx 模板的目录。",
)
@click.option("--with-data", is_flag=True, help="把 data/ 中现有的行也写进工作簿，用于在 Excel 中修改。")
@click.argument("tables", nargs=-1)
def template(out: Path, tables: tuple[str, ...], with_data: bool) -> None:
    """为每张表生成 Excel 模板（.xlsx）：英文列名和中文名称、下拉列表、文本格式的日期和编号、列说明。"""
    from sunshine.fix.template import template_command

    sys.exit(template_command(_project(), out, list(tables), with_data=with_data))


@cli.command()
@click.option(
    "--datasette-url",
    envvar="SUNSHINE_DATASETTE_URL",
    default=None,
    help="网站中数据链接指向的 Datasette 地址（默认取 sunshine.toml 的 site.datasette_url）。",
)
@click.option(
    "--only", type=click.Choice(["database", "site", "history"]), multiple=True, help="只构建其中几项。"
)
def build(datasette_url: str, only: tuple[str, ...]) -> None:
    """先校验，再构建 build/sunshine.db、build/history.db 和 build/site/。数据有错时什么也不发布。"""
    from sunshine.build import build_command

    project = _project()
    url = datasette_url or project.settings.datasette_url
    sys.exit(build_command(project, datasette_url=url, only=only))


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, help="网站端口。")
@click.option("--datasette-port", default=8001, show_default=True, help="Datasette 端口。")
def serve(host: str, port: int, datasette_port: int) -> None:
    """构建并在本机提供网站（8000）和 Datasette（8001）。"""
    from sunshine.serve.run import serve_command

    sys.exit(serve_command(_project(), host=host, port=port, datasette_port=datasette_port))


@cli.command()
@click.option("--base", default="origin/main", show_default=True, help="与哪个 git 版本比较。")
@click.option("--format", "fmt", type=click.Choice(["text", "markdown"]), default="text", show_default=True)
@click.option("--datasette-url", envvar="SUNSHINE_DATASETTE_URL", default=None)
@click.option(
    "--reason",
    "reasons",
    multiple=True,
    help="修改已公开记录的原因（或含“更正原因：……”的合并请求说明）；提交说明中的“更正原因：”会自动读取。",
)
def diff(base: str, fmt: str, datasette_url: str, reasons: tuple[str, ...]) -> None:
    """按主键列出每张表新增、删除和修改的行；已公开记录的修改列在最前面，附更正原因。"""
    from sunshine.diff.run import diff_command

    project = _project()
    url = datasette_url or project.settings.datasette_url
    sys.exit(diff_command(project, base=base, fmt=fmt, datasette_url=url, reasons=reasons))


def _size_options(command):
    """One option per field of the generator's Sizes, with its default: the sizes are defined once."""
    for f in reversed(dataclasses.fields(Sizes)):
        option = click.option(
            f"--{f.name.replace('_', '-')}", default=f.default, show_default=True, help=f.metadata.get("help")
        )
        command = option(command)
    return command


@cli.command()
@click.option("--out", type=click.Path(path_type=Path), required=True, help="写入 CSV 的目录。")
@_size_options
@click.option("--seed", default=DEFAULT_SEED, show_default=True)
def generate(out: Path, seed: int, **sizes: int) -> None:
    """生成结构一致的虚构示例数据（任意规模，用于演示和性能测试）。"""
    sys.exit(generate_command(out, Sizes(**sizes), seed))


@cli.command()
@click.option("--check", is_flag=True, help="只检查 metadata.json 是否与表结构一致，不写入。")
def metadata(check: bool) -> None:
    """由表结构生成 Datasette 的 metadata.json。"""
    from sunshine.portal.metadata import metadata_command

    sys.exit(metadata_command(_project(), check=check))


@cli.command()
@click.option("--township", prompt="乡镇（街道）名称", help="乡镇（街道）名称，例如 清溪镇。")
@click.option("--county", prompt="所属县（市、区）", help="所属县（市、区），例如 青禾县。")
@click.option("--title", default="", help="网站标题（默认为“<乡镇>阳光村务”）。")
@click.option(
    "--site-url", prompt="网站的公开地址（例如 https://ygcw.example.gov.cn/）", help="网站的公开地址。"
)
@click.option("--datasette-url", default="", help="数据门户的公开地址（默认为网站地址加 data）。")
@click.option("--no-commit", is_flag=True, help="不提交到 git（之后请自己提交并设置 history.start）。")
@click.option("--force", is_flag=True, help="已经初始化过也重新初始化。")
def init(
    township: str, county: str, title: str, site_url: str, datasette_url: str, no_commit: bool, force: bool
) -> None:
    """把刚克隆的仓库变成本乡镇自己的项目：写入设置、清空示例数据、移走示例页面，并列出还要做的事。"""
    from sunshine.init.run import Answers, InitError, init_project

    try:
        answers = Answers.checked(township, county, title, site_url, datasette_url)
        result = init_project(_project(), answers, commit=not no_commit, force=force)
    except InitError as exc:
        raise click.UsageError(str(exc)) from exc
    click.echo(f"已初始化：{answers.county}{answers.township} · {answers.title}")
    click.echo(f"  已清空示例数据（只留表头）：{'、'.join(result.emptied)}")
    if result.moved:
        click.echo(f"  示例页面已移到 examples/：{'、'.join(result.moved)}")
    click.echo("还要做的事：")
    for i, item in enumerate(result.checklist, 1):
        click.echo(f"  {i}. {item}")


@cli.command()
@click.option(
    "--out", type=click.Path(path_type=Path), default=None, help="发布包写入的目录（默认 build/publish）。"
)
@click.option("--skip-build", is_flag=True, help="不重新构建，直接用 build/ 中已有的结果打包。")
def publish(out: Path | None, skip_build: bool) -> None:
    """构建，然后生成可部署到服务器的发布包：网站、nginx 配置、Datasette 服务（Docker、systemd、Kubernetes）和研究用下载。"""
    from sunshine.publish.run import publish_command

    sys.exit(publish_command(_project(), out=out, skip_build=skip_build))


@cli.command()
@click.option(
    "--check", is_flag=True, help="只检查 README.md 和 CONTRIBUTING.md 中生成的部分是否最新，不写入。"
)
def docs(check: bool) -> None:
    """由代码重新生成 README.md 的设置表和 CONTRIBUTING.md 的问题代码表。"""
    from sunshine.docs import MarkersMissing, stale

    project = _project()
    try:
        changed = stale(project.root)
    except (MarkersMissing, FileNotFoundError) as exc:
        raise click.ClickException(str(exc)) from exc
    if check:
        for name in changed:
            click.echo(f"{name} 中生成的部分已过时：请运行 sunshine docs 重新生成并提交。", err=True)
        sys.exit(1 if changed else 0)
    for name, text in changed.items():
        (project.root / name).write_text(text, encoding="utf-8")
        click.echo(f"已更新 {name}。")
    if not changed:
        click.echo("文档中生成的部分都是最新的。")


def main() -> None:  # pragma: no cover
    cli()


if __name__ == "__main__":  # pragma: no cover
    cli()
