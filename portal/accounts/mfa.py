"""allauth.mfa customisation: secrets encrypted with FIELD_ENCRYPTION_KEYS; Admins keep MFA."""

from allauth.mfa.adapter import DefaultMFAAdapter
from allauth.mfa.models import Authenticator
from django.utils.translation import gettext as _

from portal.lib import crypto

SECOND_FACTORS = (Authenticator.Type.TOTP, Authenticator.Type.WEBAUTHN)


def is_enrolled(user) -> bool:
    """True when the user has a second factor (TOTP or a security key / passkey)."""
    if not user.is_authenticated:
        return False
    return Authenticator.objects.filter(user=user, type__in=SECOND_FACTORS).exists()


def factors_by_name(user) -> list[dict]:
    """The person's factors as they would name them: the app, each key by its own name."""
    factors = []
    # The factors first, recovery codes (the fallback) last.
    order = {Authenticator.Type.TOTP: 0, Authenticator.Type.WEBAUTHN: 1}
    authenticators = Authenticator.objects.filter(user=user).order_by("created_at", "pk")
    for authenticator in sorted(authenticators, key=lambda a: order.get(a.type, 2)):
        kind = authenticator.type
        if kind == Authenticator.Type.TOTP:
            name = _("Authenticator app")
        elif kind == Authenticator.Type.WEBAUTHN:
            name = authenticator.wrap().name or _("Security key")
        else:
            left = len(authenticator.wrap().get_unused_codes())
            name = _("Recovery codes (%(count)d left)") % {"count": left}
        factors.append(
            {
                "name": name,
                "kind": kind,
                "added": authenticator.created_at,
                "last_used": authenticator.last_used_at,
            }
        )
    return factors


def is_local_account(user) -> bool:
    """Signs in with a password here rather than through an identity provider."""
    from allauth.socialaccount.models import SocialAccount

    return not SocialAccount.objects.filter(user=user).exists()


class PortalMFAAdapter(DefaultMFAAdapter):
    def encrypt(self, text: str) -> str:
        return crypto.encrypt(text)

    def decrypt(self, encrypted_text: str) -> str:
        return crypto.decrypt(encrypted_text)

    def can_delete_authenticator(self, authenticator) -> bool:
        """A local Admin keeps at least one second factor (recovery codes alone do not count)."""
        from portal.lib.access import Role, user_role

        user = authenticator.user
        if authenticator.type not in SECOND_FACTORS:
            return True
        if user_role(user) < Role.ADMIN or not is_local_account(user):
            return True
        others = Authenticator.objects.filter(user=user, type__in=SECOND_FACTORS)
        return others.exclude(pk=authenticator.pk).exists()
