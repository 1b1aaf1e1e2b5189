"""Bytes on disk: the one atomic write, content digests, `Blob` (an output file by digest), and
whether a file that will be unpickled or run may be trusted."""

import errno
import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from .model import BuildError


def atomic_write(path: Path, data: bytes, private: bool = False) -> None:
    """Write `data` to `path` through a temporary file in the same folder and a rename, so a
    reader (or a build killed half-way) sees the old file or the new one, never a part. The
    temporary name carries the process id: concurrent writers never share one. A `private` file
    is this user's alone (mode 0600, whatever the umask)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o666)
        with open(fd, "wb") as file:
            if private:
                os.fchmod(fd, 0o600)  # a file left by a killed build keeps its mode otherwise
            file.write(data)
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def untrusted(path: Path) -> str | None:
    """Why the file or folder at `path`, which the build would unpickle or run code from, must
    not be used: another user owns it (or the link to it), or others may write to it (its group
    or anyone). None when it is this user's alone, or does not exist. (The cache sits beside the
    out dir: with `--out /tmp/site`, anyone could have made `/tmp/.site_builder_cache`.) To read
    such a file, use `open_trusted`, which checks what it reads."""
    try:
        link, info = os.lstat(path), os.stat(path)
    except FileNotFoundError:
        return None
    except OSError as error:
        return f"cannot be checked: {error.strerror or error}"
    return _not_own(link) or _not_own(info)


def _not_own(info: os.stat_result) -> str | None:
    """Why a file or folder with this `stat` is not this user's alone; None when it is."""
    if info.st_uid != os.getuid():
        return f"belongs to another user (uid {info.st_uid})"
    if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return f"others may write to it (mode {stat.filemode(info.st_mode)})"
    return None


class Untrusted(Exception):
    """A file to unpickle or run, or its folder, that is not this user's alone (`problem`)."""

    def __init__(self, path: Path, problem: str):
        self.path, self.problem = Path(path), problem
        super().__init__(f"{path}: {problem}")


def open_trusted(path: Path) -> BinaryIO:
    """The file at `path`, which the build will unpickle or run code from, open for reading, if
    it and its folder are this user's alone (see `untrusted`); `Untrusted` otherwise, and
    FileNotFoundError when either is missing. Each is opened once (the file without following a
    link, and without blocking on a FIFO) and checked through its open descriptor, so what is
    read is what was checked, whatever is renamed or replaced in the meantime."""
    path = Path(path)
    folder = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        if problem := _not_own(os.lstat(path.parent)) or _not_own(os.fstat(folder)):
            raise Untrusted(path.parent, problem)
        flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
        try:
            fd = os.open(path.name, flags, dir_fd=folder)
        except OSError as error:
            if error.errno == errno.ELOOP:
                raise Untrusted(path, "is a link, which is not followed") from None
            raise
    finally:
        os.close(folder)
    try:
        info = os.fstat(fd)
        problem = None if stat.S_ISREG(info.st_mode) else "is not a regular file"
        if problem := problem or _not_own(info):
            raise Untrusted(path, problem)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def digest_of(data: bytes) -> str:
    """The content digest that names a file's bytes (in the cache, the manifest, the index)."""
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def digest(*parts) -> str:
    """One digest of several values (bytes as they are, anything else by its repr): a cache key."""
    hasher = hashlib.blake2b(digest_size=16)
    for part in parts:
        hasher.update(part if isinstance(part, bytes) else repr(part).encode())
        hasher.update(b"\0")
    return hasher.hexdigest()


class DamagedBlob(BuildError):
    """A blob's file is missing or no longer holds the bytes of its digest."""


@dataclass(frozen=True)
class Blob:
    """One output file: its content digest and its bytes (in memory, or a file to copy)."""

    digest: str
    data: bytes | None = None
    path: Path | None = None

    @classmethod
    def of_bytes(cls, data: bytes) -> "Blob":
        return cls(digest_of(data), data=data)

    @classmethod
    def of_file(cls, path: Path) -> "Blob":
        return cls(digest_of(path.read_bytes()), path=path)

    def content(self) -> bytes:
        """The bytes, checked against the digest when they come from a file."""
        if self.data is not None:
            return self.data
        if self.path is None:
            raise ValueError(f"blob {self.digest} has neither bytes nor a file")
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            raise DamagedBlob(self.path, None, "missing; build again") from None
        if digest_of(data) != self.digest:
            raise DamagedBlob(self.path, None, "changed while the site was built; build again")
        return data
