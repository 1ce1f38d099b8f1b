"""Schemathesis hooks for tests/api/test_fuzz.py (loaded by the CLI through SCHEMATHESIS_HOOKS)."""

import schemathesis


@schemathesis.check
def no_internal_error_envelope(ctx, response, case):  # noqa: ANN001, ANN201 - schemathesis's check signature
    """Dialects answer HTTP 200 with their own error codes: an unexpected exception shows as "Internal error"."""
    if "Internal error" in response.text:
        raise AssertionError(f"An unexpected exception behind an error envelope: {response.text[:300]}")
