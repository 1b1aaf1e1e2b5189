import os

import pytest

from site_builder import write
from site_builder.model import BuildError
from site_builder.write import MANIFEST, Blob, write_site


def blobs(files: dict[str, bytes]) -> dict[str, Blob]:
    return {rel: Blob.of_bytes(data) for rel, data in files.items()}


def read_all(folder):
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in folder.rglob("*")
        if p.is_file() and p.name != MANIFEST
    }


def test_writes_then_noop_then_changes_only_what_changed(tmp_path):
    out = tmp_path / "site"
    first = {"index.html": b"home", "a/x.html": b"x", "a/img.png": b"png"}
    assert sorted(write_site(out, blobs(first)).written) == sorted(first)
    assert read_all(out) == first
    stats = {rel: (out / rel).stat().st_mtime_ns for rel in first}

    result = write_site(out, blobs(first))
    assert (result.written, result.removed) == ([], [])
    assert {rel: (out / rel).stat().st_mtime_ns for rel in first} == stats

    second = {"index.html": b"home", "a/x.html": b"x2", "b/new.html": b"n"}
    result = write_site(out, blobs(second))
    assert sorted(result.written) == ["a/x.html", "b/new.html"]
    assert result.removed == ["a/img.png"]
    assert read_all(out) == second
    assert (out / "index.html").stat().st_mtime_ns == stats["index.html"]


def test_previous_site_files_are_never_modified_in_place(tmp_path):
    out = tmp_path / "site"
    write_site(out, blobs({"page.html": b"old"}))
    keeper = tmp_path / "held-open.html"
    os.link(out / "page.html", keeper)  # like a reader holding the old file
    write_site(out, blobs({"page.html": b"new"}))
    assert keeper.read_bytes() == b"old"
    assert (out / "page.html").read_bytes() == b"new"


def test_a_failed_write_leaves_the_previous_site_and_no_temp_dirs(tmp_path, monkeypatch):
    out = tmp_path / "site"
    write_site(out, blobs({"a.html": b"1", "b.html": b"2"}))
    before = read_all(out)
    calls = []

    def failing_replace(path, data):
        calls.append(path)
        if len(calls) == 2:
            raise OSError("disk full")
        original(path, data)

    original = write._replace_file
    monkeypatch.setattr(write, "_replace_file", failing_replace)
    with pytest.raises(OSError, match="disk full"):
        write_site(out, blobs({"a.html": b"one", "b.html": b"two"}))
    assert read_all(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site"]


def test_edited_out_file_is_rewritten(tmp_path):
    out = tmp_path / "site"
    write_site(out, blobs({"a.html": b"1"}))
    (out / "a.html").write_bytes(b"tampered")
    assert write_site(out, blobs({"a.html": b"1"})).written == ["a.html"]
    assert (out / "a.html").read_bytes() == b"1"


def test_refuses_to_replace_a_folder_it_did_not_make(tmp_path):
    out = tmp_path / "precious"
    out.mkdir()
    (out / "thesis.tex").write_text("years of work")
    with pytest.raises(BuildError, match="not made by site-builder"):
        write_site(out, blobs({"index.html": b"x"}))
    assert (out / "thesis.tex").read_text() == "years of work"
