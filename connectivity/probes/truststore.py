"""The trust bundle a probe checks certificate chains against: a CA file, or the system's.

Loading and sorting a bundle (~150 system roots) and building its verifier store cost about
half a millisecond, so each is done once per file version (path and modification time).
"""

from __future__ import annotations

import functools
import os
import ssl
import warnings

from cryptography import x509
from cryptography.x509.verification import Store


def self_issued(cert: x509.Certificate) -> bool:
    return cert.issuer == cert.subject


def default_ca_file() -> str:
    cafile = ssl.get_default_verify_paths().cafile
    if cafile and os.path.exists(cafile):
        return cafile
    import certifi

    return certifi.where()


@functools.lru_cache(maxsize=16)
def _load_pem(path: str, mtime: float) -> tuple[x509.Certificate, ...]:
    with open(path, "rb") as fh:
        data = fh.read()
    with warnings.catch_warnings():  # some system roots have non-positive serial numbers
        warnings.simplefilter("ignore")
        return tuple(x509.load_pem_x509_certificates(data))


def load_trust(ca_file: str | None) -> tuple[x509.Certificate, ...]:
    path = ca_file or default_ca_file()
    return _load_pem(path, os.path.getmtime(path))


def trust_parts(ca_file: str | None) -> tuple[list, list, Store]:
    """(roots, intermediates, verifier store) of the trust bundle: sorting the ~150 system
    roots and building their store costs ~0.5 ms, so it is done once per file version."""
    path = ca_file or default_ca_file()
    return _split_trust(path, os.path.getmtime(path))


@functools.lru_cache(maxsize=16)
def _split_trust(path: str, mtime: float) -> tuple[list, list, Store]:
    trust = _load_pem(path, mtime)
    roots = [c for c in trust if self_issued(c)] or list(trust)
    return roots, [c for c in trust if not self_issued(c)], Store(roots)
