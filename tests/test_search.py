"""The search stage through its public functions: pages' search documents fed one by one as a
build renders them, the index read from Pagefind's own files (its page fragments), kept in the
cache and reused without starting Pagefind, and a failing Pagefind reported in one line. What a
page's document holds is tested through the build, at the end."""

import gzip
import json
import os
import threading
import time

import pytest
from conftest import make_config, snapshot

from site_builder import search
from site_builder.build import build_site
from site_builder.files import Blob
from site_builder.model import BuildError


def page(title: str, text: str, lang: str = "en", url: str = "x.html") -> Blob:
    parts = [search.SearchPart("", title, True, text)]
    return Blob.of_bytes(search.search_document(url, lang, title, parts))


def fragments(files: dict[str, Blob]) -> dict[str, dict]:
    """Pagefind's record of each indexed page (gzipped JSON after a signature), by URL."""
    found = {}
    for rel, blob in files.items():
        if rel.startswith("pagefind/fragment/"):
            data = gzip.decompress(blob.content()).removeprefix(b"pagefind_dcd")
            record = json.loads(data)
            found[record["url"]] = record
    return found


def entry(files: dict[str, Blob]) -> dict:
    return json.loads(files["pagefind/pagefind-entry.json"].content())


PAGES = {
    url: page(title, text, lang, url)
    for url, title, text, lang in [
        ("index.html", "Home", "A zoo of annotated papers.", "en"),
        ("models/mixer.html", "Mixer", "Depthwise convolutions mix locations.", "en"),
        ("zh/models/mixer.html", "混合器", "逐点卷积混合通道。", "zh"),
        ("notes/a+b.html", "A plus B", "A name with a plus sign.", "en"),
        ("404.html", "Not found", "Nothing here.", "en"),
    ]
}
INDEXED = ("/index.html", "/models/mixer.html", "/notes/a+b.html", "/zh/models/mixer.html")


def test_pages_fed_as_rendered_and_the_rest_at_finish_are_all_indexed(tmp_path):
    with search.Indexer(search.kept_indexes(tmp_path / "cache")) as indexer:
        indexer.add("models/mixer.html", PAGES["models/mixer.html"])
        indexer.add("notes/a+b.html", PAGES["notes/a+b.html"])
        indexer.add("404.html", PAGES["404.html"])  # never indexed
        files = indexer.finish(PAGES)
    records = fragments(files)
    assert sorted(records) == [*INDEXED]
    assert {lang: e["page_count"] for lang, e in entry(files)["languages"].items()} == {
        "en": 3,
        "zh": 1,
    }
    assert "plus sign" in records["/notes/a+b.html"]["content"]
    mixer = records["/models/mixer.html"]
    assert mixer["meta"]["title"] == "Mixer"
    assert "Depthwise convolutions" in mixer["content"]
    assert "pagefind/pagefind.js" in files
    assert all(rel.startswith("pagefind/") for rel in files)


def test_a_fed_page_that_changed_before_finish_is_indexed_as_it_ends(tmp_path):
    with search.Indexer(search.kept_indexes(tmp_path / "cache")) as indexer:
        indexer.add(
            "models/mixer.html", page("Old title", "An older draft.", url="models/mixer.html")
        )
        indexer.add(
            "models/gone.html", page("Gone", "A page the build dropped.", url="models/gone.html")
        )
        files = indexer.finish(PAGES)
    records = fragments(files)
    assert sorted(records) == [*INDEXED]
    assert records["/models/mixer.html"]["meta"]["title"] == "Mixer"


def test_the_cache_keeps_one_index_and_reuses_it_without_pagefind(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    with search.Indexer(search.kept_indexes(cache)) as indexer:
        first = indexer.finish(PAGES)
    broken = tmp_path / "pagefind_extended"
    broken.write_text("#!/bin/sh\necho 'Error: must not run' >&2\nexit 3\n")
    broken.chmod(0o755)
    monkeypatch.setenv(search.PAGEFIND_ENV, str(broken))
    with search.Indexer(search.kept_indexes(cache)) as indexer:
        indexer.add("models/mixer.html", PAGES["models/mixer.html"])  # rendered again, same bytes
        again = indexer.finish(PAGES)
    assert {rel: b.content() for rel, b in again.items()} == {
        rel: b.content() for rel, b in first.items()
    }
    assert search.latest_outputs(search.kept_indexes(cache), PAGES) == (again, True)

    changed = PAGES | {"index.html": page("Home", "A new welcome.", url="index.html")}
    with pytest.raises(BuildError) as failed, search.Indexer(search.kept_indexes(cache)) as indexer:
        indexer.finish(changed)
    assert str(failed.value) == "pagefind: search index failed: Error: must not run"
    assert [p.name for p in (cache / "search").iterdir()] == [
        search.index_key(search.documents_to_index(PAGES))
    ]
    stale, current = search.latest_outputs(
        search.kept_indexes(cache), changed
    )  # the newest index, not theirs
    assert not current and stale.keys() == first.keys()


def test_an_index_started_early_is_the_one_finish_makes(tmp_path, monkeypatch):
    """`start_finishing` lets Pagefind make the index while the build goes on: `finish` then
    returns the same bytes, and raises the same one-line error, as without it. A build that
    stops before `finish` leaves no thread behind."""
    threads = threading.active_count()
    with search.Indexer(search.kept_indexes(tmp_path / "plain")) as indexer:
        indexer.add("models/mixer.html", PAGES["models/mixer.html"])
        plain = indexer.finish(PAGES)
    with search.Indexer(search.kept_indexes(tmp_path / "early")) as indexer:
        indexer.add("models/mixer.html", PAGES["models/mixer.html"])
        indexer.start_finishing(PAGES)
        early = indexer.finish(PAGES)
    assert {rel: b.content() for rel, b in early.items()} == {
        rel: b.content() for rel, b in plain.items()
    }
    with search.Indexer(search.kept_indexes(tmp_path / "stopped")) as indexer:
        indexer.add("models/mixer.html", PAGES["models/mixer.html"])
        indexer.start_finishing(PAGES)  # the build fails here: no `finish`
    assert threading.active_count() == threads

    broken = tmp_path / "pagefind_extended"
    broken.write_text("#!/bin/sh\necho 'Error: no index today' >&2\nexit 3\n")
    broken.chmod(0o755)
    monkeypatch.setenv(search.PAGEFIND_ENV, str(broken))
    broken_cache = search.kept_indexes(tmp_path / "broken")
    with pytest.raises(BuildError) as failed, search.Indexer(broken_cache) as indexer:
        indexer.start_finishing(PAGES)
        indexer.finish(PAGES)
    assert str(failed.value) == "pagefind: search index failed: Error: no index today"
    assert threading.active_count() == threads


def test_build_index_leaves_other_indexes_and_finish_prunes_them(tmp_path):
    cache = tmp_path / "cache"
    one = {"index.html": PAGES["index.html"]}
    keys = [
        search.build_index(search.kept_indexes(cache), one),
        search.build_index(search.kept_indexes(cache), PAGES),
    ]
    assert sorted(p.name for p in (cache / "search").iterdir()) == sorted(keys)
    killed, running = cache / "search" / ".pages-killed", cache / "search" / ".pages-running"
    for scratch in (killed, running):
        (scratch / "models").mkdir(parents=True)
    os.utime(killed, (time.time() - 2 * 86_400,) * 2)  # left by a build killed two days ago
    with search.Indexer(search.kept_indexes(cache)) as indexer:
        indexer.finish(PAGES)
    assert sorted(p.name for p in (cache / "search").iterdir()) == [running.name, keys[1]]


def test_a_missing_pagefind_binary_is_one_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv(search.PAGEFIND_ENV, str(tmp_path / "nowhere"))
    with (
        pytest.raises(BuildError, match="Pagefind's binary not found"),
        search.Indexer(search.kept_indexes(tmp_path / "cache")) as indexer,
    ):
        indexer.finish(PAGES)


def test_two_cold_builds_of_the_same_sources_write_the_same_index(tiny, tmp_path):
    """The build adds pages to the index in a fixed order, so the index is reproducible."""
    indexes = []
    for name in ("a", "b"):
        config = make_config(tiny.root, out=tmp_path / name / "site", languages=("en", "zh"))
        build_site(config)
        indexes.append(snapshot(config.out / search.FOLDER))
    assert indexes[0] == indexes[1]
    entry_file = tmp_path / "a" / "site" / search.FOLDER / "pagefind-entry.json"
    assert set(json.loads(entry_file.read_text())["languages"]) == {"en", "zh"}


def built_index(config) -> dict[str, Blob]:
    return {
        f"{search.FOLDER}/{p.relative_to(config.out / search.FOLDER).as_posix()}": Blob.of_file(p)
        for p in (config.out / search.FOLDER).rglob("*")
        if p.is_file()
    }


def test_a_page_is_indexed_by_its_title_commentary_code_and_readable_math(tiny):
    build_site(tiny)
    files = built_index(tiny)
    layer = fragments(files)["/models/layer.html"]
    assert layer["meta"]["title"] == "A Layer"
    content = layer["content"]
    assert "The layer computes" in content and "Keep the width" in content  # commentary
    assert "self.width = width" in content  # code
    # math as a reader would say it, not as TeX nor as KaTeX's glyph boxes
    assert "y = W x + b" in content and "Scale by 1/√d" in content, content
    assert "frac" not in content and "sqrt{d}" not in content and "katex" not in content
    assert "the notes" in content and "notes.html" not in content  # link text, not its target
    assert "404" not in "".join(fragments(files))  # the 404 page is not indexed


def test_each_section_is_an_anchor_titled_by_its_heading_or_definition(tiny):
    """Pagefind's sub-results split a page on headings with ids: the search document has one per
    section, with the section's id, so that a result can link to the section that matches."""
    layer = tiny.source / "models" / "layer.py"
    layer.write_text(
        layer.read_text().replace("# Keep the width", "# ## Width\n        # Keep the width")
    )
    build_site(tiny)
    record = fragments(built_index(tiny))["/models/layer.html"]
    anchors = {a["id"]: a["text"] for a in record["anchors"]}
    page_html = (tiny.out / "models" / "layer.html").read_text(encoding="utf-8")
    assert all(f'id="{anchor}"' in page_html for anchor in anchors), anchors  # ids of the page
    assert anchors["Layer"] == "Layer"  # a docstring: the class it documents
    assert anchors["Layer.__init__-1"] == "Width"  # a note that opens with a heading
    assert anchors["Layer.forward-1"] == "Layer.forward"  # a comment: where it stands
    assert record["content"].count("Width") == 1, record["content"]  # not repeated as words
