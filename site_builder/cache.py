"""The cache: one layer that wraps the stages from outside, so a rebuild redoes only what changed.

`Cache.cached(table, keys, make)` is the whole idea: the values this cache holds for `keys`, and
`make(missing)` for the rest, kept for the next build (a value that refers to blobs says which,
with a `blobs()` method). The build takes it in two steps, so that it calls each stage itself:
`missing(table, keys)` says what to make, `kept(table, keys, made)` keeps it. A key is a digest
of everything its value depends on (see `sources.read_inputs` and `site.SiteIndex.render_key`),
so a value is never stale, only unused; `save` forgets what this build did not use. The stages
never see this object: the build hands them what they need (a function that keeps bytes, a folder
for compiled templates).

What it keeps, in `.site_builder_cache/` next to the out dir:
- `index.pickle`: the tables (page metadata, per-module symbols, rendered page records, the files
  made from the site as a whole, digests of files on disk by size and mtime), for this builder only;
- `blobs/`: the bytes of pages, notebooks and search documents by content digest, checked on
  every read (a missing or damaged blob makes the build start over with `heal`, which forgets
  what was made from it);
- `math-<key>.pickle`: KaTeX's results, so a rebuild never starts V8 for known math;
- `templates/`: the page templates, compiled (Jinja bytecode, see `page.PageRenderer`);
- `search/<key>/`: search indexes (`FileSets`, see `search.kept_indexes`: Pagefind makes an index
  as a whole, so it is kept as a whole, under a digest of the pages' search documents).
This module writes its files with `files.atomic_write`.

Unpickling runs code, and so do compiled templates: a cache folder, index or math memo that is not
this user's, or that others may write to (its group or anyone), is refused with one line. Each is
checked through the open file that is then read (`files.open_trusted`), the compiled templates one
by one in the same way (`page.PageRenderer`).
The folders and pickles this module makes are this user's alone, whatever the umask.
"""

import json
import os
import pickle
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from . import __version__
from .files import Blob, DamagedBlob, Untrusted, atomic_write, digest, open_trusted
from .model import BuildError

INDEX = "index.pickle"
MATH_ENTRIES = 40_000  # the most recent KaTeX results kept on disk


def builder_digest() -> str:
    """The builder's version: its own code, templates, static files and UI catalogs."""
    package = Path(__file__).parent
    files = sorted(p for p in package.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    return digest(
        __version__, *[(p.relative_to(package).as_posix(), p.read_bytes()) for p in files]
    )


class Cache:
    """Each table's values are kept pickled one by one, so saving re-pickles only new ones."""

    def __init__(self, folder: Path, builder: str):
        self.folder, self.builder = folder, builder
        self.saved: dict[str, dict[str, bytes]] = {}  # as read from the index
        self.tables: dict[str, dict] = {}  # values read or made by this build
        self.used: dict[str, set] = {}
        self.file_digests: dict[str, tuple[int, int, str]] = {}
        self.dirty = False

    @classmethod
    def load(cls, folder: Path, builder: str) -> "Cache":
        """The cache in `folder`; empty when there is none, or it was made by another builder,
        or it cannot be read (it is rebuilt). BuildError if the folder or its index is not to be
        trusted."""
        cache = cls(folder, builder)
        try:
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)  # this user's alone, if new
        except OSError as error:
            raise BuildError(folder, None, f"cannot make it: {error.strerror or error}") from None
        try:
            saved = pickle.loads(_trusted_bytes(folder / INDEX))
        except BuildError:
            raise
        except Exception:
            return cache
        if isinstance(saved, dict) and saved.get("builder") == builder:
            cache.saved, cache.file_digests = saved["tables"], saved["files"]
        return cache

    # ------------------------------------------------------------------------- tables of values

    def cached(self, table: str, keys: Iterable[str], make: Callable[[list[str]], dict]) -> dict:
        """The values of `keys`: the ones kept, and `make(missing)` for the others (a key that
        `make` leaves out is left out of the result)."""
        keys = list(dict.fromkeys(keys))
        missing = self.missing(table, keys)
        return self.kept(table, keys, make(missing) if missing else {})

    def missing(self, table: str, keys: Iterable[str]) -> list[str]:
        """The keys of `keys` whose values this cache does not hold, in order."""
        stored, saved = self.tables.setdefault(table, {}), self.saved.get(table, {})
        missing = []
        for key in dict.fromkeys(keys):
            if key not in stored and key in saved:
                stored[key] = pickle.loads(saved[key])
            elif key not in stored:
                missing.append(key)
        return missing

    def kept(self, table: str, keys: Iterable[str], made: dict) -> dict:
        """The values of `keys`: the ones held, and those of `made` (the values of keys that
        were `missing`), which are kept for the next build (a key that neither has is left out
        of the result)."""
        keys = list(dict.fromkeys(keys))
        self.missing(table, keys)  # the values held: read from the index
        stored = self.tables[table]
        new = {key: value for key, value in made.items() if key not in stored}
        stored.update(new)
        self.dirty = self.dirty or bool(new)
        self.used.setdefault(table, set()).update(keys)
        return {key: stored[key] for key in keys if key in stored}

    # ------------------------------------------------------------------------- bytes by digest

    def _blob_path(self, content_digest: str) -> Path:
        return Path(f"{self.folder}/blobs/{content_digest[:2]}/{content_digest}")

    def blob(self, content_digest: str) -> Blob:
        return Blob(content_digest, path=self._blob_path(content_digest))

    def put(self, data: bytes) -> str:
        """Keep `data` (safe from several processes at once); returns its digest."""
        blob = Blob.of_bytes(data)
        path = self._blob_path(blob.digest)
        if not path.exists():
            atomic_write(path, data)
        return blob.digest

    def file_blob(self, path: Path) -> Blob:
        """A blob for a file on disk; its digest is remembered by (size, mtime)."""
        try:
            info = path.stat()
            known = self.file_digests.get(str(path))
            if known and known[:2] == (info.st_size, info.st_mtime_ns):
                return Blob(known[2], path=path)
            blob = Blob.of_file(path)
        except OSError as error:
            raise BuildError(path, None, f"cannot read: {error.strerror or error}") from None
        self.file_digests[str(path)] = (info.st_size, info.st_mtime_ns, blob.digest)
        self.dirty = True
        return blob

    def heal(self) -> None:
        """Forget every kept value that names a missing or damaged blob (deleting the damaged
        files), and every remembered file digest, so that this build makes them again."""
        for table, saved in self.saved.items():
            stored = self.tables.setdefault(table, {})
            stored.update({key: pickle.loads(raw) for key, raw in saved.items()})
        self.saved = {}
        for stored in self.tables.values():
            for key, value in list(stored.items()):
                for content_digest in _blobs(value):
                    try:
                        self.blob(content_digest).content()
                    except (DamagedBlob, OSError):
                        self._blob_path(content_digest).unlink(missing_ok=True)
                        del stored[key]
                        break
        self.file_digests = {}
        self.dirty = True

    # ------------------------------------------------------------------------- KaTeX's results

    def _math_path(self, key: str) -> Path:
        return self.folder / f"math-{digest(key)[:16]}.pickle"

    def load_math(self, key: str) -> dict:
        """KaTeX's results kept for a renderer whose `memo_key()` is `key` ({} if none)."""
        try:
            saved = pickle.loads(_trusted_bytes(self._math_path(key)))
        except BuildError:
            raise
        except Exception:  # missing or damaged: rendered again
            return {}
        return saved if isinstance(saved, dict) else {}

    def save_math(self, key: str, new: dict) -> None:
        """Add the results this build rendered (`new`) to those kept, keeping the most recent
        `MATH_ENTRIES`; nothing is read or written when there are none."""
        if not new:
            return
        recent = dict(list({**self.load_math(key), **new}.items())[-MATH_ENTRIES:])
        data = pickle.dumps(recent, protocol=pickle.HIGHEST_PROTOCOL)
        atomic_write(self._math_path(key), data, private=True)

    # ------------------------------------------------------------------------- compiled templates

    def templates_folder(self) -> Path:
        """Where the page templates are kept compiled (Jinja bytecode, each checked against its
        template's source)."""
        folder = self.folder / "templates"
        folder.mkdir(mode=0o700, exist_ok=True)  # this user's alone, if new, whatever the umask
        return folder

    # ------------------------------------------------------------------------- saving

    def save(self) -> None:
        """Keep only what this build used, and the blobs it names; write the index only when
        something changed."""
        tables = {}
        self.dirty = self.dirty or bool(set(self.saved) - set(self.tables))  # a table unused
        for table, stored in self.tables.items():
            saved, used = self.saved.get(table, {}), self.used.get(table, set())
            self.dirty = self.dirty or bool(set(saved) - used)
            tables[table] = {
                key: saved[key] if key in saved else pickle.dumps(value, pickle.HIGHEST_PROTOCOL)
                for key, value in stored.items()
                if key in used
            }
        if not self.dirty:
            return
        index = {"builder": self.builder, "tables": tables, "files": self.file_digests}
        data = pickle.dumps(index, protocol=pickle.HIGHEST_PROTOCOL)
        atomic_write(self.folder / INDEX, data, private=True)
        used = {
            content_digest
            for table, stored in self.tables.items()
            for key, value in stored.items()
            if key in self.used.get(table, ())
            for content_digest in _blobs(value)
        }
        for path in (self.folder / "blobs").glob("*/*"):
            if path.name not in used:
                path.unlink(missing_ok=True)


def _trusted_bytes(path: Path) -> bytes:
    """The bytes of a file to unpickle, if it and its cache folder are this user's alone (read
    from the descriptor that was checked, see `files.open_trusted`)."""
    try:
        with open_trusted(path) as file:
            return file.read()
    except Untrusted as refused:
        message = f"{refused.problem}; refusing to use it as the build cache (remove it)"
        raise BuildError(refused.path, None, message) from None


def _blobs(value) -> Iterable[str]:
    """The digests of the blobs a kept value refers to: a value that refers to any has a
    `blobs()` method (a rendered page, the files made from the whole site)."""
    return value.blobs() if hasattr(value, "blobs") else ()


class FileSets:
    """Sets of files kept whole, by key, in `folder`: a set appears complete or not at all (its
    files' digests are written last, and its folder is renamed into place)."""

    COMPLETE = ".complete"  # in a set's folder: its files' digests
    SCRATCH = (".set-", ".index-", ".pages-")  # folders of sets being written (older names too)

    def __init__(self, folder: Path):
        self.folder = Path(folder)

    def get(self, key: str) -> dict[str, Blob] | None:
        """The files of the set `key` (each checked against its digest when read), or None."""
        try:
            digests = json.loads((self.folder / key / self.COMPLETE).read_bytes())
        except (OSError, ValueError):
            return None
        if not isinstance(digests, dict):
            return None
        return {rel: Blob(d, path=self.folder / key / rel) for rel, d in digests.items()}

    def put(self, key: str, files: dict[str, bytes]) -> dict[str, Blob]:
        """Keep `files` as the set `key`; returns their blobs."""
        blobs = {rel: Blob.of_bytes(data) for rel, data in files.items()}
        self.folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=self.folder, prefix=self.SCRATCH[0]) as scratch:
            bundle = Path(scratch, "bundle")
            for rel, data in files.items():
                (bundle / rel).parent.mkdir(parents=True, exist_ok=True)
                (bundle / rel).write_bytes(data)
            digests = {rel: blob.digest for rel, blob in blobs.items()}
            atomic_write(bundle / self.COMPLETE, json.dumps(digests, sort_keys=True).encode())
            shutil.rmtree(self.folder / key, ignore_errors=True)
            os.replace(bundle, self.folder / key)
        return blobs

    def newest(self) -> dict[str, Blob] | None:
        """The files of the set kept last, or None."""
        done = self.folder.glob(f"*/{self.COMPLETE}") if self.folder.is_dir() else []
        newest = max(done, key=lambda p: p.stat().st_mtime_ns, default=None)
        return self.get(newest.parent.name) if newest else None

    def keep_only(self, key: str) -> None:
        """Remove every set but `key`, and the scratch folders of builds killed a day ago or
        more (a newer one may be another build's, in use)."""
        for old in self.folder.iterdir() if self.folder.is_dir() else []:
            scratch = old.name.startswith(self.SCRATCH)
            if old.name != key and (not scratch or time.time() - old.stat().st_mtime > 86_400):
                shutil.rmtree(old, ignore_errors=True)
