"""Debian's Chromium, headless, as the browser tests drive it (Playwright cannot download its own here)."""

from __future__ import annotations

from pathlib import Path

import pytest

AXE = Path(__file__).resolve().parent.parent / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def launch(playwright):
    """A headless Chromium that makes no background connections of its own."""
    require_chromium()
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


def axe_source() -> str:
    """axe-core's script, or a failure that says how to install it (`make test` does)."""
    if not AXE.is_file():
        pytest.fail(
            f"找不到 axe-core（{AXE}）：请运行 make test，它会用 npm ci 安装 package-lock.json 中锁定的版本。"
        )
    return AXE.read_text(encoding="utf-8")


def require_chromium() -> None:
    """Fail with the way to install Chromium when it is missing (`make test` installs Debian's package)."""
    if not Path(CHROMIUM).is_file():
        pytest.fail(f"找不到 {CHROMIUM}：请运行 make test，它会安装 Debian 的 chromium 软件包。")
