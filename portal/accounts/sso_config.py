"""Single sign-on providers, read from the environment (no Django imports: settings uses it).

OpenID Connect (Microsoft Entra ID or any other IdP)::

    SSO_OIDC_PROVIDERS=entra,okta                 # names, lower-case letters/digits
    SSO_OIDC_ENTRA_TYPE=entra                     # entra | oidc (default oidc)
    SSO_OIDC_ENTRA_TENANT_ID=<directory guid>     # entra: issuer .../<guid>/v2.0, tid allow-list
    SSO_OIDC_ENTRA_CLIENT_ID=...
    SSO_OIDC_ENTRA_CLIENT_SECRET=... (or _FILE)
    SSO_OIDC_ENTRA_ROLE_MAP=Portal.Admin=admin,Portal.Operator=operator,Portal.Viewer=viewer
    SSO_OIDC_OKTA_ISSUER=https://contoso.okta.com  # oidc: the issuer (discovery is appended)

Optional per provider: ``_NAME`` (button label), ``_ROLE_CLAIM`` (``roles``; ``groups`` for
group ids), ``_ALLOWED_DOMAINS`` (email domains), ``_ALLOWED_TENANTS`` (``tid`` values; entra
defaults to its own tenant), ``_ALLOWED_ISSUERS`` (``iss`` values; default: the issuer),
``_UID_CLAIMS`` (entra ``tid,oid``; oidc ``sub``), ``_SCOPES``.

SAML 2.0::

    SSO_SAML_PROVIDERS=adfs
    SSO_SAML_ADFS_IDP_ENTITY_ID=http://adfs.contoso.com/adfs/services/trust
    SSO_SAML_ADFS_IDP_SSO_URL=https://adfs.contoso.com/adfs/ls/
    SSO_SAML_ADFS_IDP_X509CERT_FILE=/run/secrets/adfs.pem   # or _IDP_METADATA_URL
    SSO_SAML_ADFS_ROLE_ATTRIBUTE=http://schemas.microsoft.com/ws/2008/06/identity/claims/role
    SSO_SAML_ADFS_ROLE_MAP=PortalAdmins=admin,PortalOperators=operator
"""

import re

from django.core.exceptions import ImproperlyConfigured

from portal.lib.env import env_list, env_secret, env_str

ENTRA_AUTHORITY = "https://login.microsoftonline.com"
_GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
_NAME = re.compile(r"^[a-z][a-z0-9]{0,29}$")
ROLES = {"viewer", "operator", "admin"}


def parse_role_map(name: str, value: str | None) -> dict[str, str]:
    """``IdPValue=role,Other=role`` → {IdPValue: role}."""
    mapping = {}
    for item in (value or "").split(","):
        if not item.strip():
            continue
        claim, sep, role = item.rpartition("=")
        role = role.strip().lower()
        if not sep or not claim.strip() or role not in ROLES:
            raise ImproperlyConfigured(
                f"{name} must look like 'Group=admin,Other=viewer' (roles: viewer, operator, "
                f"admin), not {item!r}"
            )
        mapping[claim.strip()] = role
    return mapping


def _names(var: str) -> list[str]:
    names = [n.lower() for n in env_list(var)]
    for name in names:
        if not _NAME.match(name):
            raise ImproperlyConfigured(f"{var}: {name!r} must be lower-case letters and digits")
    return names


def _oidc_app(name: str) -> dict:
    p = f"SSO_OIDC_{name.upper()}_"
    kind = (env_str(p + "TYPE", "oidc") or "oidc").lower()
    if kind not in {"entra", "oidc"}:
        raise ImproperlyConfigured(f"{p}TYPE must be entra or oidc, not {kind!r}")
    client_id = env_str(p + "CLIENT_ID")
    if not client_id:
        raise ImproperlyConfigured(f"{p}CLIENT_ID is required")
    if kind == "entra":
        tenant = env_str(p + "TENANT_ID", "")
        if not _GUID.match(tenant):
            raise ImproperlyConfigured(
                f"{p}TENANT_ID must be the directory (tenant) id, a GUID — never 'common' or "
                f"'organizations': only a tenant-specific issuer is accepted"
            )
        issuer = f"{ENTRA_AUTHORITY}/{tenant.lower()}/v2.0"
        default_tenants, default_uid, default_role_claim = [tenant.lower()], ["tid", "oid"], "roles"
        label = "Microsoft Entra ID"
    else:
        issuer = env_str(p + "ISSUER")
        if not issuer or not issuer.startswith(("https://", "http://")):
            raise ImproperlyConfigured(f"{p}ISSUER must be the IdP's issuer URL")
        issuer = issuer.rstrip("/")
        default_tenants, default_uid, default_role_claim = [], ["sub"], "groups"
        label = name.capitalize()
    policy = {
        "kind": kind,
        "issuer": issuer,
        "allowed_issuers": env_list(p + "ALLOWED_ISSUERS", [issuer]),
        "allowed_tenants": [t.lower() for t in env_list(p + "ALLOWED_TENANTS", default_tenants)],
        "allowed_domains": [d.lower().lstrip("@") for d in env_list(p + "ALLOWED_DOMAINS")],
        "uid_claims": env_list(p + "UID_CLAIMS", default_uid),
        "role_claim": env_str(p + "ROLE_CLAIM", default_role_claim),
        "role_map": parse_role_map(p + "ROLE_MAP", env_str(p + "ROLE_MAP")),
    }
    return {
        "provider_id": name,
        "name": env_str(p + "NAME", label),
        "client_id": client_id,
        "secret": env_secret(p + "CLIENT_SECRET", "") or "",
        "settings": {
            "server_url": issuer,
            "scope": env_list(p + "SCOPES", ["openid", "profile", "email"]),
            "oauth_pkce_enabled": True,
            "fetch_userinfo": kind != "entra",  # Entra's claims come in the ID token
            "portal": policy,
        },
    }


def _saml_app(name: str) -> dict:
    p = f"SSO_SAML_{name.upper()}_"
    idp = {"entity_id": env_str(p + "IDP_ENTITY_ID")}
    metadata_url = env_str(p + "IDP_METADATA_URL")
    if metadata_url:
        idp["metadata_url"] = metadata_url
    else:
        idp["sso_url"] = env_str(p + "IDP_SSO_URL")
        idp["x509cert"] = env_secret(p + "IDP_X509CERT")
        if env_str(p + "IDP_SLO_URL"):
            idp["slo_url"] = env_str(p + "IDP_SLO_URL")
        if not idp["sso_url"] or not idp["x509cert"]:
            raise ImproperlyConfigured(
                f"{p}IDP_METADATA_URL, or both {p}IDP_SSO_URL and {p}IDP_X509CERT, are required"
            )
    if not idp["entity_id"]:
        raise ImproperlyConfigured(f"{p}IDP_ENTITY_ID is required")
    role_attr = env_str(
        p + "ROLE_ATTRIBUTE", "http://schemas.microsoft.com/ws/2008/06/identity/claims/role"
    )
    attribute_mapping = {
        "uid": env_str(
            p + "UID_ATTRIBUTE", "http://schemas.microsoft.com/identity/claims/objectidentifier"
        ),
        "email": env_str(
            p + "EMAIL_ATTRIBUTE",
            "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress",
        ),
        "email_verified": "email_verified",
        "first_name": "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/givenname",
        "last_name": "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/surname",
        "username": "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name",
    }
    policy = {
        "kind": "saml",
        "issuer": idp["entity_id"],
        "allowed_issuers": [],
        "allowed_tenants": [],
        "allowed_domains": [d.lower().lstrip("@") for d in env_list(p + "ALLOWED_DOMAINS")],
        "uid_claims": [],
        "role_claim": role_attr,
        "role_map": parse_role_map(p + "ROLE_MAP", env_str(p + "ROLE_MAP")),
    }
    sp_entity = env_str(p + "SP_ENTITY_ID")
    return {
        "provider_id": name,
        "name": env_str(p + "NAME", name.upper()),
        "client_id": name,  # the organization slug in /accounts/saml/<slug>/...
        "settings": {
            "attribute_mapping": attribute_mapping,
            "idp": idp,
            "sp": {"entity_id": sp_entity} if sp_entity else {},
            "advanced": {
                "want_assertion_signed": True,
                "want_message_signed": False,
                "reject_idp_initiated_sso": True,
                "strict": True,
                "reject_deprecated_algorithm": True,
            },
            "portal": policy,
        },
    }


def socialaccount_providers() -> dict:
    """SOCIALACCOUNT_PROVIDERS from SSO_OIDC_* and SSO_SAML_*."""
    providers: dict = {}
    oidc = [_oidc_app(n) for n in _names("SSO_OIDC_PROVIDERS")]
    saml = [_saml_app(n) for n in _names("SSO_SAML_PROVIDERS")]
    if oidc:
        providers["openid_connect"] = {"APPS": oidc, "OAUTH_PKCE_ENABLED": True}
    if saml:
        providers["saml"] = {"APPS": saml}
    return providers
