"""Authentication and authorization the way Exchange Online / Exchange Server apply them.

* OAuth 2.0 client-credentials (app-only) and password (delegated, ROPC) grants issuing
  RS256 JWTs signed by the sandbox key; EWS accepts ``aud=https://outlook.office365.com``
  tokens carrying the ``full_access_as_app`` role or the ``EWS.AccessAsUser.All`` scope.
* HTTP Basic against sandbox mailboxes (Exchange Server mode).
* The grant table (which mailboxes an application or service account may impersonate) and the
  tenant switches ``EWSEnabled`` (organization + mailbox) and ``EWSAllowedAppIDs``.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from jwt.algorithms import RSAAlgorithm

from .store import Store

AUDIENCE = "https://outlook.office365.com"
APP_ROLE = "full_access_as_app"
DELEGATED_SCOPE = "EWS.AccessAsUser.All"
TOKEN_LIFETIME = 3600
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
SMTP_APP_ROLE = "SMTP.SendAsApp"
EXO_RESOURCE_APP_ID = "00000002-0000-0ff1-ce00-000000000000"


class AuthError(Exception):
    """Refusal that maps to an HTTP status (401 for authentication, 403 for policy)."""

    def __init__(self, status: int, reason: str, error: str = "invalid_token"):
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.error = error


class TokenRequestError(Exception):
    def __init__(self, status: int, error: str, description: str):
        super().__init__(description)
        self.status = status
        self.error = error
        self.description = description


@dataclass(frozen=True)
class Principal:
    """Who is calling: an application (app-only token), a user (basic or delegated token)."""

    kind: str  # "app" | "user"
    app_id: str | None = None
    user: str | None = None

    @property
    def key(self) -> str:
        """Grant-table / throttling key."""
        return self.app_id if self.kind == "app" else (self.user or "")


class TokenService:
    def __init__(self, store: Store, signing_key_file: Path, tenant_id: str, issuer_base: str):
        pem = Path(signing_key_file).read_bytes()
        self._private = serialization.load_pem_private_key(pem, password=None)
        self._public = self._private.public_key()
        self.kid = (
            base64.urlsafe_b64encode(
                self._public.public_bytes(
                    serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
                )[-12:]
            )
            .decode()
            .rstrip("=")
        )
        self.store = store
        self.tenant_id = tenant_id
        self.issuer = f"https://sts.windows.net/{tenant_id}/"
        self.issuer_base = issuer_base

    # --- issuing ---------------------------------------------------------------------------
    def sign(self, claims: dict[str, Any]) -> str:
        return jwt.encode(claims, self._private, algorithm="RS256", headers={"kid": self.kid})

    def base_claims(self, client_id: str, lifetime: int = TOKEN_LIFETIME) -> dict[str, Any]:
        now = int(time.time())
        return {
            "aud": AUDIENCE,
            "iss": self.issuer,
            "iat": now,
            "nbf": now,
            "exp": now + lifetime,
            "tid": self.tenant_id,
            "appid": client_id,
            "ver": "1.0",
            "uti": uuid.uuid4().hex[:22],
        }

    def token_request(self, tenant: str, form: dict[str, str]) -> dict[str, Any]:
        """The /{tenant}/oauth2/v2.0/token endpoint (client_credentials and password grants)."""
        if tenant not in (self.tenant_id, "common", "organizations"):
            raise TokenRequestError(
                400, "invalid_request", f"AADSTS90002: Tenant '{tenant}' not found."
            )
        client_id = form.get("client_id", "")
        secret = form.get("client_secret", "")
        app = self.store.get_app(client_id) if client_id else None
        if app is None:
            raise TokenRequestError(
                400,
                "unauthorized_client",
                f"AADSTS700016: Application with identifier '{client_id}' was not found "
                "in the directory.",
            )
        if form.get("client_assertion_type") == ASSERTION_TYPE:
            self._check_assertion(app, tenant, form.get("client_assertion", ""))
        elif not hmac.compare_digest(app["secret"].encode(), secret.encode()):
            raise TokenRequestError(
                401, "invalid_client", "AADSTS7000215: Invalid client secret provided."
            )
        grant_type = form.get("grant_type")
        scopes = form.get("scope", "").split()
        if grant_type == "client_credentials":
            if scopes != [f"{AUDIENCE}/.default"]:
                raise TokenRequestError(
                    400,
                    "invalid_scope",
                    "AADSTS1002012: The provided value for scope is not valid. Client "
                    "credential flows must have a scope value with /.default suffixed.",
                )
            claims = self.base_claims(client_id)
            claims.update(
                {
                    "roles": [APP_ROLE],
                    "idtyp": "app",
                    "oid": str(uuid.uuid5(uuid.NAMESPACE_URL, client_id)),
                }
            )
        elif grant_type == "password":
            user = self.store.get_mailbox(form.get("username", ""))
            if user is None or not hmac.compare_digest(
                user["password"].encode(), form.get("password", "").encode()
            ):
                raise TokenRequestError(
                    400,
                    "invalid_grant",
                    "AADSTS50126: Error validating credentials due to "
                    "invalid username or password.",
                )
            claims = self.base_claims(client_id)
            claims.update(
                {
                    "scp": DELEGATED_SCOPE,
                    "upn": user["address"],
                    "unique_name": user["address"],
                    "idtyp": "user",
                }
            )
        else:
            raise TokenRequestError(
                400,
                "unsupported_grant_type",
                f"AADSTS70003: grant_type {grant_type!r} is not supported by the sandbox.",
            )
        return {
            "token_type": "Bearer",
            "expires_in": TOKEN_LIFETIME,
            "ext_expires_in": TOKEN_LIFETIME,
            "access_token": self.sign(claims),
        }

    def _check_assertion(self, app, tenant: str, assertion: str) -> None:
        """A certificate credential: the assertion must be signed by the app's certificate."""
        pem = app["certificate"]
        if not pem:
            raise TokenRequestError(
                401, "invalid_client",
                "AADSTS700027: Client assertion contains an invalid signature: no certificate "
                "is registered for the application.",
            )  # fmt: skip
        cert = x509.load_pem_x509_certificate(pem.encode())
        thumb = base64.urlsafe_b64encode(cert.fingerprint(hashes.SHA1())).rstrip(b"=")  # noqa: S303
        audience = f"{self.issuer_base}/{tenant}/oauth2/v2.0/token"
        try:
            header = jwt.get_unverified_header(assertion)
            if header.get("x5t", "").encode() != thumb:
                raise jwt.InvalidTokenError("x5t does not match the registered certificate")
            claims = jwt.decode(
                assertion, cert.public_key(), algorithms=["RS256", "PS256"], audience=audience,
                options={"require": ["exp", "nbf", "iss", "sub", "jti", "aud"]}, leeway=5,
            )  # fmt: skip
        except jwt.PyJWTError as e:
            raise TokenRequestError(
                401, "invalid_client", f"AADSTS700027: Client assertion failed validation: {e}"
            )
        if claims["iss"] != app["client_id"] or claims["sub"] != app["client_id"]:
            raise TokenRequestError(
                401, "invalid_client", "AADSTS700021: Client assertion application identifier "
                "doesn't match 'client_id' parameter.",
            )  # fmt: skip

    def jwks(self) -> dict[str, Any]:
        jwk = RSAAlgorithm.to_jwk(self._public, as_dict=True)
        jwk.update({"kid": self.kid, "use": "sig", "alg": "RS256"})
        return {"keys": [jwk]}

    # --- validating ------------------------------------------------------------------------
    def validate(self, token: str) -> Principal:
        try:
            claims = jwt.decode(
                token,
                self._public,
                algorithms=["RS256"],
                audience=AUDIENCE,
                options={"require": ["exp", "aud", "tid", "appid"]},
                leeway=5,
            )
        except jwt.ExpiredSignatureError:
            raise AuthError(401, "The token has expired.")
        except jwt.InvalidAudienceError:
            raise AuthError(401, "The audience claim value is invalid for current resource.")
        except jwt.PyJWTError as e:
            raise AuthError(401, f"The token is invalid: {e.__class__.__name__}.")
        if claims["tid"] != self.tenant_id:
            raise AuthError(401, "The token was issued for a different tenant.")
        if APP_ROLE in (claims.get("roles") or []):
            return Principal("app", app_id=claims["appid"])
        scopes = (claims.get("scp") or "").split()
        if DELEGATED_SCOPE in scopes and claims.get("upn"):
            return Principal("user", app_id=claims["appid"], user=claims["upn"].lower())
        raise AuthError(
            401,
            "The token does not contain the full_access_as_app role or the "
            "EWS.AccessAsUser.All scope.",
            error="insufficient_claims",
        )


def check_basic(store: Store, header_value: str) -> Principal:
    try:
        decoded = base64.b64decode(header_value.strip(), validate=True).decode()
        username, password = decoded.split(":", 1)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise AuthError(401, "Malformed basic credentials.", error="")
    username = username.split("\\")[-1]  # DOMAIN\user is accepted like Exchange does
    mailbox = store.get_mailbox(username)
    if mailbox is None or not hmac.compare_digest(mailbox["password"].encode(), password.encode()):
        raise AuthError(401, "Invalid user name or password.", error="")
    return Principal("user", user=mailbox["address"])


def grant_covers(store: Store, principal: str, mailbox: str) -> bool:
    """Does the grant table let `principal` (app id or service account) reach `mailbox`?"""
    scope, targets = store.get_grant(principal)
    mailbox = mailbox.lower()
    if scope == "all":
        return True
    if scope == "list":
        return mailbox in targets
    if scope == "group":
        row = store.get_mailbox(mailbox)
        groups = {g.lower() for g in json.loads(row["groups"])} if row else set()
        return bool(groups & set(targets))
    return False


def ews_allowed(store: Store, principal: Principal, mailbox: str | None) -> str | None:
    """Apply EWSEnabled (org + mailbox) and EWSAllowedAppIDs; return a refusal reason or None.

    Exchange Online semantics: EWS is allowed only if both the organization and the mailbox
    value are True or null. When the organization value is True and EWSAllowedAppIDs is set,
    only the listed application ids may use EWS (the list has no effect otherwise).
    """
    org = store.get_meta("ews_enabled")
    if org is False:
        return "EWS is disabled for this organization (EWSEnabled=False)."
    if mailbox:
        row = store.get_mailbox(mailbox)
        if row is not None and row["ews_enabled"] == 0:
            return "EWS is disabled for this mailbox (EWSEnabled=False)."
    allowed_apps = store.get_meta("ews_allowed_app_ids") or []
    if org is True and allowed_apps and principal.app_id not in allowed_apps:
        return "The application is not in the organization's EWSAllowedAppIDs list."
    return None
