"""The one source -> URL / catalog / module-name mapping, as build and i18n both use it."""

from pathlib import Path
from types import SimpleNamespace

import pytest

from site_builder.links import resolve
from site_builder.paths import (
    anchor_href,
    base_path,
    catalog_path,
    dotted_name,
    download_name,
    notebook_path,
    page_stem,
    page_url,
    public_url,
    relative_href,
    source_link_to_page,
)


@pytest.mark.parametrize(
    ("rel_path", "url", "dotted"),
    [
        ("__init__.py", "index.html", "pkg"),
        ("a/__init__.py", "a/index.html", "pkg.a"),
        ("a/x.py", "a/x.html", "pkg.a.x"),
        ("a/b/readme.md", "a/b/readme.html", None),
        ("notes.md", "notes.html", None),
    ],
)
def test_a_source_maps_to_its_url_catalog_and_module_name(rel_path, url, dotted):
    assert page_url(rel_path) == url
    assert catalog_path(Path("locale"), "zh", rel_path) == Path(
        "locale/zh/LC_MESSAGES", url.removesuffix(".html") + ".po"
    )
    if dotted:
        assert dotted_name("pkg", rel_path) == dotted
    assert notebook_path(url) == url.removesuffix(".html") + ".ipynb"


@pytest.mark.parametrize("rel_path", ["a/x.txt", ".py", "a/"])
def test_other_files_are_not_pages(rel_path):
    with pytest.raises(ValueError, match="not a page source"):
        page_stem(rel_path)


def test_windows_separators_are_read_as_slashes():
    assert page_url("a\\b\\__init__.py") == "a/b/index.html"


def test_notebook_downloads_are_named_after_the_page_or_its_folder():
    assert download_name("conv_mixer/index.html") == "conv_mixer.ipynb"
    assert download_name("conv_mixer/experiment.html") == "experiment.ipynb"
    assert download_name("index.html") == "index.ipynb"


def test_relative_links_between_site_files():
    assert relative_href("a/b/x.html", "a/y.html") == "../y.html"
    assert relative_href("index.html", "a/index.html") == "a/index.html"
    assert relative_href("zh/a/x.html", "a/x.html") == "../../a/x.html"


def test_links_to_odd_file_names_are_percent_encoded_and_resolve_back():
    names = ["a#b.html", "q?r.html", "100%.html", "tab\tx.html", "new\nline.html", "é.html"]
    for name in [*names, "a:b.html", "f(x).html"]:  # not a scheme; not the end of a link
        href = relative_href("x/index.html", f"x/{name}")
        assert not set(href) & set("#?\t\n é:()"), href
        assert resolve("x/index.html", href).path == f"x/{name}"
        assert anchor_href("x/index.html", f"x/{name}", "L3") == href + "#L3"
    assert anchor_href("a#b.html", "a#b.html", "Layer.forward-1") == "#Layer.forward-1"


def test_public_urls_and_the_base_path_come_from_the_base_url():
    config = SimpleNamespace(base_url="https://x.org/docs/")
    assert base_path(config) == "/docs/"
    assert public_url(config, "a/index.html") == "https://x.org/docs/a/"
    assert public_url(config, "a/100%.html") == "https://x.org/docs/a/100%25.html"
    assert base_path(SimpleNamespace(base_url="")) == "/"
    assert public_url(SimpleNamespace(base_url=""), "a.html") == ""


@pytest.mark.parametrize(
    ("href", "expected"),
    [
        ("layer.py", "layer.html"),
        ("layer.py#Layer", "layer.html#Layer"),
        ("../a/__init__.py", "../a/index.html"),
        ("notes.md?x=1", "notes.html?x=1"),
        ("https://example.org/x.py", "https://example.org/x.py"),
        ("paper.pdf", "paper.pdf"),
        ("#Layer", "#Layer"),
    ],
)
def test_a_link_to_a_page_source_goes_to_the_page(href, expected):
    assert source_link_to_page(href) == expected
