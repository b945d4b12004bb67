"""`python -m sunshine.site.mkdocs_run build ...`: the mkdocs command, writing each file atomically.

MkDocs writes a page by truncating the file in place. The site build keeps MkDocs's output between
builds (so a `--dirty` build rewrites only the pages whose Markdown changed) and publishes it by
hard links; a page rewritten in place would change under the published site. Here every file is
written beside its target and renamed over it, so the published copy keeps its own inode.

`--dirty` makes MkDocs warn that it is meant for development, which `--strict` would turn into a
failure: the site build uses it only when the navigation and every page title are unchanged (the
only things one page takes from the others), so that warning is dropped.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys

from mkdocs import utils
from mkdocs.__main__ import cli


def _replace(output_path: str, write: object) -> None:
    os.makedirs(os.path.dirname(output_path), exist_ok=True)
    tmp = f"{output_path}.{os.getpid()}.tmp"
    try:
        write(tmp)  # type: ignore[operator]
        os.replace(tmp, output_path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_file(content: bytes, output_path: str) -> None:
    def write(tmp: str) -> None:
        with open(tmp, "wb") as f:
            f.write(content)

    _replace(output_path, write)


def copy_file(source_path: str, output_path: str) -> None:
    if os.path.isdir(output_path):
        output_path = os.path.join(output_path, os.path.basename(source_path))
    _replace(output_path, lambda tmp: shutil.copyfile(source_path, tmp))


class _NoDirtyWarning(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "'dirty' build" not in record.getMessage()


def main() -> None:
    utils.write_file = write_file
    utils.copy_file = copy_file
    logging.getLogger("mkdocs.commands.build").addFilter(_NoDirtyWarning())
    sys.argv[0] = "mkdocs"
    cli()


if __name__ == "__main__":
    main()
