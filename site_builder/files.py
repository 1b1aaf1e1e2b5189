"""The one way site_builder writes a file: whole or not at all."""

import hashlib
import os
from pathlib import Path


def atomic_write(path: Path, data: bytes) -> None:
    """Write `data` to `path` through a temporary file in the same folder and a rename, so a
    reader (or a build killed half-way) sees the old file or the new one, never a part. The
    temporary name carries the process id: concurrent writers never share one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        temp.write_bytes(data)
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
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
