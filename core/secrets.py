"""The server secret and what derives from it: sealing text (Fernet), signing messages (HMAC-SHA256) and
per-purpose keys (e.g. the key that signs users' access tokens).

The secret is `ALMANAC_SECRET_KEY`, else a random one kept in the data dir (`secret_key`, readable only by its
owner) and created on first use, so signatures, tokens and sealed values survive restarts. Each use has its own
key, derived from the secret with HKDF, so a signature can never be replayed as a sealed value or a token.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import threading

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from core.config import Settings
from core.errors import InvalidInput

_file_lock = threading.Lock()


def _derive(secret: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"almanac:" + purpose).derive(secret)


def server_secret(settings: Settings) -> bytes:
    """ALMANAC_SECRET_KEY, else the data dir's secret_key file (created 0600 on first use)."""
    if settings.secret_key:
        return settings.secret_key.encode("utf-8")
    path = settings.secret_key_file
    with _file_lock:
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:  # another process created it meanwhile: use theirs
                pass
            else:
                with os.fdopen(fd, "w") as f:
                    f.write(secrets.token_urlsafe(48) + "\n")
        secret = path.read_text().strip()
    if not secret:
        raise RuntimeError(f"{path} is empty: delete it to generate a new server secret")
    return secret.encode("utf-8")


class Sealer:
    """seal/unseal: authenticated encryption of short texts; sign/verify: HMAC-SHA256 signatures;
    signing_key: a key of its own for each purpose (``"jwt"`` signs access tokens)."""

    def __init__(self, settings: Settings):
        self._secret = server_secret(settings)
        self._fernet = Fernet(base64.urlsafe_b64encode(_derive(self._secret, b"seal")))
        self._sign_key = _derive(self._secret, b"sign")

    def seal(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode("utf-8")).decode("ascii")

    def unseal(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeError, ValueError):
            raise InvalidInput("The sealed value is invalid or was made with another server secret") from None

    def sign(self, message: str) -> str:
        digest = hmac.new(self._sign_key, message.encode("utf-8"), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")

    def verify(self, message: str, signature: str) -> bool:
        return hmac.compare_digest(self.sign(message).encode("ascii"), (signature or "").encode("utf-8"))

    def signing_key(self, purpose: str) -> bytes:
        """32 bytes for one purpose only; the same purpose gives the same key for the same secret."""
        if not purpose or purpose in ("seal", "sign"):
            raise ValueError(f"'{purpose}' cannot name a signing key")
        return _derive(self._secret, b"key:" + purpose.encode("utf-8"))
