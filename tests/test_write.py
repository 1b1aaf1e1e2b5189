import fcntl
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from site_builder.files import Blob, DamagedBlob, digest_of
from site_builder.model import BuildError
from site_builder.write import MANIFEST, write_site

PROJECT = Path(__file__).resolve().parents[1]


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


def test_a_failed_write_leaves_the_previous_site_and_no_temp_dirs(tmp_path):
    out = tmp_path / "site"
    write_site(out, blobs({"a.html": b"1", "b.html": b"2"}))
    before = read_all(out)
    gone = tmp_path / "cache" / "gone"
    # The second file's bytes vanish while the site is written (a cache file deleted meanwhile).
    outputs = blobs({"a.html": b"one"}) | {"b.html": Blob(digest_of(b"two"), path=gone)}
    with pytest.raises(DamagedBlob, match="missing"):
        write_site(out, outputs, link_from=tmp_path / "cache")
    assert read_all(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site"]


def test_files_from_the_cache_are_linked_and_others_copied(tmp_path):
    cache, source = tmp_path / "cache", tmp_path / "src"
    for folder, name, data in ((cache, "blob", b"cached"), (source, "asset.svg", b"<svg/>")):
        folder.mkdir()
        (folder / name).write_bytes(data)
    outputs = {
        "a.html": Blob(digest_of(b"cached"), path=cache / "blob"),
        "asset.svg": Blob(digest_of(b"<svg/>"), path=source / "asset.svg"),
    }
    write_site(tmp_path / "site", outputs, link_from=cache)
    assert (tmp_path / "site/a.html").samefile(cache / "blob")
    assert not (tmp_path / "site/asset.svg").samefile(source / "asset.svg")
    assert (tmp_path / "site/asset.svg").read_bytes() == b"<svg/>"
    damaged = {"a.html": Blob(digest_of(b"other"), path=cache / "blob")}
    with pytest.raises(DamagedBlob):  # checked before it is linked
        write_site(tmp_path / "site", damaged, link_from=cache)
    assert (tmp_path / "site/a.html").read_bytes() == b"cached"


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


def test_an_out_path_that_is_a_file_is_refused(tmp_path):
    out = tmp_path / "site"
    out.write_text("not a folder")
    with pytest.raises(BuildError, match="exists and is not a folder"):
        write_site(out, blobs({"index.html": b"x"}))
    assert out.read_text() == "not a folder"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site"]


@pytest.fixture
def umask(request):
    old = os.umask(request.param)
    yield request.param
    os.umask(old)


def modes(folder) -> set[tuple[str, int]]:
    found = {("dir", stat.S_IMODE(folder.stat().st_mode))}
    for path in folder.rglob("*"):
        found.add(("dir" if path.is_dir() else "file", stat.S_IMODE(path.stat().st_mode)))
    return found


@pytest.mark.parametrize("umask", [0o022, 0o002], indirect=True, ids=["022", "002"])
def test_the_site_follows_the_umask(tmp_path, umask):
    out = tmp_path / "site"
    write_site(out, blobs({"index.html": b"home", "a/b/x.html": b"x"}))
    assert modes(out) == {("dir", 0o777 & ~umask), ("file", 0o666 & ~umask)}
    write_site(out, blobs({"index.html": b"home 2", "a/b/x.html": b"x", "c/y.html": b"y"}))
    assert modes(out) == {("dir", 0o777 & ~umask), ("file", 0o666 & ~umask)}


@pytest.mark.parametrize("umask", [0o022], indirect=True, ids=["022"])
def test_an_existing_out_dir_keeps_its_mode(tmp_path, umask):
    out = tmp_path / "site"
    out.mkdir()
    out.chmod(0o750)  # chosen by its owner: the site's folder keeps it
    write_site(out, blobs({"index.html": b"home"}))
    assert stat.S_IMODE(out.stat().st_mode) == 0o750
    write_site(out, blobs({"index.html": b"home 2"}))
    assert stat.S_IMODE(out.stat().st_mode) == 0o750


WRITER = """
import sys, time
from pathlib import Path
from site_builder.files import Blob
from site_builder.write import write_site

class StuckBlob(Blob):  # the write stage, stopped half way: a staging dir exists
    def content(self):
        print("staging", flush=True)
        time.sleep(600)

write_site(Path(sys.argv[1]), {"index.html": StuckBlob("0" * 32)})
"""


def start_stuck_writer(out) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(PROJECT)}
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(out)], stdout=subprocess.PIPE, text=True, env=env
    )
    assert writer.stdout.readline() == "staging\n"
    return writer


def staging_dirs(tmp_path) -> list[str]:
    return sorted(p.name for p in tmp_path.iterdir() if ".staging-" in p.name)


def test_a_build_killed_while_writing_is_cleaned_up_by_the_next(tmp_path):
    out = tmp_path / "site"
    write_site(out, blobs({"index.html": b"old"}))
    writer = start_stuck_writer(out)
    try:
        (left,) = staging_dirs(tmp_path)
        # Another build meanwhile: the live writer's staging dir is not ours to remove.
        write_site(out, blobs({"index.html": b"other"}))
        assert staging_dirs(tmp_path) == [left]
    finally:
        writer.kill()  # SIGKILL: no clean-up of its own
        writer.wait(timeout=30)
    assert staging_dirs(tmp_path) == [left]
    assert write_site(out, blobs({"index.html": b"other"})).written == []  # even a no-op build
    assert staging_dirs(tmp_path) == []
    assert (out / "index.html").read_bytes() == b"other"


def test_a_staging_dir_locked_by_a_running_build_is_kept(tmp_path):
    """A build this one cannot see (in another pid namespace) still holds its staging dir's
    lock: the dir is kept although no process here has its pid."""
    out = tmp_path / "site"
    write_site(out, blobs({"index.html": b"old"}))
    unused_pid = max(int(p) for p in os.listdir("/proc") if p.isdigit()) + 10_000
    foreign = tmp_path / f".site.staging-{unused_pid}-abcd"
    foreign.mkdir()
    lock = os.open(foreign, os.O_RDONLY | os.O_DIRECTORY)
    fcntl.flock(lock, fcntl.LOCK_EX)  # a lock of its own open file, as another process's
    try:
        write_site(out, blobs({"index.html": b"new"}))
        assert foreign.is_dir()
    finally:
        os.close(lock)
    write_site(out, blobs({"index.html": b"newer"}))
    assert not foreign.exists()


def test_a_blob_file_is_checked_against_its_digest(tmp_path):
    good = Blob.of_bytes(b"page")
    stored = tmp_path / "blob"
    stored.write_bytes(b"page")
    assert Blob(good.digest, path=stored).content() == b"page"
    stored.write_bytes(b"evil")
    with pytest.raises(DamagedBlob, match="changed"):
        Blob(good.digest, path=stored).content()
    stored.unlink()
    with pytest.raises(DamagedBlob, match="missing"):
        Blob(good.digest, path=stored).content()
