"""Single sign-on policy: who may sign in through an identity provider, and with which role.

Runs inside allauth's social login flow (``PortalSocialAccountAdapter.pre_social_login``)
after the provider's response was verified and before anything is stored or anyone is signed
in: the issuer and tenant must be allowed, the email domain too when a list is set, and an IdP
claim (roles or groups) must map to a portal role — on every sign-in. Accounts are never linked
by email: a person is the provider plus its stable id (Entra: ``tid:oid``).
"""

from dataclasses import dataclass

from allauth.core.exceptions import ImmediateHttpResponse
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

from portal.accounts.roles import set_role
from portal.audit.api import record
from portal.lib.access import Role, user_role

ROLE_NAMES = {"viewer": Role.VIEWER, "operator": Role.OPERATOR, "admin": Role.ADMIN}
REASONS = {
    "issuer": _("Your identity provider is not one this portal trusts."),
    "tenant": _("Your organization (tenant) is not allowed to sign in to this portal."),
    "domain": _("Your email domain is not allowed to sign in to this portal."),
    "identity": _("Your identity provider did not send the claims this portal needs."),
    "role": _("You have no role in this portal. Ask your administrator to assign you one."),
}


@dataclass
class Decision:
    role: Role
    reason: str = ""
    uid: str = ""
    email: str = ""
    tenant: str = ""
    issuer: str = ""


def policy_of(sociallogin) -> dict:
    provider = sociallogin.provider
    return provider.app.settings.get("portal", {}) if provider is not None else {}


def _claims(sociallogin, kind: str) -> dict:
    data = sociallogin.account.extra_data or {}
    if kind == "saml":
        return dict(data)
    return {**(data.get("userinfo") or {}), **(data.get("id_token") or {})}


def _values(value) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return [str(v) for v in value]
    return [str(value)]


def _email(sociallogin, claims: dict) -> str:
    from allauth.account.utils import user_email

    for candidate in (
        user_email(sociallogin.user) if sociallogin.user else "",
        *(a.email for a in sociallogin.email_addresses),
        *_values(claims.get("email")),
        *_values(claims.get("preferred_username")),
        *_values(claims.get("upn")),
    ):
        if candidate and "@" in candidate:
            return candidate.strip().lower()
    return ""


def decide(sociallogin) -> Decision:
    policy = policy_of(sociallogin)
    kind = policy.get("kind", "oidc")
    claims = _claims(sociallogin, kind)
    decision = Decision(role=Role.NONE, email=_email(sociallogin, claims))
    if kind != "saml":
        id_token = (sociallogin.account.extra_data or {}).get("id_token") or {}
        decision.issuer = str(id_token.get("iss", ""))
        if not id_token or decision.issuer not in policy.get("allowed_issuers", []):
            decision.reason = "issuer"
            return decision
        decision.tenant = str(claims.get("tid", "")).lower()
        if policy.get("allowed_tenants") and decision.tenant not in policy["allowed_tenants"]:
            decision.reason = "tenant"
            return decision
        parts = [str(claims.get(name, "")) for name in policy.get("uid_claims", ["sub"])]
        if not all(parts):
            decision.reason = "identity"
            return decision
        decision.uid = ":".join(parts)
    else:
        decision.issuer = policy.get("issuer", "")
        decision.uid = sociallogin.account.uid
    domains = policy.get("allowed_domains") or []
    if domains and decision.email.rpartition("@")[2] not in domains:
        decision.reason = "domain"
        return decision
    role_map = policy.get("role_map", {})
    mapped = [ROLE_NAMES[role_map[v]] for v in _values(claims.get(policy.get("role_claim")))
              if v in role_map]  # fmt: skip
    if not mapped:
        decision.reason = "role"
        return decision
    decision.role = max(mapped)
    return decision


def _deny(request, sociallogin, decision: Decision):
    user = sociallogin.user if sociallogin.is_existing else None
    revoked = False
    if user is not None and user_role(user) is not Role.NONE:
        set_role(user, Role.NONE)  # the IdP no longer grants a role: take it away here too
        revoked = True
    record(
        "auth.sso_denied",
        target=user or {"type": "auth.user", "id": "", "label": decision.email or decision.uid},
        after={
            "provider": sociallogin.account.provider,
            "reason": decision.reason,
            "issuer": decision.issuer,
            "tenant": decision.tenant,
            "email": decision.email,
            "role_revoked": revoked,
        },
        result="denied",
    )
    response = render(
        request,
        "accounts/no_access.html",
        {"reason": REASONS[decision.reason], "code": decision.reason},
        status=403,
    )
    raise ImmediateHttpResponse(response)


class PortalSocialAccountAdapter(DefaultSocialAccountAdapter):
    def pre_social_login(self, request, sociallogin):
        decision = decide(sociallogin)
        if decision.reason:
            if decision.uid and not sociallogin.is_existing:
                self._lookup(sociallogin, decision.uid)
            _deny(request, sociallogin, decision)
        if not sociallogin.is_existing and decision.uid != sociallogin.account.uid:
            self._lookup(sociallogin, decision.uid)
        sociallogin.portal_role = decision.role
        if sociallogin.is_existing:
            self._apply_role(sociallogin.user, decision.role, sociallogin.account.provider)

    @staticmethod
    def _lookup(sociallogin, uid: str) -> None:
        # The provider's stable id, e.g. Entra's tid:oid instead of the pairwise ``sub``.
        sociallogin.account.uid = uid
        sociallogin._lookup_by_socialaccount()

    @staticmethod
    def _apply_role(user, role: Role, provider: str) -> None:
        before = user_role(user)
        if before is role:
            return
        set_role(user, role)
        record(
            "user.role_change",
            target=user,
            before={"role": before.name.lower()},
            after={"role": role.name.lower(), "source": f"sso:{provider}"},
        )

    def is_open_for_signup(self, request, sociallogin):
        # Only reached after pre_social_login allowed the person and found a role.
        return getattr(sociallogin, "portal_role", Role.NONE) is not Role.NONE

    def is_auto_signup_allowed(self, request, sociallogin):
        return True

    def save_user(self, request, sociallogin, form=None):
        user = super().save_user(request, sociallogin, form)
        role = getattr(sociallogin, "portal_role", Role.NONE)
        set_role(user, role)
        record(
            "user.sso_provision",
            target=user,
            after={
                "provider": sociallogin.account.provider,
                "uid": sociallogin.account.uid,
                "email": user.email,
                "role": role.name.lower(),
            },
        )
        return user

    def on_authentication_error(
        self, request, provider, error=None, exception=None, extra_context=None
    ):
        record(
            "auth.sso_failed",
            target={"type": "sso.provider", "id": "", "label": getattr(provider, "id", "")},
            after={
                "error": str(error or ""),
                "exception": type(exception).__name__ if exception else "",
            },
            result="denied",
        )
