"""Blob store for uploaded originals under the data dir, addressed by content hash.

Identical uploads share one blob; a blob is removed when no file row points at it.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path


class BlobStore:
    def __init__(self, root: Path):
        self.root = root

    def put(self, data: bytes) -> tuple[str, str]:
        """Store bytes; returns (storage key, sha256). Written atomically (temp file + rename)."""
        digest = hashlib.sha256(data).hexdigest()
        key = f"{digest[:2]}/{digest}"
        path = self.root / key
        if not path.exists():
            self.root.mkdir(parents=True, exist_ok=True, mode=0o700)  # owner-only, like the rest of the data dir
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd, tmp = tempfile.mkstemp(dir=path.parent)
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, path)
        return key, digest

    def get(self, key: str) -> bytes:
        return self.path(key).read_bytes()

    def path(self, key: str) -> Path:
        return self.root / key

    def delete(self, key: str) -> None:
        (self.root / key).unlink(missing_ok=True)
