"""The cache layer: values by key across builds, made only when missing, forgotten when unused."""

import os
import pickle
import stat
from pathlib import Path

import pytest

from site_builder import cache as cache_module
from site_builder.build import build_site
from site_builder.cache import Cache
from site_builder.files import DamagedBlob
from site_builder.model import BuildError
from site_builder.page import PageRenderer


class Pages:
    """A value that refers to blobs, as a rendered page does."""

    def __init__(self, *digests):
        self.digests = list(digests)

    def blobs(self):
        return self.digests


def test_values_are_made_once_and_kept_across_loads(tmp_path):
    made = []

    def make(keys):
        made.extend(keys)
        return {key: key.upper() for key in keys if key != "bad"}

    cache = Cache.load(tmp_path, "builder-1")
    assert cache.cached("t", ["a", "b", "bad"], make) == {"a": "A", "b": "B"}
    cache.save()
    again = Cache.load(tmp_path, "builder-1")
    assert again.cached("t", ["a", "c"], make) == {"a": "A", "c": "C"}
    assert made == ["a", "b", "bad", "c"]  # "a" came from the saved cache
    again.save()  # "b" was not used by this build: forgotten
    assert Cache.load(tmp_path, "builder-1").cached("t", ["b"], make) == {"b": "B"}
    assert made[-1] == "b"


def test_another_builder_or_a_damaged_index_starts_empty(tmp_path):
    cache = Cache.load(tmp_path, "builder-1")
    cache.cached("t", ["a"], lambda keys: {"a": 1})
    cache.save()
    assert Cache.load(tmp_path, "builder-2").cached("t", ["a"], lambda keys: {"a": 2}) == {"a": 2}
    (tmp_path / "index.pickle").write_bytes(b"not a pickle")
    assert Cache.load(tmp_path, "builder-1").cached("t", ["a"], lambda keys: {"a": 3}) == {"a": 3}


def test_blobs_are_checked_and_unused_ones_removed(tmp_path):
    cache = Cache.load(tmp_path, "b")
    kept, dropped = cache.put(b"page one"), cache.put(b"page two")
    assert cache.blob(kept).content() == b"page one"
    cache.cached("pages", ["p"], lambda keys: {"p": Pages(kept)})
    cache.save()
    assert not cache.blob(dropped).path.exists()  # no kept value refers to it
    cache.blob(kept).path.write_bytes(b"tampered")
    with pytest.raises(DamagedBlob, match="changed"):
        cache.blob(kept).content()


def test_heal_forgets_values_whose_blobs_are_damaged(tmp_path):
    cache = Cache.load(tmp_path, "b")
    good, bad = cache.put(b"good"), cache.put(b"bad")
    cache.cached("pages", ["g", "b"], lambda keys: {"g": Pages(good), "b": Pages(bad)})
    cache.save()
    cache.blob(bad).path.write_bytes(b"garbage")
    healed = Cache.load(tmp_path, "b")
    healed.heal()
    remade = healed.cached("pages", ["g", "b"], lambda keys: {key: Pages() for key in keys})
    assert remade["g"].blobs() == [good] and remade["b"].blobs() == []
    assert not healed.blob(bad).path.exists()


def test_math_results_are_kept_by_renderer_and_only_when_new(tmp_path):
    cache = Cache.load(tmp_path, "b")
    assert cache.load_math("katex 1") == {}
    cache.save_math("katex 1", {("x", False): (True, "<x>")})
    (saved,) = tmp_path.glob("math-*.pickle")
    assert pickle.loads(saved.read_bytes()) == {("x", False): (True, "<x>")}
    assert cache.load_math("katex 1") == {("x", False): (True, "<x>")}
    assert cache.load_math("katex 2") == {}  # another KaTeX or other options: nothing
    mtime = saved.stat().st_mtime_ns
    cache.save_math("katex 1", {})
    assert saved.stat().st_mtime_ns == mtime


def test_the_math_memo_keeps_the_most_recent_entries(tmp_path, monkeypatch):
    monkeypatch.setattr(cache_module, "MATH_ENTRIES", 2)
    cache = Cache.load(tmp_path, "b")
    cache.save_math("k", {(f"x_{i}", False): (True, f"<i>{i}</i>") for i in range(3)})
    cache.save_math("k", {("from a worker", False): (True, "<b>w</b>")})
    assert list(cache.load_math("k")) == [("x_2", False), ("from a worker", False)]


# ------------------------------------------------------------------------- trust
# Unpickling and compiled templates run code: a cache that another user owns, or may write to,
# is refused (the tests run as root, who can give files away).

ANOTHER_USER = 4242  # a uid; no such user needs to exist


class RunsCode:
    """A pickle that makes a folder when it is loaded, as a planted one could run anything."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return os.mkdir, (self.marker,)


def plant(path, marker):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps(RunsCode(marker)))


OTHERS_WRITE = {"g+w": stat.S_IWGRP, "o+w": stat.S_IWOTH}


@pytest.mark.parametrize(
    "where", [f"{what} {who}" for what in ("folder", "index") for who in ("owner", "g+w", "o+w")]
)
def test_a_cache_that_is_not_the_users_alone_is_refused(tmp_path, where):
    folder, marker = tmp_path / ".site_builder_cache", tmp_path / "ran"
    plant(folder / "index.pickle", marker)
    Cache.load(folder, "b")
    assert marker.is_dir()  # a trusted index is unpickled: what the check guards against
    marker.rmdir()
    target = folder if where.startswith("folder") else folder / "index.pickle"
    if where.endswith("owner"):
        os.chown(target, ANOTHER_USER, -1)
        problem = f"belongs to another user (uid {ANOTHER_USER})"
    else:
        target.chmod(target.stat().st_mode | OTHERS_WRITE[where.split()[1]])
        problem = "others may write to it"
    with pytest.raises(BuildError) as error:
        Cache.load(folder, "b")
    assert str(error.value).startswith(f"{target}: {problem}") and "\n" not in str(error.value)
    assert not marker.exists()


def test_a_math_memo_that_is_not_the_users_alone_is_refused(tmp_path):
    cache, marker = Cache.load(tmp_path, "b"), tmp_path / "ran"
    cache.save_math("k", {("x", False): (True, "<x>")})
    (memo,) = tmp_path.glob("math-*.pickle")
    plant(memo, marker)
    os.chown(memo, ANOTHER_USER, -1)
    with pytest.raises(BuildError, match="belongs to another user"):
        cache.load_math("k")
    for mode in (0o666, 0o620):
        memo.unlink()
        plant(memo, marker)
        memo.chmod(mode)
        with pytest.raises(BuildError, match="others may write to it"):
            cache.load_math("k")
    assert not marker.exists()


@pytest.mark.parametrize("mode", [0o777, 0o770], ids=["o+w", "g+w"])
def test_a_build_refuses_a_cache_folder_others_can_write(tiny, mode):
    build_site(tiny, index_search=False)
    tiny.cache_dir.chmod(mode)
    with pytest.raises(BuildError) as error:
        build_site(tiny, index_search=False)
    assert str(error.value).startswith(f"{tiny.cache_dir}: others may write to it")
    tiny.cache_dir.chmod(0o700)
    build_site(tiny, index_search=False)


def plant_template(config, marker: str) -> Path:
    """Replace page.html's compiled template in the cache by one that writes `marker` into the
    page (as another user could): compiled from other source, under the real one's checksum."""
    env = PageRenderer(config, compiled_templates=config.cache_dir / "templates").environment("en")
    source, filename, _ = env.loader.get_source(env, "page.html")
    planted = source.replace("{% block main %}", "{% block main %}" + marker, 1)
    assert planted != source
    bucket = env.bytecode_cache.get_bucket(env, "page.html", filename, source)
    bucket.code = env.compile(planted, "page.html", filename)
    path = env.bytecode_cache.path(bucket)
    assert path.is_file()  # the real one, replaced
    with open(path, "wb") as file:
        bucket.write_bytecode(file)
    return path


@pytest.mark.parametrize("who", ["the user", "another user", "g+w", "o+w"])
def test_compiled_templates_are_loaded_only_when_the_users_alone(tiny, who):
    build_site(tiny, index_search=False)
    path = plant_template(tiny, "PLANTED-TEMPLATE")
    if who == "another user":
        os.chown(path, ANOTHER_USER, -1)
    elif who in OTHERS_WRITE:
        path.chmod(0o600 | OTHERS_WRITE[who])
    layer = tiny.source / "models/layer.py"
    layer.write_text(layer.read_text() + "\n# An edit, so that the page is rendered again.\n")
    build_site(tiny, index_search=False)
    page = (tiny.out / "models/layer.html").read_text(encoding="utf-8")
    assert ("PLANTED-TEMPLATE" in page) is (who == "the user")
    for mode, shown in ((0o777, "drwxrwxrwx"), (0o770, "drwxrwx---")):
        tiny.cache_dir.joinpath("templates").chmod(mode)
        layer.write_text(layer.read_text() + "\n# Another.\n")
        with pytest.raises(
            BuildError,
            match=rf"templates: others may write to it \(mode {shown}\); refusing to load compiled",
        ):
            build_site(tiny, index_search=False)


def swap_after_check(monkeypatch, target: Path, planted: Path) -> None:
    """Replace `target` by `planted` right after the build checks it (after the first `stat` or
    `fstat` that answers for `target`), as another user racing the build could."""
    inode = target.stat().st_ino

    def swapping(real):
        def checked(*args, **kwargs):
            info = real(*args, **kwargs)
            if info.st_ino == inode and planted.exists():
                os.replace(planted, target)
            return info

        return checked

    for name in ("stat", "fstat"):
        monkeypatch.setattr(os, name, swapping(getattr(os, name)))


@pytest.mark.parametrize("swapped", ["index", "compiled template"])
def test_what_is_loaded_is_what_was_checked(tiny, monkeypatch, swapped):
    """The check and the read are one: a file swapped for another user's between them is not
    loaded (the build reads the descriptor it checked)."""
    monkeypatch.setenv("SITE_BUILDER_WORKERS", "1")
    layer = tiny.source / "models/layer.py"

    def edit_and_build():  # the page is rendered again
        layer.write_text(layer.read_text() + "\n# An edit.\n")
        return build_site(tiny, index_search=False)

    edit_and_build()
    marker = tiny.cache_dir.parent / "ran"
    if swapped == "index":
        target, planted = tiny.cache_dir / "index.pickle", tiny.cache_dir / "planted"
        plant(planted, marker)
    else:
        target = plant_template(tiny, "PLANTED-TEMPLATE")
        planted = target.with_name("planted")
        os.replace(target, planted)
        edit_and_build()  # the real one is compiled again
    os.chown(planted, ANOTHER_USER, -1)
    swap_after_check(monkeypatch, target, planted)
    report = edit_and_build()
    assert not planted.exists()  # swapped in, after the check
    assert not marker.exists()
    assert "PLANTED-TEMPLATE" not in (tiny.out / "models/layer.html").read_text(encoding="utf-8")
    assert report.pages_rendered == ["models/layer.html"]  # the index read was the real one


def test_the_cache_is_the_users_alone_whatever_the_umask(tiny):
    """So that a user whose umask lets others write still gets a cache the next build trusts."""
    old = os.umask(0)
    try:
        build_site(tiny, index_search=False)
        layer = tiny.source / "models/layer.py"
        layer.write_text(layer.read_text() + "\n# An edit.\n")
        build_site(tiny, index_search=False)
    finally:
        os.umask(old)
    compiled = list(tiny.cache_dir.glob("templates/*"))
    pickles = list(tiny.cache_dir.glob("*.pickle"))
    assert compiled and pickles
    for path in [tiny.cache_dir, tiny.cache_dir / "templates", *pickles, *compiled]:
        assert not path.stat().st_mode & 0o077, path
