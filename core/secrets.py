"""The server secret and what derives from it: sealing text at rest (Fernet: AES-128-CBC + HMAC-SHA256) and
signing messages (HMAC-SHA256).

The secret is ALMANAC_SECRET_KEY, else a random one created on first use in the data dir (`secret_key`,
readable by its owner only), so sealed values and signatures survive restarts. Each use has its own key,
derived from the secret with HKDF, so a signature can never pass for a sealed value or the reverse. Whoever
holds the database without the secret cannot read what was sealed; changing the secret makes earlier tokens
unreadable (unseal raises ValueError) and earlier signatures invalid.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from core.config import Settings


def load_or_create_secret(path: Path) -> str:
    """The secret kept in `path`, created (0600) if missing; several processes starting together agree on one."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(48) + "\n")
        try:
            os.link(tmp, path)  # atomic and refuses to replace: the first process's secret wins
        except FileExistsError:
            pass
        finally:
            tmp.unlink(missing_ok=True)
    secret = path.read_text().strip()
    if not secret:
        raise RuntimeError(f"{path} is empty: delete it to generate a new server secret")
    return secret


def derive(secret: str, purpose: str) -> bytes:
    """A 32-byte key for one purpose (seal, sign, jwt, ...)."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                info=f"almanac:{purpose}".encode()).derive(secret.encode("utf-8"))


class Sealer:
    """seal/unseal: authenticated encryption of short texts; sign/verify: HMAC-SHA256 signatures."""

    def __init__(self, settings: Settings):
        self._secret = settings.secret_key or load_or_create_secret(settings.secret_key_file)
        self._fernet = Fernet(base64.urlsafe_b64encode(derive(self._secret, "seal")))
        self._sign_key = derive(self._secret, "sign")

    def signing_key(self, purpose: str) -> bytes:
        """A key of its own for another use of the secret (e.g. signing login tokens)."""
        return derive(self._secret, purpose)

    def seal(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode("utf-8")).decode("ascii")

    def unseal(self, token: str) -> str:
        """The sealed text; ValueError when the token was sealed with another secret or altered."""
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeError, ValueError) as exc:
            raise ValueError("This value was sealed with another secret key (ALMANAC_SECRET_KEY changed?)") from exc

    def sign(self, message: str) -> str:
        digest = hmac.new(self._sign_key, message.encode("utf-8"), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")

    def verify(self, message: str, signature: str) -> bool:
        return hmac.compare_digest(self.sign(message).encode("ascii"), (signature or "").encode("utf-8"))
