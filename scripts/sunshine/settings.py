"""The township's settings: one committed file, `sunshine.toml`, declared here as data.

Every knob has a name (`section.key`), a default and a Chinese help text, as Datasette declares its
settings. `sunshine init` writes the file; the site, the portal links, the pull-request check and the
public history read it. An environment variable `SUNSHINE_<SECTION>_<KEY>` overrides a value for one
run (for example a preview deployment), never the committed file.
"""

from __future__ import annotations

import datetime
import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FILENAME = "sunshine.toml"
SAMPLE_MARK = "（示例数据）"  # what marks a text as sample data, dropped when site.sample is false


@dataclass(frozen=True)
class Setting:
    """One knob of sunshine.toml."""

    name: str  # "section.key"
    default: Any
    help: str


SETTINGS: tuple[Setting, ...] = (
    Setting("township.name", "", "乡镇（街道）名称"),
    Setting("township.county", "", "所属县（市、区）"),
    Setting("site.title", "阳光村务", "网站标题"),
    Setting("site.url", "http://127.0.0.1:8000/", "网站的公开地址"),
    Setting("site.datasette_url", "http://127.0.0.1:8001", "数据门户（Datasette）的公开地址"),
    Setting("site.sample", False, "是否为示例数据：为 true 时每页显示“示例数据”提示"),
    Setting("history.start", "", "公开的变更记录从哪个提交或日期（YYYY-MM-DD）开始；留空为仓库的第一个提交"),
)
_BY_NAME = {s.name: s for s in SETTINGS}


class SettingsError(Exception):
    """sunshine.toml cannot be read or holds a value of the wrong kind."""


@dataclass(frozen=True)
class Settings:
    """The values in force: the committed file, then environment overrides, then defaults."""

    values: dict[str, Any]

    def __getitem__(self, name: str) -> Any:
        return self.values[name]

    @property
    def township(self) -> str:
        return self.values["township.name"]

    @property
    def county(self) -> str:
        return self.values["township.county"]

    @property
    def title(self) -> str:
        return self.values["site.title"]

    @property
    def site_url(self) -> str:
        url = self.values["site.url"]
        return url if url.endswith("/") else url + "/"

    @property
    def datasette_url(self) -> str:
        return self.values["site.datasette_url"].rstrip("/")

    @property
    def sample(self) -> bool:
        return bool(self.values["site.sample"])

    @property
    def history_start(self) -> str:
        return self.values["history.start"]


def unmark_sample(value: Any) -> Any:
    """The same texts (in dicts and lists too) without the sample-data marks."""
    if isinstance(value, str):
        return (
            value.replace(SAMPLE_MARK, "")
            .replace(" (sample data)", "")
            .replace("a fictional township", "the township")
        )
    if isinstance(value, dict):
        return {k: unmark_sample(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unmark_sample(v) for v in value]
    return value


def env_name(name: str) -> str:
    return "SUNSHINE_" + name.replace(".", "_").upper()


def load(root: Path, environ: dict[str, str] | None = None) -> Settings:
    """Read `root/sunshine.toml` (a missing file means every default)."""
    environ = os.environ if environ is None else environ
    path = root / FILENAME
    raw: dict[str, Any] = {}
    if path.is_file():
        raw = _parse(path.read_bytes())
    values: dict[str, Any] = {}
    for section, entries in raw.items():
        if not isinstance(entries, dict):
            raise SettingsError(f"{FILENAME} 中的 {section} 应是一个小节（[{section}]）。")
        for key, value in entries.items():
            name = f"{section}.{key}"
            if name not in _BY_NAME:
                raise SettingsError(f"{FILENAME} 中有未知的设置 {name}。可用的设置见 README 的“设置”一节。")
            values[name] = value
    out: dict[str, Any] = {}
    for s in SETTINGS:
        value = values.get(s.name, s.default)
        override = environ.get(env_name(s.name))
        if override is not None:
            value = override.lower() in {"1", "true", "yes"} if isinstance(s.default, bool) else override
        where = " 中的 " if override is not None else _line_of(path, s.name)
        if s.name == "history.start" and type(value) is datetime.date:
            value = value.isoformat()  # written as a TOML date (start = 2024-05-01): the same day
        if not isinstance(value, type(s.default)):
            if isinstance(s.default, bool):
                wanted = " true 或 false（不加引号）"
            elif s.name == "history.start":
                wanted = '日期（例如 2024-05-01）或加英文双引号的提交（例如 "a1b2c3d"）'
            else:
                wanted = '加英文双引号的文字（例如 "清溪镇"）'
            shown = _without_numbers(as_written(value))
            raise SettingsError(f"{FILENAME}{where}{s.name} 应为{wanted}，现在是“{shown}”。")
        if isinstance(value, str):
            _check_text(s.name, value, where)
        out[s.name] = value
    return Settings(out)


def _line_of(path: Path, name: str) -> str:
    """ " 第 N 行" where the file sets `name` (section.key), or "" when it is not found there."""
    section, key = name.split(".", 1)
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeError):
        return ""
    current = ""
    for n, line in enumerate(lines, 1):
        stripped = line.strip()
        if stripped.startswith("[") and not stripped.startswith("[["):
            current = stripped.strip("[] ")
        elif current == section and re.match(rf"{re.escape(key)}\s*=", stripped):
            return f" 第 {n} 行的 "
    return " 中的 "


def line_of(root: Path, name: str) -> int | None:
    """The line of sunshine.toml that sets `name`, for a validation problem about it."""
    found = _line_of(root / FILENAME, name).split()
    return int(found[1]) if len(found) > 1 else None


_WHERE = re.compile(r"line (\d+), column (\d+)")
_DATE_LIKE = re.compile(r"\d{4}-\d{1,2}-\d{1,2}")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _parse(data: bytes) -> dict[str, Any]:
    try:
        return tomllib.loads(data.decode("utf-8").removeprefix("\ufeff"))
    except UnicodeDecodeError as exc:
        raise SettingsError(
            f"{FILENAME} 无法读取：文件不是 UTF-8 编码（可能是 GBK）。请用记事本或 WPS “另存为”，编码选 UTF-8。"
        ) from exc
    except tomllib.TOMLDecodeError as exc:
        where = _WHERE.search(str(exc))
        at = f"第 {where.group(1)} 行第 {where.group(2)} 列附近" if where else ""
        raise SettingsError(
            f"{FILENAME} 无法读取：{at}写法有误。请检查引号、方括号和等号，文字要加英文双引号"
            '（例如 name = "清溪镇"），再对照 README 的“设置”一节改正。'
        ) from exc


def _check_text(name: str, value: str, where: str = " 中的 ") -> None:
    """A history.start that looks like a date must be one. (A personal number in a setting every
    page shows is refused by validation: sunshine.validate.run.)"""
    if name == "history.start" and _DATE_LIKE.fullmatch(value):
        try:
            day = datetime.date.fromisoformat(value) if _DATE.fullmatch(value) else None
        except ValueError:
            day = None
        if day is None or not 1990 <= day.year <= 2099:
            raise SettingsError(
                f"{FILENAME}{where}history.start 是“{value}”，不是一个有效的日期。"
                "请写成 YYYY-MM-DD（例如 2024-01-01）、填写一个提交，或留空。"
            )


def render(values: dict[str, Any]) -> str:
    """The text of sunshine.toml for these values, every knob with its help as a comment."""
    lines = ["# 阳光村务 · 本乡镇的设置（唯一一份）。`sunshine init` 写入，之后直接修改并提交即可。"]
    section = None
    for s in SETTINGS:
        sec, key = s.name.split(".", 1)
        if sec != section:
            lines += ["", f"[{sec}]"]
            section = sec
        value = values.get(s.name, s.default)
        lines.append(f"# {s.help}")
        lines.append(f"{key} = {toml_value(value)}")
    return "\n".join(lines) + "\n"


def _without_numbers(text: str) -> str:
    """A value echoed in an error, its long runs of digits starred: a personal number typed into the
    wrong kind of setting is not repeated (validation, which masks such numbers, never sees it)."""
    return re.sub(r"[0-9Xx]{7,}", lambda m: "*" * len(m[0]), text)


def as_written(value: Any) -> str:
    """A value read from a TOML file, shown as it is written there (never Python's form of it):
    true, 2024-05-01, ["a", "b"]."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) if isinstance(v, str) else as_written(v) for v in value) + "]"
    if isinstance(value, dict):
        pairs = (f"{k} = {toml_value(v) if isinstance(v, str) else as_written(v)}" for k, v in value.items())
        return "{" + ", ".join(pairs) + "}"
    return str(value)


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'
