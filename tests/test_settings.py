"""sunshine.toml: the township's one settings file, declared as data in sunshine.settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from sunshine import settings

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
        ("[site]\nsample = 'yes'\n", "应为true 或 false"),
        ("site = 1\n", "应是一个小节"),
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
