"""The server secret and what derives from it: sealing text at rest (Fernet: AES-128-CBC + HMAC-SHA256) and
signing messages (HMAC-SHA256).

The secret is ALMANAC_SECRET_KEY, else a random one created on first use in the data dir (`secret_key`,
readable by its owner only), so sealed values and signatures survive restarts. Each use has its own key,
derived from the secret with HKDF, so a signature can never pass for a sealed value or the reverse. Whoever
holds the database without the secret cannot read what was sealed; changing the secret makes earlier tokens
unreadable (unseal raises ValueError) and earlier signatures invalid.

Also here: sealing database fields that once held plain text (`seal_field`/`unseal_field`: provider API
keys, tool header and MCP env values), owner-only data files, and credentials redacted from log lines.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import os
import re
import secrets
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from core.config import Settings
from core.errors import AlmanacError

log = logging.getLogger(__name__)
SEALED = "sealed:"  # marks a sealed field; a value without it was stored in plain text before sealing existed


def load_or_create_secret(path: Path) -> str:
    """The secret kept in `path`, created (0600) if missing; several processes starting together agree on one."""
    if not path.exists():
        private_dir(path.parent)
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

    def seal_field(self, plain: str) -> str:
        """The value to store in a field that may hold a secret: "" stays "", a sealed value stays as it is."""
        if not plain or is_sealed_field(plain):
            return plain
        return SEALED + self.seal(plain)

    def unseal_field(self, stored: str | None) -> str:
        """The secret of a stored field; a value stored in plain text (before sealing) comes back unchanged."""
        if not is_sealed_field(stored):
            return stored or ""
        try:
            return self.unseal(stored[len(SEALED):])
        except ValueError as exc:
            raise UnreadableSecret("A stored secret cannot be decrypted: the server's secret key "
                                   "(ALMANAC_SECRET_KEY or data/secret_key) is not the one it was saved with; "
                                   "restore that key, or enter the secret again") from exc

    def sign(self, message: str) -> str:
        digest = hmac.new(self._sign_key, message.encode("utf-8"), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")

    def verify(self, message: str, signature: str) -> bool:
        return hmac.compare_digest(self.sign(message).encode("ascii"), (signature or "").encode("utf-8"))


class UnreadableSecret(AlmanacError):
    """A sealed field that this server's secret cannot open (the secret key changed)."""

    status = 500


def is_sealed_field(stored: str | None) -> bool:
    return bool(stored) and stored.startswith(SEALED)


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
