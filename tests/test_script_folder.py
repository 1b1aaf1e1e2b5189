"""A repository that is a folder of scripts, as many research repositories are
(tests/fixtures/script_folder, shaped like nanoGPT): no package, modules importing each other by
plain name, `if __name__ == "__main__"` blocks, two `prepare.py` in two folders, and a README at
the root. Built through the CLI with the fixture's own `[tool.site_builder]` (`source = "."`)."""

import re
import shutil
from pathlib import Path

import pytest
from conftest import snapshot

from site_builder.cli import main

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "script_folder"


def build(folder: Path, out: Path, monkeypatch, capsys) -> tuple[int, str]:
    monkeypatch.chdir(folder)
    code = main(["build", "--out", str(out)])
    return code, capsys.readouterr().err


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("scripts") / "site"
    before = snapshot(FIXTURE)
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(FIXTURE)
        code = main(["build", "--out", str(out)])
    assert code == 0
    assert snapshot(FIXTURE) == before, "the build wrote into its source"
    return out


def hrefs(page: Path) -> set[str]:
    return set(re.findall(r'href="([^"]*)"', page.read_text(encoding="utf-8")))


def test_every_script_is_a_page_and_the_readme_is_the_home_page(site):
    pages = sorted(p.relative_to(site).as_posix() for p in site.rglob("*.html"))
    assert pages == [
        "404.html",
        "config/train_gpt2.html",
        "configurator.html",
        "data/openwebtext/prepare.html",
        "data/openwebtext/tokens.html",
        "data/shakespeare/prepare.html",
        "index.html",
        "model.html",
        "sample.html",
        "train.html",
    ]
    home = (site / "index.html").read_text(encoding="utf-8")
    assert "The simplest repository for training small GPTs" in home
    assert '<img src="assets/loss.svg"' in home and (site / "assets/loss.svg").is_file()


def test_the_readme_links_to_the_pages_of_the_files_it_names(site):
    assert {
        "model.html",
        "train.html",
        "sample.html",
        "data/shakespeare/prepare.html",
        "config/train_gpt2.html",
        "model.html#GPT",  # `GPT` in the README's text
    } <= hrefs(site / "index.html")


def link_to(page: Path, text: str) -> list[str]:
    """The hrefs of the page's links that read `text`."""
    return re.findall(rf'<a href="([^"]*)">{text}</a>', page.read_text(encoding="utf-8"))


def test_a_link_to_the_readme_goes_to_the_home_page(site):
    assert link_to(site / "data/shakespeare/prepare.html", "README") == ["../../index.html"]


def test_names_imported_from_sibling_scripts_link_to_their_definitions(site):
    train = hrefs(site / "train.html")
    assert {"model.html#GPT", "model.html#GPTConfig"} <= train  # from model import ...
    assert "model.html#count_parameters" in train  # import model; model.count_parameters
    assert "configurator.html#override" in train  # and `configurator.override` in commentary
    assert {"model.html#GPT", "model.html#GPTConfig"} <= hrefs(site / "sample.html")
    model = (site / "model.html").read_text(encoding="utf-8")
    assert all(f'id="{name}"' in model for name in ("GPT", "GPTConfig", "Block"))


def test_two_scripts_of_one_name_in_two_folders_each_link_their_own(site):
    web, books = site / "data/openwebtext/prepare.html", site / "data/shakespeare/prepare.html"
    assert "tokens.html#encode" in hrefs(web)  # from tokens import encode: the one next to it
    for page in (web, books):
        assert 'id="prepare"' in page.read_text(encoding="utf-8")
        assert not any(href.startswith("../") and "prepare" in href for href in hrefs(page))


def test_a_readme_beside_another_home_page_keeps_its_page_with_a_warning(
    tmp_path, monkeypatch, capsys
):
    folder = tmp_path / "repo"
    shutil.copytree(FIXTURE, folder)
    (folder / "__init__.py").write_text('"""The package\'s own home page."""\n')
    code, err = build(folder, tmp_path / "site", monkeypatch, capsys)
    assert code == 0, err
    assert "README.md: not the home page: __init__.py is (index.html)" in err
    assert "Traceback" not in err
    assert "The package's own home page" in (tmp_path / "site/index.html").read_text()
    assert "The simplest repository" in (tmp_path / "site/README.html").read_text()
    # a link to the README lands on its own page
    page = tmp_path / "site/data/shakespeare/prepare.html"
    assert link_to(page, "README") == ["../../README.html"]


def test_a_readme_in_any_case_is_the_home_page(tmp_path, monkeypatch, capsys):
    folder = tmp_path / "repo"
    shutil.copytree(FIXTURE, folder)
    (folder / "README.md").rename(folder / "Readme.md")
    (folder / "data/shakespeare/prepare.py").write_text(
        '"""See the [Readme](../../Readme.md)."""\n'
    )
    code, err = build(folder, tmp_path / "site", monkeypatch, capsys)
    assert code == 0, err
    assert "The simplest repository" in (tmp_path / "site/index.html").read_text()
    assert not (tmp_path / "site/Readme.html").exists()
    page = tmp_path / "site/data/shakespeare/prepare.html"
    assert link_to(page, "Readme") == ["../../index.html"]


def with_docs(tmp_path, name: str, text: str):
    """A copy of the fixture whose `docs` folder (inside the source) holds `name`."""
    folder = tmp_path / "repo"
    shutil.copytree(FIXTURE, folder)
    (folder / "docs").mkdir()
    (folder / "docs" / name).write_text(text)
    with (folder / "pyproject.toml").open("a") as config:
        config.write('docs = "docs"\n')
    return folder


def test_a_docs_folder_inside_the_source_is_built_once(tmp_path, monkeypatch, capsys):
    folder = with_docs(tmp_path, "guide.md", "# Guide\n\nRead [the model](model.html).\n")
    code, err = build(folder, tmp_path / "site", monkeypatch, capsys)
    assert code == 0, err
    assert (tmp_path / "site/guide.html").is_file()
    assert not (tmp_path / "site/docs").exists()


def test_a_docs_readme_beside_the_home_readme_keeps_its_page(tmp_path, monkeypatch, capsys):
    folder = with_docs(tmp_path, "README.md", "# Guides\n\nThe [home page](index.html).\n")
    code, err = build(folder, tmp_path / "site", monkeypatch, capsys)
    assert code == 0, err
    assert "The simplest repository" in (tmp_path / "site/index.html").read_text()
    assert "Guides" in (tmp_path / "site/README.html").read_text()
