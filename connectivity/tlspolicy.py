"""Whether TLS certificates are enforced for the current target.

Verification is on unless an administrator turned it off for one target (the caller audits
that). Off, the probes still report every certificate problem, as a warning, but it no longer
blocks the test, and HTTP clients (requests, exchangelib) stop verifying too.
"""

import contextlib
import contextvars

_verification: contextvars.ContextVar[bool] = contextvars.ContextVar("tls_verify", default=True)


@contextlib.contextmanager
def verification_off():
    """Within this block (this thread/context only) certificates are checked but not enforced."""
    token = _verification.set(False)
    try:
        yield
    finally:
        _verification.reset(token)


def verification_enabled() -> bool:
    return _verification.get()
