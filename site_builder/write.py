"""Atomic, incremental writes: the out dir changes all at once, and only when a file changed.

A new site is staged in a sibling dir that starts as a hard-link clone of the previous one. Changed
files are written to a temp name and renamed over their link (a linked file is never modified in
place, so the live site cannot change), stale files are unlinked, then the two dirs are swapped.
A manifest (`.site-builder.json` in the out dir) records each file's digest, size and mtime, so an
unchanged build is detected from `stat` alone and writes nothing.

The site's folders and files get the modes the umask gives (an existing out dir keeps its own).
A staging dir is named after its process and locked (flock) while it is written; one whose
process is gone and whose lock is free was left by a killed build and is removed by the next.
"""

import ctypes
import fcntl
import json
import os
import secrets
import shutil
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from .files import Blob, atomic_write
from .model import BuildError

MANIFEST = ".site-builder.json"


@dataclass
class WriteResult:
    written: list[str]
    removed: list[str]


def _existing_files(out: Path) -> dict[str, os.stat_result]:
    """Every file under `out` (site path -> its stat), the manifest aside."""
    found = {}
    folders = [("", str(out))]
    while folders:
        prefix, folder = folders.pop()
        with os.scandir(folder) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    folders.append((f"{prefix}{entry.name}/", entry.path))
                else:
                    found[prefix + entry.name] = entry.stat()
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


def check_out_dir(out: Path, inputs: Sequence[Path] = ()) -> None:
    """Refuse an out dir the site must not replace: the filesystem root, anything but a folder,
    a folder holding one of the `inputs`, or a non-empty folder site-builder did not make."""
    out = Path(os.path.abspath(out))
    if out == Path(out.anchor):
        raise BuildError(out, None, "is the filesystem root; refusing to write the site there")
    if (out.is_symlink() or out.exists()) and not out.is_dir():
        raise BuildError(out, None, "exists and is not a folder; refusing to replace it")
    for path in inputs:
        if Path(os.path.abspath(path)).is_relative_to(out):
            relation = "is" if Path(os.path.abspath(path)) == out else "holds"
            message = f"{relation} the input folder '{path}'; refusing to write the site over it"
            raise BuildError(out, None, message)
    if out.is_dir() and not (out / MANIFEST).exists():
        with os.scandir(out) as entries:
            if any(True for _ in entries):
                message = "exists and was not made by site-builder; refusing to replace it"
                raise BuildError(out, None, message)


class Plan(NamedTuple):
    changed: list[str]  # files to (re)write
    stale: list[str]  # files to remove
    existing: dict[str, os.stat_result]  # the files there now


def plan(out: Path, outputs: dict[str, Blob]) -> Plan:
    """Which files must be (re)written and which removed to turn `out` into `outputs`."""
    check_out_dir(out)
    existing = _existing_files(out) if out.is_dir() else {}
    known = _known_digests(out, existing)
    changed = sorted(rel for rel, blob in outputs.items() if known.get(rel) != blob.digest)
    stale = sorted(set(existing) - set(outputs))
    return Plan(changed, stale, existing)


def write_site(out: Path, outputs: dict[str, Blob], link_from: Path | None = None) -> WriteResult:
    """Make `out` hold exactly `outputs`, atomically; a no-op when nothing changed. A blob whose
    file lies in `link_from` (the cache, whose files are never changed in place) is hard-linked
    once its bytes are checked, not copied."""
    changed, stale, existing = plan(out, outputs)
    remove_stale_staging(out)
    if not changed and not stale:
        return WriteResult([], [])
    out.parent.mkdir(parents=True, exist_ok=True)
    staging, lock = _make_staging(out)
    try:
        if out.is_dir():
            _hard_link_clone(out, staging)
        for rel in changed:
            _place(staging / rel, outputs[rel], link_from)
        for rel in stale:
            (staging / rel).unlink()
        _remove_empty_dirs(staging)
        written = set(changed)
        unchanged = {rel: existing[rel] for rel in outputs if rel not in written}
        _write_manifest(staging, outputs, unchanged)
        _swap_into_place(staging, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        os.close(lock)
    return WriteResult(changed, stale)


def _staging_prefix(out: Path) -> str:
    return f".{out.name}.staging-"


def _make_staging(out: Path) -> tuple[Path, int]:
    """A new sibling of `out`, named after this process, and a file descriptor holding its lock.
    Its mode is the umask's (mkdir's), or that of the out dir it will replace."""
    while True:
        staging = out.with_name(f"{_staging_prefix(out)}{os.getpid()}-{secrets.token_hex(4)}")
        try:
            os.mkdir(staging)
            break
        except FileExistsError:
            continue
    lock = os.open(staging, os.O_RDONLY | os.O_DIRECTORY)
    fcntl.flock(lock, fcntl.LOCK_EX)
    if out.is_dir():
        os.chmod(staging, stat.S_IMODE(out.stat().st_mode))
    return staging, lock


def remove_stale_staging(out: Path) -> list[Path]:
    """Remove staging dirs of `out` left by killed builds: named after a process that is gone,
    with no build holding their lock. Returns what was removed."""
    prefix, removed = _staging_prefix(out), list[Path]()
    try:
        with os.scandir(out.parent) as found:
            entries = [entry for entry in found if entry.name.startswith(prefix)]
    except OSError:
        return removed
    for entry in entries:
        pid = entry.name[len(prefix) :].split("-")[0]
        if not pid.isdigit() or _process_exists(int(pid)):
            continue
        try:
            lock = os.open(entry.path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
        except OSError:
            continue
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            continue  # a build (in another pid namespace) is writing it
        else:
            shutil.rmtree(entry.path, ignore_errors=True)
            removed.append(Path(entry.path))
        finally:
            os.close(lock)
    return removed


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # it exists, and belongs to another user
    return True


def _hard_link_clone(source: Path, target: Path) -> None:
    folders = [(str(source), str(target))]
    while folders:
        folder, copy = folders.pop()
        with os.scandir(folder) as entries:
            for entry in entries:
                destination = os.path.join(copy, entry.name)
                if entry.is_dir(follow_symlinks=False):
                    os.mkdir(destination)
                    folders.append((entry.path, destination))
                    continue
                try:
                    os.link(entry.path, destination)
                except OSError:
                    shutil.copy2(entry.path, destination)


def _place(path: Path, blob: Blob, link_from: Path | None) -> None:
    data = blob.content()  # checked against its digest
    if link_from is not None and blob.path is not None and blob.path.is_relative_to(link_from):
        path.parent.mkdir(parents=True, exist_ok=True)
        temp = path.with_name(f".{path.name}.tmp")
        try:
            os.link(blob.path, temp)
            os.replace(temp, path)
            return
        except OSError:  # another filesystem, or links not allowed: copy
            temp.unlink(missing_ok=True)
    atomic_write(path, data)


def _remove_empty_dirs(root: Path) -> None:
    for folder, _, _ in os.walk(root, topdown=False):
        if folder != str(root) and not os.listdir(folder):
            os.rmdir(folder)


def _write_manifest(staging: Path, outputs: dict[str, Blob], unchanged: dict) -> None:
    """The manifest of `outputs`: the stat of each file written, and of each file `unchanged`
    (a link to the previous site's file, whose stat it is)."""
    manifest = {}
    for rel, blob in outputs.items():
        stat = unchanged.get(rel) or os.stat(os.path.join(staging, rel))
        manifest[rel] = [blob.digest, stat.st_size, stat.st_mtime_ns]
    atomic_write(staging / MANIFEST, json.dumps(manifest, sort_keys=True).encode())


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
