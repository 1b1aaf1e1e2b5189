import pytest

from site_builder.config import load_config
from site_builder.model import BuildError

PYPROJECT = """[project]
name = "x"

[tool.site_builder]
source = "pkg"
title = "My Site"
base_url = "https://x.example.org"
languages = ["en", "zh"]
docs = "docs"
out = "public"
"""


def test_reads_pyproject_relative_to_its_folder(tmp_path, monkeypatch):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "docs").mkdir()
    (tmp_path / "sub").mkdir()
    (tmp_path / "pyproject.toml").write_text(PYPROJECT)
    monkeypatch.chdir(tmp_path / "sub")
    config = load_config()
    assert config.root == tmp_path
    assert config.source == tmp_path / "pkg"
    assert config.out == tmp_path / "public"
    assert config.docs == tmp_path / "docs"
    assert config.locale_dir == tmp_path / "docs" / "locale"
    assert config.cache_dir == tmp_path / ".site_builder_cache"
    assert config.languages == ("en", "zh")
    assert config.base_url == "https://x.example.org/"
    assert config.title == "My Site"


def test_cli_overrides_win_and_are_relative_to_the_current_folder(tmp_path, monkeypatch):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "other").mkdir()
    (tmp_path / "docs").mkdir()
    (tmp_path / "pyproject.toml").write_text(PYPROJECT)
    monkeypatch.chdir(tmp_path)
    config = load_config({"source": "other", "title": "T", "languages": ["en"], "out": None})
    assert (config.source, config.title, config.languages) == (tmp_path / "other", "T", ("en",))
    assert config.out == tmp_path / "public"


def test_flags_alone_without_pyproject(tmp_path, monkeypatch):
    (tmp_path / "mypkg").mkdir()
    monkeypatch.chdir(tmp_path)
    config = load_config({"source": "mypkg", "out": "o"})
    assert config.source == tmp_path / "mypkg"
    assert config.out == tmp_path / "o"
    assert config.title == "mypkg"
    assert config.docs is None and config.languages == ("en",)


def test_no_source_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(BuildError, match="no source package: pass --source"):
        load_config({})


def test_unknown_key_names_its_line(tmp_path, monkeypatch):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "docs").mkdir()
    (tmp_path / "pyproject.toml").write_text(PYPROJECT + 'colour = "red"\n')
    monkeypatch.chdir(tmp_path)
    with pytest.raises(BuildError) as caught:
        load_config()
    assert caught.value.path.endswith("pyproject.toml")
    assert caught.value.line == 11
    assert (
        "unknown key 'colour' in [tool.site_builder]; known: source, title" in caught.value.message
    )


@pytest.mark.parametrize(
    ("line", "message"),
    [('languages = "en"', "'languages' must be a non-empty list"), ("title = 3", "'title'")],
)
def test_bad_values(tmp_path, monkeypatch, line, message):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pyproject.toml").write_text(f'[tool.site_builder]\nsource = "pkg"\n{line}\n')
    monkeypatch.chdir(tmp_path)
    with pytest.raises(BuildError, match=message) as caught:
        load_config()
    assert caught.value.line == 3


def test_invalid_toml_has_a_line(tmp_path, monkeypatch):
    (tmp_path / "pyproject.toml").write_text('[tool.site_builder]\nsource = "pkg\n')
    monkeypatch.chdir(tmp_path)
    with pytest.raises(BuildError, match="invalid TOML") as caught:
        load_config()
    assert caught.value.line == 2


def test_a_missing_docs_folder_names_its_line(tmp_path, monkeypatch):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pyproject.toml").write_text('[tool.site_builder]\nsource = "pkg"\ndocs = "dosc"\n')
    monkeypatch.chdir(tmp_path)
    with pytest.raises(BuildError, match="docs folder .*dosc' is not a directory") as caught:
        load_config()
    assert caught.value.line == 3


@pytest.mark.parametrize("key", ["base_url", "repo_url"])
@pytest.mark.parametrize("url", ["github.com/o/r/blob/main/", "ftp://x.org/", "https:///path/"])
def test_a_malformed_url_names_its_line(tmp_path, monkeypatch, key, url):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pyproject.toml").write_text(
        f'[tool.site_builder]\nsource = "pkg"\n{key} = "{url}"\n'
    )
    monkeypatch.chdir(tmp_path)
    with pytest.raises(BuildError, match=f"'{key}' must be an http\\(s\\) URL") as caught:
        load_config()
    assert caught.value.line == 3


def test_a_malformed_url_on_the_command_line(tmp_path, monkeypatch):
    (tmp_path / "pkg").mkdir()
    monkeypatch.chdir(tmp_path)
    with pytest.raises(BuildError, match="'base_url' must be") as caught:
        load_config({"source": "pkg", "base_url": "example.org"})
    assert caught.value.path == "<command line>"


def test_repo_url_gets_its_trailing_slash(tmp_path, monkeypatch):
    (tmp_path / "pkg").mkdir()
    monkeypatch.chdir(tmp_path)
    config = load_config({"source": "pkg", "repo_url": "https://github.com/o/r/blob/main"})
    assert config.repo_url == "https://github.com/o/r/blob/main/"
    assert config.issues_url == "https://github.com/o/r/issues/new"


def test_exclude_is_a_list_of_patterns(tmp_path, monkeypatch):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pyproject.toml").write_text(
        '[tool.site_builder]\nsource = "pkg"\nexclude = ["tests/", "setup.py"]\n'
    )
    monkeypatch.chdir(tmp_path)
    assert load_config().exclude == ("tests/", "setup.py")
    (tmp_path / "pyproject.toml").write_text('[tool.site_builder]\nsource = "pkg"\nexclude = "x"\n')
    with pytest.raises(BuildError, match="'exclude' must be a list of patterns") as caught:
        load_config()
    assert caught.value.line == 3


@pytest.mark.parametrize(("key", "kind"), [("overrides", "folder"), ("logo", "file")])
def test_a_missing_overrides_folder_or_logo_names_its_line(tmp_path, monkeypatch, key, kind):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pyproject.toml").write_text(f'[tool.site_builder]\nsource = "pkg"\n{key} = "x"\n')
    monkeypatch.chdir(tmp_path)
    with pytest.raises(BuildError, match=f"{key} '.*x' is not a {kind}") as caught:
        load_config()
    assert caught.value.line == 3
