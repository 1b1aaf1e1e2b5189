"""
---
title: Downloading and unpacking an archive
summary: >-
  A download checked against its published MD5 before it is kept, and an archive unpacked so that
  a crash never leaves half a folder behind.
---

# Downloading and unpacking an archive

The [CIFAR-10 page](../experiments/cifar10.html#prepare) fetches its archive with these two
functions. Both are careful in the same way: nothing that is half done ever looks finished.
"""

import hashlib
import os
import shutil
import sys
import tarfile
import tempfile
import urllib.request
import zlib
from pathlib import Path

from labml_like.tools.errors import DatasetError


def file_md5(path: Path) -> str:
    """MD5 of a file read 1 MiB at a time, not all at once (CIFAR-10's archive is 163 MiB)."""
    digest = hashlib.md5()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def download(url: str, dest: Path, md5: str) -> None:
    """
    ## Download

    Fetch `url` into `dest` with a progress line on standard error, and keep it only if its checksum
    is right. The bytes go to `dest.part` first and are renamed to `dest` only after the checksum
    matches, so an interrupted or corrupt download never looks like a finished one.
    """
    part = dest.with_name(dest.name + ".part")
    try:
        with urllib.request.urlopen(url, timeout=60) as response, open(part, "wb") as out:
            # The server normally tells us the size up front, so the progress line can show a
            # percentage. We redraw it (with a carriage return) only when the whole percentage
            # changes: a hundred updates, which keeps log files of non-interactive runs short.
            total = int(response.headers.get("Content-Length") or 0)
            done, shown = 0, -1
            while chunk := response.read(1 << 20):
                out.write(chunk)
                done += len(chunk)
                step = 100 * done // total if total else done >> 20  # percent, or MiB
                if step != shown:
                    shown = step
                    size = f"{done / 2**20:.1f}" + (
                        f"/{total / 2**20:.1f} MiB" if total else " MiB"
                    )
                    line = f"{size} ({step}%)" if total else size
                    print(f"\rdownloading {url}: {line}", end="", file=sys.stderr)
            print(file=sys.stderr)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    # The checksum decides. A mismatch is not retried: it means the file on the server or the
    # network path is not what we expect, and a human should look.
    actual = file_md5(part)
    if actual != md5:
        part.unlink()
        raise DatasetError(
            f"{url}: checksum mismatch: the download has MD5 {actual}, expected {md5}; "
            f"it was deleted. Retry, or install the data by hand ({url})."
        )
    os.replace(part, dest)


def extract(tarball: Path, target: Path, folder: str, marker: str) -> None:
    """
    ## Extract atomically

    Unpack `tarball` so that its top-level `folder` becomes `target`; the folder must hold a file
    named `marker`. A half-unpacked
    folder would be worse than none: the next run would find `target`, skip the download and fail on
    a missing or truncated batch. So we unpack into a temporary folder *next to* `target` (same file
    system, so the final rename is a single atomic step), and rename only when everything is out.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=".cifar10-extract-", dir=target.parent))
    try:
        # `filter="data"` makes `tarfile` refuse absolute paths, `..` components, links out of the
        # folder and device files: an archive can only create files, folders and links inside
        # `scratch`.
        try:
            with tarfile.open(tarball, "r:gz") as archive:
                archive.extractall(scratch, filter="data")
        except (tarfile.TarError, EOFError, OSError, zlib.error) as error:
            raise DatasetError(f"{tarball}: cannot extract ({error})") from None
        unpacked = scratch / folder
        if not (unpacked / marker).is_file():
            raise DatasetError(f"{tarball}: the archive has no {folder}/{marker}")
        # Another process may have finished the same job while we were unpacking; its copy is as
        # good as ours, so we keep it rather than fail.
        try:
            os.rename(unpacked, target)
        except OSError as error:
            if not (target / marker).is_file():
                raise DatasetError(f"{target}: cannot create ({error})") from None
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
