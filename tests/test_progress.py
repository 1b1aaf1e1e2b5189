"""Translation progress in words (`i18n status`, the translations page) and draft languages: a
language under `draft_below` is built for preview but not offered (switcher, hreflang, sitemap);
and a partly translated language added to a copy of this repository builds and passes the
catalog tests."""

import shutil
import subprocess
import sys
from pathlib import Path

import polib
import pytest
from conftest import REPO, make_config

from site_builder import i18n, progress
from site_builder.build import build_site
from site_builder.cli import main

PYPROJECT = """\
[project]
name = "tiny"
version = "1.0"

[tool.site_builder]
source = "pkg"
docs = "docs"
languages = ["en", "zh", "fr"]
"""


def translate(locale_dir: Path, lang: str, translations: dict[str, str] | None = None) -> int:
    """Fill in the entries of `lang` whose English is a key of `translations` (every entry, as
    its own English, when None), as a translator's PO editor does; returns how many."""
    done = 0
    for path in (locale_dir / lang / "LC_MESSAGES").rglob("*.po"):
        catalog = polib.pofile(str(path))
        for entry in catalog:
            if translations is None or entry.msgid in translations:
                entry.msgstr = entry.msgid if translations is None else translations[entry.msgid]
                done += 1
        catalog.save(str(path))
    return done


def test_words_and_entries_per_page_and_language(tiny, capsys):
    (tiny.root / "pyproject.toml").write_text(PYPROJECT)
    config = make_config(tiny.root, languages=("en", "zh", "fr"))
    i18n.update(config, ["zh", "fr"], [])
    assert translate(config.locale_dir, "fr", {"A Layer": "Une couche"}) == 1
    rows = {(row.page, row.lang): row for row in progress.site_progress(config, [])}
    layer = rows["models/layer", "fr"]
    assert (layer.translated, layer.fuzzy, layer.words_translated) == (1, 0, 2)
    assert layer.missing == layer.entries - 1 and layer.words_missing > 10
    assert rows["models/layer", "zh"].words == layer.words  # the same English
    totals = progress.totals(list(rows.values()))
    assert totals["zh"].percent == 0 and 0 < totals["fr"].percent < 10

    assert main(["i18n", "status", "fr", "--project", str(tiny.root)]) == 0
    output = capsys.readouterr().out.splitlines()
    assert [line.split()[:2] for line in output if "models/layer" in line] == [
        ["models/layer", "fr"]
    ]
    assert main(["i18n", "status", "--project", str(tiny.root), "--fail-under", "5"]) == 1
    assert "zh: 0.0% of the words translated, under 5.0%" in capsys.readouterr().out


def test_a_draft_language_is_built_but_not_offered_to_readers(tiny):
    config = make_config(tiny.root, languages=("en", "zh", "fr"), draft_below=50)
    i18n.update(config, ["zh", "fr"], [])
    translate(config.locale_dir, "zh")
    translate(config.locale_dir, "fr", {"A Layer": "Une couche"})
    build_site(config, index_search=False)
    out = config.out
    english = (out / "models/layer.html").read_text(encoding="utf-8")
    assert 'hreflang="zh"' in english and 'hreflang="fr"' not in english
    draft = (out / "fr/models/layer.html").read_text(encoding="utf-8")
    assert "<h1>Une couche</h1>" in draft and '<meta name="robots" content="noindex">' in draft
    assert 'rel="alternate"' not in draft and 'aria-current="true" lang="fr"' in draft
    sitemap = (out / "sitemap.xml").read_text(encoding="utf-8")
    assert "/zh/models/layer.html" in sitemap and "/fr/" not in sitemap
    page = (out / "translations.html").read_text(encoding="utf-8")
    assert page.count("Draft") == 1 and "Français" in page and "100%" in page
    assert 'href="zh/models/layer.html"' in page and 'href="guide.html"' not in page
    assert (out / "fr/translations.html").is_file()

    # Once the threshold is met the language is offered, the pages made again.
    build_site(
        make_config(tiny.root, languages=("en", "zh", "fr"), draft_below=0), index_search=False
    )
    english = (out / "models/layer.html").read_text(encoding="utf-8")
    assert 'hreflang="fr"' in english and "/fr/" in (out / "sitemap.xml").read_text()
    assert "noindex" not in (out / "fr/models/layer.html").read_text(encoding="utf-8")


COPIED = ["pyproject.toml", "labml_like", "docs_src", "tests/conftest.py", "tests/test_catalogs.py"]


@pytest.mark.slow
def test_a_partly_translated_language_in_a_copy_of_this_project(tmp_path):
    """A volunteer starts Korean and translates a few entries: the catalog tests pass for it,
    `i18n check` passes, and the site builds with Korean as a draft."""
    copy = tmp_path / "project"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "artifacts", "site")
    for rel in COPIED:
        source, target = REPO / rel, copy / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target, ignore=ignore)
        else:
            shutil.copy2(source, target)

    def site_builder(*args: str) -> subprocess.CompletedProcess:
        command = [sys.executable, "-m", "site_builder", *args]
        return subprocess.run(command, cwd=copy, capture_output=True, text=True, timeout=900)

    assert site_builder("i18n", "new", "ko").returncode == 0
    assert "ko" in (copy / "pyproject.toml").read_text(encoding="utf-8")
    locale = copy / "docs_src" / "locale"
    assert translate(locale, "ko", {"Home": "홈", "Search": "검색", "Contributing": "기여하기"})
    status = site_builder("i18n", "status", "ko")
    assert status.returncode == 0 and "(draft)" in status.stdout, status.stdout
    assert site_builder("i18n", "check", "ko").returncode == 0
    tests = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-k", "ko"]
    result = subprocess.run(
        [*tests, "tests/test_catalogs.py"], cwd=copy, capture_output=True, text=True, timeout=900
    )
    assert result.returncode == 0 and " passed" in result.stdout, result.stdout[-2000:]
    build = site_builder("build", "--out", str(tmp_path / "site"))
    assert build.returncode == 0, build.stderr
    site = tmp_path / "site"
    assert '<html lang="ko">' in (site / "ko/index.html").read_text(encoding="utf-8")
    assert 'hreflang="ko"' not in (site / "index.html").read_text(encoding="utf-8")
    assert "/ko/" not in (site / "sitemap.xml").read_text(encoding="utf-8")
    assert "한국어" in (site / "translations.html").read_text(encoding="utf-8")


FIGURE = """<svg xmlns="http://www.w3.org/2000/svg" width="90" height="20">
<text x="1" y="9">Patch embedding</text><text x="1" y="19">0.5</text>
<text x="50" y="9"><tspan>cats &amp; dogs</tspan></text>
</svg>"""


def test_the_title_and_the_texts_of_figures_are_translated(tiny):
    (tiny.root / "pyproject.toml").write_text(PYPROJECT + 'title = "Tiny Papers"\n')
    (tiny.root / "docs/figure.svg").write_text(FIGURE)
    assert main(["i18n", "update", "--project", str(tiny.root)]) == 0
    config = make_config(tiny.root, languages=("en", "zh", "fr"))
    site_po = config.locale_dir / "zh/LC_MESSAGES/_site.po"
    assert {entry.msgid for entry in polib.pofile(str(site_po))} == {
        "Tiny Papers",  # the title
        "Patch embedding",
        "cats & dogs",  # "0.5" has no words to translate
    }
    translations = {
        "Tiny Papers": "小论文",
        "Patch embedding": "图像块嵌入",
        "cats & dogs": "猫<狗",
    }
    assert translate(config.locale_dir, "zh", translations) >= 3
    build_site(config, index_search=False)
    out = config.out
    assert "<title>小论文</title>" in (out / "zh/index.html").read_text(encoding="utf-8")
    assert "· 小论文</title>" in (out / "zh/guide.html").read_text(encoding="utf-8")
    assert "<title>Tiny Papers</title>" in (out / "index.html").read_text(encoding="utf-8")
    figure = (out / "zh/figure.svg").read_text(encoding="utf-8")
    assert ">图像块嵌入</text>" in figure and "<tspan>猫&lt;狗</tspan>" in figure
    assert ">0.5</text>" in figure
    assert (out / "figure.svg").read_text(encoding="utf-8") == FIGURE
    assert (out / "fr/figure.svg").read_text(encoding="utf-8") == FIGURE
    rows = {(row.page, row.lang) for row in progress.site_progress(config, [])}
    assert ("site title and figures", "zh") in rows
