"""The cache layer: values by key across builds, made only when missing, forgotten when unused."""

import pickle

import pytest

from site_builder import cache as cache_module
from site_builder.cache import Cache
from site_builder.files import DamagedBlob


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
