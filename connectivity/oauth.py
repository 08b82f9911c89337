"""OAuth 2.0 client credentials with a certificate (a signed client assertion).

Microsoft identity platform: "Microsoft identity platform application authentication
certificate credentials" — an RS256 JWT with ``aud`` = the token endpoint, ``iss`` = ``sub`` =
the client id, a unique ``jti``, a short lifetime, and the certificate's SHA-1 thumbprint in the
``x5t`` header (``x5t#S256`` carries the SHA-256 one).
"""

from __future__ import annotations

import base64
import re
import time
import uuid
from typing import Any

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from connectivity.ews import DEFAULT_TIMEOUT, EXO_SCOPE, post_token_request

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
LIFETIME = 600


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


_KEY_BLOCK = re.compile(
    r"-----BEGIN (?:RSA |EC |ENCRYPTED )?PRIVATE KEY-----.+?-----END (?:RSA |EC |ENCRYPTED )?"
    r"PRIVATE KEY-----",
    re.S,
)


def load_certificate(pem: str):
    """(certificate, RSA private key) from one PEM text holding both, in any order.

    Raises ValueError with a plain message when either part is missing or the key is not RSA
    (the identity platform signs and checks client assertions with RS256).
    """
    try:
        cert = x509.load_pem_x509_certificates(pem.encode())[0]
    except ValueError:
        raise ValueError("the PEM holds no certificate")
    match = _KEY_BLOCK.search(pem)
    if not match:
        raise ValueError("the PEM holds no private key")
    try:
        key = serialization.load_pem_private_key(match.group(0).encode(), password=None)
    except TypeError:
        raise ValueError("the private key is encrypted; paste it without a passphrase")
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("the private key must be RSA")
    if key.public_key().public_numbers() != cert.public_key().public_numbers():
        raise ValueError("the private key does not belong to the certificate")
    return cert, key


def client_assertion(client_id: str, token_url: str, pem: str, *, now: float | None = None) -> str:
    cert, key = load_certificate(pem)
    issued = int(now if now is not None else time.time())
    headers = {
        "x5t": _b64(cert.fingerprint(hashes.SHA1())),  # noqa: S303 - the thumbprint format
        "x5t#S256": _b64(cert.fingerprint(hashes.SHA256())),
    }
    claims = {
        "aud": token_url, "iss": client_id, "sub": client_id, "jti": str(uuid.uuid4()),
        "nbf": issued, "iat": issued, "exp": issued + LIFETIME,
    }  # fmt: skip
    return jwt.encode(claims, key, algorithm="RS256", headers=headers)


def fetch_token_with_certificate(
    token_url: str,
    client_id: str,
    pem: str,
    *,
    scope: str = EXO_SCOPE,
    ca_file: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> dict[str, Any]:
    """Client-credentials grant authenticated by a certificate. Raises ews.TokenError."""
    form = {
        "grant_type": "client_credentials", "client_id": client_id, "scope": scope,
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": client_assertion(client_id, token_url, pem),
    }  # fmt: skip
    return post_token_request(token_url, form, ca_file=ca_file, timeout=timeout)
