"""Certificate client credentials: the signed assertion the Microsoft identity platform expects."""

import base64

import jwt
import pytest
import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes

from connectivity.oauth import ASSERTION_TYPE, client_assertion, load_certificate


@pytest.fixture(scope="module")
def pem():
    ca = trustme.CA(key_type=trustme.KeyType.RSA)
    leaf = ca.issue_cert("portal-app.contoso.test", key_type=trustme.KeyType.RSA)
    return leaf.private_key_and_cert_chain_pem.bytes().decode()


def test_assertion_is_signed_by_the_certificate_key(pem):
    token_url = "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token"
    assertion = client_assertion("app-id-1", token_url, pem, now=1_800_000_000)
    cert = x509.load_pem_x509_certificates(pem.encode())[0]
    claims = jwt.decode(
        assertion, cert.public_key(), algorithms=["RS256"], audience=token_url,
        options={"verify_exp": False, "verify_nbf": False, "verify_iat": False},
    )  # fmt: skip
    assert claims["iss"] == claims["sub"] == "app-id-1"
    assert claims["exp"] - claims["nbf"] == 600 and claims["jti"]
    header = jwt.get_unverified_header(assertion)
    thumb = base64.urlsafe_b64encode(cert.fingerprint(hashes.SHA1())).rstrip(b"=").decode()  # noqa: S303
    assert header["x5t"] == thumb and header["alg"] == "RS256"
    assert ASSERTION_TYPE.endswith("jwt-bearer")


def test_assertions_are_unique_and_a_pem_without_key_is_refused(pem):
    url = "https://login.microsoftonline.us/x/oauth2/v2.0/token"
    assert client_assertion("a", url, pem) != client_assertion("a", url, pem)
    cert_only = pem[pem.index("-----BEGIN CERTIFICATE-----") :]
    with pytest.raises(ValueError, match="no private key"):
        load_certificate(cert_only)
    ec = trustme.CA().issue_cert("x.test", key_type=trustme.KeyType.ECDSA)
    with pytest.raises(ValueError, match="must be RSA"):
        load_certificate(ec.private_key_and_cert_chain_pem.bytes().decode())
    other_key = (
        trustme.CA(key_type=trustme.KeyType.RSA)
        .issue_cert("y.test", key_type=trustme.KeyType.RSA)
        .private_key_pem.bytes()
        .decode()
    )
    with pytest.raises(ValueError, match="does not belong"):
        load_certificate(other_key + cert_only)
