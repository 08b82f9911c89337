"""Start-up check: every configured SSO provider's sign-in page must be reachable under the CSP."""

from django.conf import settings
from django.core.checks import Warning, register

from portal.accounts.sso_origins import all_sign_in_origins, origin_warnings


def sso_origin_report() -> dict:
    """For /healthz and the system check: each provider's sign-in origin and what is wrong."""
    providers = []
    for found in all_sign_in_origins():
        providers.append({
            "name": found.provider,
            "kind": found.kind,
            "origin": found.origin,
            "source": found.source,
            "warnings": origin_warnings(found, production=not settings.DEBUG),
        })  # fmt: skip
    return {"ok": not any(p["warnings"] for p in providers), "providers": providers}


@register()
def sso_origins_allowed_by_csp(app_configs, **kwargs):
    return [
        Warning(
            text,
            hint="Check the provider's SSO_OIDC_<NAME>_ISSUER / SSO_SAML_<NAME>_IDP_* settings "
            "and that this server can reach the provider, then restart.",
            id="portal.W101",
        )
        for provider in sso_origin_report()["providers"]
        for text in provider["warnings"]
    ]
