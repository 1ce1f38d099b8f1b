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
    status = 404


class Forbidden(AlmanacError):
    status = 403


class Conflict(AlmanacError):
    status = 409


class TooLarge(AlmanacError):
    status = 413


class UnsupportedFile(InvalidInput):
    """The file type is not one Almanac can read."""


class DocumentReadError(InvalidInput):
    """The file claims a supported type but cannot be read (corrupt, encrypted, empty)."""


class ProviderError(AlmanacError):
    """An external model provider failed or is unreachable."""

    status = 502


class RateLimited(AlmanacError):
    """The caller used up an allowance (e.g. a demo visitor's questions per hour)."""

    status = 429
