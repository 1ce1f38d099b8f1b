"""Sealing secrets at rest: Fernet (AES-128-CBC + HMAC-SHA256) with a key derived by HKDF from one secret.

The secret is ALMANAC_SECRET_KEY, or a random one created on first use in the data dir (`secret_key`,
readable by its owner only). Whoever holds the database without that secret cannot read what was sealed;
changing the secret makes earlier tokens unreadable (unseal raises ValueError).
"""

from __future__ import annotations

import base64
import os
import secrets
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from core.config import Settings

HKDF_INFO = b"almanac sealed secrets v1"


def load_or_create_secret(path: Path) -> str:
    """The secret kept in `path`, created (0600) if missing; several processes starting together agree on one."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(32) + "\n")
        try:
            os.link(tmp, path)  # atomic and refuses to replace: the first process's secret wins
        except FileExistsError:
            pass
        finally:
            tmp.unlink(missing_ok=True)
    return path.read_text().strip()


class Sealer:
    def __init__(self, settings: Settings):
        secret = settings.secret_key or load_or_create_secret(settings.secret_key_file)
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=HKDF_INFO).derive(secret.encode("utf-8"))
        self._fernet = Fernet(base64.urlsafe_b64encode(key))

    def seal(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode("utf-8")).decode("ascii")

    def unseal(self, token: str) -> str:
        """The sealed text; ValueError when the token was sealed with another secret or altered."""
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeError) as exc:
            raise ValueError("This value was sealed with another secret key (ALMANAC_SECRET_KEY changed?)") from exc
