"""sunshine.toml: the township's one settings file, declared as data in sunshine.settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from sunshine import settings
from sunshine.package import Project
from sunshine.validate.run import validate_project

from .git_fixture import commit, git

ROOT = Path(__file__).resolve().parent.parent


def test_a_missing_file_means_every_default(tmp_path):
    s = settings.load(tmp_path, environ={})
    assert s.values == {x.name: x.default for x in settings.SETTINGS}


def test_the_committed_file_is_what_render_writes_for_its_own_values():
    committed = (ROOT / settings.FILENAME).read_text(encoding="utf-8")
    values = settings.load(ROOT, environ={}).values
    assert settings.render(values) == committed


def test_an_environment_variable_overrides_one_value_for_one_run(tmp_path):
    s = settings.load(tmp_path, environ={"SUNSHINE_SITE_DATASETTE_URL": "https://data.example.cn/"})
    assert s.datasette_url == "https://data.example.cn"


@pytest.mark.parametrize(
    "text, message",
    [
        ("[site]\nurl = ", "无法读取"),
        ("[site]\ncolour = 'red'\n", "未知的设置 site.colour"),
        (
            "[site]\nsample = '否'\n",
            "sunshine.toml 第 2 行的 site.sample 应为 true 或 false（不加引号），现在是“否”。",
        ),
        (
            "[site]\ntitle = 2024\n",
            'sunshine.toml 第 2 行的 site.title 应为加英文双引号的文字（例如 "清溪镇"），现在是“2024”。',
        ),
        ("site = 1\n", "应是一个小节"),
        ('[history]\nstart = ["a", 2024-05-01]\n', '现在是“\\["a", 2024-05-01\\]”。'),
        ('[site]\ntitle = ["书记 13812345678"]\n', '现在是“\\["书记 \\*{11}"\\]”。'),
    ],
)
def test_a_broken_file_is_a_chinese_error_naming_the_setting(tmp_path, text, message):
    (tmp_path / settings.FILENAME).write_text(text, encoding="utf-8")
    with pytest.raises(settings.SettingsError, match=message):
        settings.load(tmp_path, environ={})


def test_the_readme_documents_every_setting():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for s in settings.SETTINGS:
        assert f"`{s.name}`" in readme, s.name


def test_a_typing_mistake_in_the_file_names_its_line_and_column_in_chinese(tmp_path):
    (tmp_path / settings.FILENAME).write_text('[site]\ntitle = "阳光村务\n', encoding="utf-8")
    with pytest.raises(settings.SettingsError) as caught:
        settings.load(tmp_path, environ={})
    assert str(caught.value) == (
        "sunshine.toml 无法读取：第 2 行第 14 列附近写法有误。请检查引号、方括号和等号，文字要加英文双引号"
        '（例如 name = "清溪镇"），再对照 README 的“设置”一节改正。'
    )


@pytest.mark.parametrize(
    "text, expected",
    [
        (
            '[township]\nname = "桃源镇（联系人11010519491231002X）"\n',
            ("personal-id", "township.name", "含有身份证号 110105********002X，公开数据不得包含个人身份信息"),
        ),
        (
            '[site]\ntitle = "阳光村务 书记手机13812345678"\n',
            ("personal-phone", "site.title", "含有手机号 138****5678，公开数据不得包含个人联系方式"),
        ),
    ],
)
def test_a_setting_shown_on_every_page_with_a_personal_number_fails_validation(
    fixture_package, text, expected
):
    (fixture_package.root / settings.FILENAME).write_text(text, encoding="utf-8")
    report = validate_project(Project.load(fixture_package.root))
    assert [(p.code, p.column, p.message) for p in report.errors if p.file == settings.FILENAME] == [expected]


def test_a_personal_number_given_by_an_environment_variable_fails_validation_too(
    fixture_package, monkeypatch
):
    monkeypatch.setenv("SUNSHINE_SITE_TITLE", "阳光村务13812345678")
    report = validate_project(Project.load(fixture_package.root))
    assert [(p.file, p.column, p.code) for p in report.errors] == [
        (settings.FILENAME, "site.title", "personal-phone")
    ]


@pytest.mark.parametrize("start", ["2026-13-45", "2024-02-30", "2024-2-3", "1900-01-01"])
def test_a_history_start_that_looks_like_a_date_must_be_a_real_one(tmp_path, start):
    (tmp_path / settings.FILENAME).write_text(f'[history]\nstart = "{start}"\n', encoding="utf-8")
    with pytest.raises(settings.SettingsError) as caught:
        settings.load(tmp_path, environ={})
    assert str(caught.value) == (
        f"sunshine.toml 第 2 行的 history.start 是“{start}”，不是一个有效的日期。"
        "请写成 YYYY-MM-DD（例如 2024-01-01）、填写一个提交，或留空。"
    )


def test_a_history_start_that_is_a_date_or_a_commit_is_kept(tmp_path):
    (tmp_path / settings.FILENAME).write_text('[history]\nstart = "2024-02-29"\n', encoding="utf-8")
    assert settings.load(tmp_path, environ={}).history_start == "2024-02-29"
    (tmp_path / settings.FILENAME).write_text('[history]\nstart = "a1b2c3d"\n', encoding="utf-8")
    assert settings.load(tmp_path, environ={}).history_start == "a1b2c3d"


def test_a_history_start_written_as_a_toml_date_is_that_day(tmp_path):
    (tmp_path / settings.FILENAME).write_text("[history]\nstart = 2024-05-01\n", encoding="utf-8")
    assert settings.load(tmp_path, environ={}).history_start == "2024-05-01"


@pytest.mark.parametrize("start", ["上个月", "deadbeef"])
def test_a_history_start_that_names_no_commit_fails_validation(fixture_package, start):
    root = fixture_package.root
    git(root, "init", "-q")
    commit(root, "Publish the data", "2024-05-01T09:00:00+08:00")
    (root / settings.FILENAME).write_text(f'[history]\nstart = "{start}"\n', encoding="utf-8")
    report = validate_project(Project.load(root))
    assert [(p.file, p.row, p.column, p.code, p.message) for p in report.errors] == [
        (
            settings.FILENAME,
            2,
            "history.start",
            "unknown-start",
            f"history.start 是“{start}”，但仓库里没有这个提交，也不是日期（YYYY-MM-DD）",
        )
    ]
