"""Blob store for uploaded originals under the data dir, addressed by content hash.

Identical uploads share one blob; a blob is removed when no file row points at it.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import NamedTuple


class Stored(NamedTuple):
    key: str  # the storage key (path under the root)
    sha256: str
    created: bool  # False: identical content was stored already


class BlobStore:
    def __init__(self, root: Path):
        self.root = root

    def put(self, data: bytes) -> Stored:
        """Store bytes atomically (temp file, fsync, rename): a failure (a full disk) leaves nothing behind."""
        digest = hashlib.sha256(data).hexdigest()
        key = f"{digest[:2]}/{digest}"
        path = self.root / key
        if path.exists():
            return Stored(key, digest, False)
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)  # owner-only, like the rest of the data dir
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return Stored(key, digest, True)

    def get(self, key: str) -> bytes:
        return self.path(key).read_bytes()

    def path(self, key: str) -> Path:
        return self.root / key

    def delete(self, key: str) -> None:
        (self.root / key).unlink(missing_ok=True)
