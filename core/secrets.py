"""Secrets at rest, owner-only files, and credentials kept out of the logs.

`SecretBox.seal(text)` encrypts a secret (a provider's API key, a tool's header) for storing;
`unseal(stored)` gives it back. AES-256-GCM with a key derived (HKDF-SHA256) from ALMANAC_SECRET_KEY,
or else from a random secret kept in `<data dir>/secret_key` (created owner-only on first use).
Sealed values read `enc:v1:<base64url(nonce + ciphertext)>`; anything else is a value stored before
sealing existed and is returned as it is (services re-seal such rows at start-up).
Back up the secret with the database: without it, sealed values cannot be read.
"""

from __future__ import annotations

import base64
import logging
import os
import re
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from core.config import Settings
from core.errors import AlmanacError

log = logging.getLogger(__name__)
PREFIX = "enc:v1:"
_INFO = b"almanac secret box v1"


class UnreadableSecret(AlmanacError):
    """A sealed value that this server's key cannot open (the secret key changed)."""

    status = 500


class SecretBox:
    def __init__(self, secret: bytes):
        if len(secret) < 16:
            raise ValueError("the secret must be at least 16 bytes")
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(secret)
        self._aead = AESGCM(key)

    @classmethod
    def for_settings(cls, settings: Settings) -> SecretBox:
        """The box of ALMANAC_SECRET_KEY, else of the data dir's secret file (created on first use)."""
        if settings.secret_key:
            return cls(settings.secret_key.encode("utf-8"))
        return cls(_secret_file(settings.resolved_data_dir / "secret_key"))

    @staticmethod
    def is_sealed(stored: str | None) -> bool:
        return bool(stored) and stored.startswith(PREFIX)

    def seal(self, plain: str) -> str:
        """The value to store; "" stays "" (no secret), a sealed value stays as it is."""
        if not plain or self.is_sealed(plain):
            return plain
        nonce = os.urandom(12)
        sealed = self._aead.encrypt(nonce, plain.encode("utf-8"), None)
        return PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode("ascii")

    def unseal(self, stored: str | None) -> str:
        """The secret; a value stored in plain text (before sealing) comes back unchanged."""
        if not self.is_sealed(stored):
            return stored or ""
        try:
            raw = base64.urlsafe_b64decode(stored[len(PREFIX):].encode("ascii"))
            return self._aead.decrypt(raw[:12], raw[12:], None).decode("utf-8")
        except (InvalidTag, ValueError) as exc:
            raise UnreadableSecret("A stored secret cannot be decrypted: the server's secret key "
                                   "(ALMANAC_SECRET_KEY or data/secret_key) is not the one it was saved with; "
                                   "restore that key, or enter the secret again") from exc


def _secret_file(path: Path) -> bytes:
    if not path.exists():
        private_dir(path.parent)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process created it meanwhile: use theirs
            pass
        else:
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_urlsafe(32) + "\n")
    return path.read_text().strip().encode("utf-8")


# ----------------------------------------------------------------------------- owner-only files
def private_dir(path: Path) -> Path:
    """Create `path` (and parents) and make it owner-only (0700)."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    _owner_only(path, 0o700)
    return path


def private_file(path: Path) -> Path:
    """Create `path` empty if missing and make it owner-only (0600), so nothing is ever written to it readable."""
    if not path.exists():
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    _owner_only(path, 0o600)
    return path


def _owner_only(path: Path, mode: int) -> None:
    try:
        if path.stat().st_mode & 0o777 != mode:
            path.chmod(mode)
    except OSError as exc:  # e.g. a mounted volume owned by someone else: say so, do not fail
        log.warning("could not make %s owner-only: %s", path, exc)


# ----------------------------------------------------------------------------- logs
# name=value where the name ends in key, token, password or secret (api_key, x-api-key, access_token ...).
_CREDENTIAL = re.compile(r"(?i)\b([\w-]*(?:key|token|password|passwd|secret)=)[^&\s\"'#;]+")


def redact(text: str) -> str:
    """`text` with the values of credential query parameters (api_key=, token=, ...) replaced by ***."""
    return _CREDENTIAL.sub(r"\1***", text) if "=" in text else text


def _redacted_arg(arg: object) -> object:
    if isinstance(arg, (int, float, bool)) or arg is None:
        return arg
    text = str(arg)
    clean = redact(text)
    return arg if clean == text else clean


_factory = None


def install_log_redaction() -> None:
    """From now on every log record of this process (uvicorn's access log too) has credentials in its
    message and arguments redacted, whatever handler or format prints it. Idempotent."""
    global _factory
    if _factory is not None:
        return
    base = logging.getLogRecordFactory()

    def make_record(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202 - logging's factory signature
        record = base(*args, **kwargs)
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_redacted_arg(a) for a in record.args)
        return record

    _factory = make_record
    logging.setLogRecordFactory(make_record)
