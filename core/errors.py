"""Domain errors. Services raise these; each API dialect maps them to its own envelope."""


class AlmanacError(Exception):
    """Base class: `message` is safe to show to the caller."""

    status = 400

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class InvalidInput(AlmanacError):
    status = 400


class NotFound(AlmanacError):
    """`kind` (knowledge_base, document, chunk, assistant, conversation, ...) and `ident` let each dialect
    word the error its own way ("You don't own the dataset ..." in RAGFlow)."""

    status = 404

    def __init__(self, message: str, *, kind: str = "", ident: str = ""):
        super().__init__(message)
        self.kind, self.ident = kind, ident


class Forbidden(AlmanacError):
    status = 403


class Conflict(AlmanacError):
    """`ident` names the existing object the request collides with, when there is one (a duplicate upload)."""

    status = 409

    def __init__(self, message: str, *, ident: str = ""):
        super().__init__(message)
        self.ident = ident


class TooLarge(AlmanacError):
    status = 413


class UnsupportedFile(InvalidInput):
    """The file type is not one Almanac can read."""


class DocumentReadError(InvalidInput):
    """The file claims a supported type but cannot be read (corrupt, encrypted, empty)."""


class ProviderError(AlmanacError):
    """An external model provider failed or is unreachable."""

    status = 502


class Unavailable(AlmanacError):
    """A service Almanac depends on (the database, the vector store) cannot be reached right now;
    the same request may succeed later."""

    status = 503


class AuthenticationFailed(AlmanacError):
    """A sign-in or access token that does not identify anyone (wording never says which part was wrong)."""

    status = 401


class RateLimited(AlmanacError):
    """Too many attempts or a used-up allowance (a demo visitor's questions per hour); `retry_after` seconds
    until the next one is accepted."""

    status = 429

    def __init__(self, message: str, retry_after: int = 60):
        super().__init__(message)
        self.retry_after = retry_after


class NotConfigured(AlmanacError):
    """A feature needs a setting the operator has not made (the message names it)."""

    status = 503
