"""The files themselves: present, inside data/, not links, not too large, nothing unexpected beside them.

content/ is published as it is, so it holds only ordinary files and folders: a symbolic link there
(or anything but a file or a folder) could publish a file from outside the repository, such as
/proc/self/environ with the build's secrets.
"""

from __future__ import annotations

import os
from pathlib import Path

from sunshine.package import Project
from sunshine.problems import Problem

# GitHub warns about files over 50 MB and refuses files over 100 MB; a township's records for many
# years are a few megabytes. A larger CSV is almost always an export gone wrong (a whole county, a
# pasted attachment) and would make every pull request slow to review and to publish.
# SUNSHINE_MAX_BYTES raises it for a deployment that publishes a whole county (also for `sunshine build`).
DEFAULT_MAX_BYTES = int(os.environ.get("SUNSHINE_MAX_BYTES") or 50 * 1024 * 1024)
BACKUP_SUFFIX = ".orig.csv"
CONTENT = "content"


def _mb(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MB"


def check_file(project: Project, rel: str, *, max_bytes: int) -> Problem | None:
    """None when the resource's CSV can be read; otherwise the one problem that stops it."""
    path = project.root / rel
    data = project.data_dir.resolve()
    if project.data_dir.is_symlink():
        return Problem(
            code="unsafe-path",
            file=rel,
            message="data/ 目录是一个符号链接",
            hint="请把 CSV 文件直接放在仓库的 data/ 目录中，不要链接到别处。",
        )
    if path.is_symlink():
        return Problem(
            code="unsafe-path",
            file=rel,
            message="这是一个符号链接，不是普通文件",
            hint="请把真正的 CSV 文件放在 data/ 目录中，不要使用链接。",
        )
    if not path.exists():
        return Problem(
            code="missing-file",
            file=rel,
            message="找不到这个文件",
            hint=f"请把这张表保存为 {rel}（文件名区分大小写）。",
        )
    resolved = path.resolve()
    if data not in resolved.parents:
        return Problem(
            code="unsafe-path",
            file=rel,
            message="文件位置在 data/ 目录之外",
            hint="数据文件必须直接放在 data/ 目录中。",
        )
    if not path.is_file():
        return Problem(
            code="missing-file", file=rel, message="这不是一个普通文件", hint=f"请把这张表保存为 {rel}。"
        )
    size = path.stat().st_size
    if size > max_bytes:
        return Problem(
            code="file-too-large",
            file=rel,
            message=f"文件有 {_mb(size)}，超过上限 {_mb(max_bytes)}",
            hint=(
                "一个乡镇的公开数据通常只有几 MB；GitHub 对超过 50 MB 的文件发出警告、拒收超过 100 MB 的文件。"
                "请检查是否导出了无关的数据或整个县的数据。确有需要时用 --max-bytes 或环境变量 SUNSHINE_MAX_BYTES 调整上限。"
            ),
        )
    if size == 0:
        return Problem(code="empty-file", file=rel, message="文件是空的", hint="至少要有表头一行。")
    return None


def _backup_of(rel: str) -> str | None:
    """The table a backup of `sunshine fix` belongs to: x.orig.csv and x.2.orig.csv are backups of x.csv."""
    if not rel.endswith(BACKUP_SUFFIX):
        return None
    stem = rel.removesuffix(BACKUP_SUFFIX)
    head, _, number = stem.rpartition(".")
    return (head if head and number.isdigit() else stem) + ".csv"


def stray_files(project: Project) -> list[Problem]:
    """Files in data/ that are not a table of the package (backups of `sunshine fix` only warn)."""
    known = {Path(t.path).as_posix() for t in project.tables.values()}
    out: list[Problem] = []
    if not project.data_dir.is_dir():
        return out
    for path in sorted(project.data_dir.rglob("*")):
        rel = path.relative_to(project.root).as_posix()
        if rel in known or path.name.startswith(".") or path.is_dir():
            continue
        if _backup_of(rel) in known:
            out.append(
                Problem(
                    code="backup-file",
                    file=rel,
                    message="这是 sunshine fix 留下的修复前备份",
                    hint="核对修复结果无误后删除这个文件，不要提交到仓库。",
                    severity="warning",
                )
            )
            continue
        out.append(
            Problem(
                code="unknown-file",
                file=rel,
                message="data/ 中有不属于数据包的文件，它不会被发布",
                hint="data/ 只放数据包中的表："
                + "、".join(sorted(known))
                + "。如果这是其中一张表，请改成正确的文件名；否则请移走。",
            )
        )
    return out


def content_problems(project: Project) -> list[Problem]:
    """Symbolic links and special files anywhere in content/ (the site publishes what is there)."""
    root = project.root / CONTENT
    if root.is_symlink():
        return [_unsafe_content(CONTENT, "content/ 目录是一个符号链接")]
    if not root.is_dir():
        return []
    out: list[Problem] = []
    for folder, dirs, files in os.walk(root, followlinks=False):
        for name in sorted(dirs + files):
            path = Path(folder) / name
            rel = path.relative_to(project.root).as_posix()
            if path.is_symlink():
                out.append(_unsafe_content(rel, "这是一个符号链接，不是普通文件"))
            elif not (path.is_dir() or path.is_file()):
                out.append(_unsafe_content(rel, "这不是普通文件或文件夹"))
    return out


def _unsafe_content(rel: str, message: str) -> Problem:
    return Problem(
        code="unsafe-path",
        file=rel,
        message=message,
        hint="content/ 中的内容会原样发布到网站上，只能放真实的文件；链接可能把仓库之外的文件发布出去。"
        "请删除这个链接，把要发布的文件本身复制到这里。",
    )
