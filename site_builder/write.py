"""Atomic, incremental writes: the out dir changes all at once, and only when a file changed.

A new site is staged in a sibling dir that starts as a hard-link clone of the previous one. Changed
files are written to a temp name and renamed over their link (a linked file is never modified in
place, so the live site cannot change), stale files are unlinked, then the two dirs are swapped.
A manifest (`.site-builder.json` in the out dir) records each file's digest, size and mtime, so an
unchanged build is detected from `stat` alone and writes nothing.
"""

import ctypes
import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .model import BuildError

MANIFEST = ".site-builder.json"


@dataclass(frozen=True)
class Blob:
    """One output file: its content digest and its bytes (in memory, or a file to copy)."""

    digest: str
    data: bytes | None = None
    path: Path | None = None

    @classmethod
    def of_bytes(cls, data: bytes) -> "Blob":
        return cls(hashlib.blake2b(data, digest_size=16).hexdigest(), data=data)

    @classmethod
    def of_file(cls, path: Path) -> "Blob":
        return cls(hashlib.blake2b(path.read_bytes(), digest_size=16).hexdigest(), path=path)

    def content(self) -> bytes:
        return self.data if self.data is not None else self.path.read_bytes()


@dataclass
class WriteResult:
    written: list[str]
    removed: list[str]


def _existing_files(out: Path) -> dict[str, os.stat_result]:
    found = {}
    for folder, _, names in os.walk(out):
        for name in names:
            path = os.path.join(folder, name)
            found[os.path.relpath(path, out).replace(os.sep, "/")] = os.stat(path)
    found.pop(MANIFEST, None)
    return found


def _known_digests(out: Path, existing: dict[str, os.stat_result]) -> dict[str, str]:
    """Digests from the manifest, for files whose size and mtime still match it."""
    try:
        manifest = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    known = {}
    for rel, (digest, size, mtime_ns) in manifest.items():
        stat = existing.get(rel)
        if stat and stat.st_size == size and stat.st_mtime_ns == mtime_ns:
            known[rel] = digest
    return known


def _guard_out_dir(out: Path, existing: dict[str, os.stat_result]) -> None:
    if existing and not (out / MANIFEST).exists():
        message = "the out dir exists and was not made by site-builder; refusing to replace it"
        raise BuildError(out, None, message)


def plan(out: Path, outputs: dict[str, Blob]) -> tuple[list[str], list[str]]:
    """Which files must be (re)written and which removed to turn `out` into `outputs`."""
    existing = _existing_files(out) if out.is_dir() else {}
    _guard_out_dir(out, existing)
    known = _known_digests(out, existing)
    changed = sorted(rel for rel, blob in outputs.items() if known.get(rel) != blob.digest)
    stale = sorted(set(existing) - set(outputs))
    return changed, stale


def write_site(out: Path, outputs: dict[str, Blob]) -> WriteResult:
    """Make `out` hold exactly `outputs`, atomically; a no-op when nothing changed."""
    changed, stale = plan(out, outputs)
    if not changed and not stale:
        return WriteResult([], [])
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.staging-", dir=out.parent))
    try:
        if out.is_dir():
            _hard_link_clone(out, staging)
        for rel in changed:
            _replace_file(staging / rel, outputs[rel].content())
        for rel in stale:
            (staging / rel).unlink()
        _remove_empty_dirs(staging)
        _write_manifest(staging, outputs)
        _swap_into_place(staging, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return WriteResult(changed, stale)


def _hard_link_clone(source: Path, target: Path) -> None:
    for folder, dirs, names in os.walk(source):
        relative = os.path.relpath(folder, source)
        for name in dirs:
            os.makedirs(os.path.join(target, relative, name), exist_ok=True)
        for name in names:
            src, dst = os.path.join(folder, name), os.path.join(target, relative, name)
            try:
                os.link(src, dst)
            except OSError:
                shutil.copy2(src, dst)


def _replace_file(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.tmp")
    temp.write_bytes(data)
    os.replace(temp, path)


def _remove_empty_dirs(root: Path) -> None:
    for folder, _, _ in os.walk(root, topdown=False):
        if folder != str(root) and not os.listdir(folder):
            os.rmdir(folder)


def _write_manifest(staging: Path, outputs: dict[str, Blob]) -> None:
    manifest = {}
    for rel, blob in outputs.items():
        stat = (staging / rel).stat()
        manifest[rel] = [blob.digest, stat.st_size, stat.st_mtime_ns]
    _replace_file(staging / MANIFEST, json.dumps(manifest, sort_keys=True).encode())


def _swap_into_place(staging: Path, out: Path) -> None:
    """Put `staging` at `out`; afterwards `staging` holds the previous site (or nothing)."""
    if not out.exists():
        os.rename(staging, out)
        return
    if _rename_exchange(staging, out):
        return
    previous = out.with_name(f".{out.name}.previous-{os.getpid()}")
    os.rename(out, previous)
    os.rename(staging, out)
    os.rename(previous, staging)


def _rename_exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one atomic step (Linux renameat2 RENAME_EXCHANGE) where available."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    result = renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange)
    return result == 0
