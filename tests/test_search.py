"""The search stage through its public functions: pages fed one by one as a build renders them,
the index read from Pagefind's own files (its page fragments), kept in the cache and reused
without starting Pagefind, and a failing Pagefind reported in one line."""

import gzip
import json
import os
import time

import pytest
from conftest import make_config, snapshot

from site_builder import search
from site_builder.build import build_site
from site_builder.model import BuildError
from site_builder.write import Blob


def page(title: str, text: str, lang: str = "en") -> Blob:
    html = (
        f'<!doctype html><html lang="{lang}"><head><title>{title}</title></head><body>'
        f'<nav>Site menu</nav><main><h1 id="top">{title}</h1><p>{text}'
        ' <span class="katex">\\frac{a}{b}</span><span class="ln">12</span></p>'
        "</main></body></html>"
    )
    return Blob.of_bytes(html.encode())


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
    "index.html": page("Home", "A zoo of annotated papers."),
    "models/mixer.html": page("Mixer", "Depthwise convolutions mix locations."),
    "zh/models/mixer.html": page("混合器", "逐点卷积混合通道。", lang="zh"),
    "notes/a+b.html": page("A plus B", "A name no glob reads as itself: sent as bytes."),
    "404.html": page("Not found", "Nothing here."),
    "static/site.css": Blob.of_bytes(b"main { color: red }"),
}
INDEXED = ("/index.html", "/models/mixer.html", "/notes/a+b.html", "/zh/models/mixer.html")


def test_pages_fed_as_rendered_and_the_rest_at_finish_are_all_indexed(tmp_path):
    with search.Indexer(tmp_path / "cache") as indexer:
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
    assert "sent as bytes" in records["/notes/a+b.html"]["content"]
    mixer = records["/models/mixer.html"]
    assert mixer["meta"]["title"] == "Mixer"
    assert "Depthwise convolutions" in mixer["content"]
    assert "Site menu" not in mixer["content"]  # outside <main>
    assert "frac" not in mixer["content"] and "12" not in mixer["content"]  # math, line numbers
    assert "pagefind/pagefind.js" in files
    assert all(rel.startswith("pagefind/") for rel in files)


def test_a_fed_page_that_changed_before_finish_is_indexed_as_it_ends(tmp_path):
    with search.Indexer(tmp_path / "cache") as indexer:
        indexer.add("models/mixer.html", page("Old title", "An older draft."))
        indexer.add("models/gone.html", page("Gone", "A page the build dropped."))
        files = indexer.finish(PAGES)
    records = fragments(files)
    assert sorted(records) == [*INDEXED]
    assert records["/models/mixer.html"]["meta"]["title"] == "Mixer"


def test_the_cache_keeps_one_index_and_reuses_it_without_pagefind(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    with search.Indexer(cache) as indexer:
        first = indexer.finish(PAGES)
    broken = tmp_path / "pagefind_extended"
    broken.write_text("#!/bin/sh\necho 'Error: must not run' >&2\nexit 3\n")
    broken.chmod(0o755)
    monkeypatch.setenv(search.PAGEFIND_ENV, str(broken))
    with search.Indexer(cache) as indexer:
        indexer.add("models/mixer.html", PAGES["models/mixer.html"])  # rendered again, same bytes
        again = indexer.finish(PAGES)
    assert {rel: b.content() for rel, b in again.items()} == {
        rel: b.content() for rel, b in first.items()
    }
    assert search.latest_outputs(cache, PAGES) == (again, True)

    changed = PAGES | {"index.html": page("Home", "A new welcome.")}
    with pytest.raises(BuildError) as failed, search.Indexer(cache) as indexer:
        indexer.finish(changed)
    assert str(failed.value) == "pagefind: search index failed: Error: must not run"
    assert [p.name for p in (cache / "search").iterdir()] == [
        search.index_key(search.pages_to_index(PAGES))
    ]
    stale, current = search.latest_outputs(cache, changed)  # the newest index, not theirs
    assert not current and stale.keys() == first.keys()


def test_build_index_leaves_other_indexes_and_finish_prunes_them(tmp_path):
    cache = tmp_path / "cache"
    one = {"index.html": PAGES["index.html"]}
    keys = [search.build_index(cache, one), search.build_index(cache, PAGES)]
    assert sorted(p.name for p in (cache / "search").iterdir()) == sorted(keys)
    killed, running = cache / "search" / ".pages-killed", cache / "search" / ".pages-running"
    for scratch in (killed, running):
        (scratch / "models").mkdir(parents=True)
    os.utime(killed, (time.time() - 2 * 86_400,) * 2)  # left by a build killed two days ago
    with search.Indexer(cache) as indexer:
        indexer.finish(PAGES)
    assert sorted(p.name for p in (cache / "search").iterdir()) == [running.name, keys[1]]


def test_a_missing_pagefind_binary_is_one_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv(search.PAGEFIND_ENV, str(tmp_path / "nowhere"))
    with (
        pytest.raises(BuildError, match="Pagefind's binary not found"),
        search.Indexer(tmp_path / "cache") as indexer,
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
