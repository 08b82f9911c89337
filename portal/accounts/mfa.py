"""allauth.mfa customisation: secrets encrypted with FIELD_ENCRYPTION_KEYS; Admins keep MFA."""

from allauth.mfa.adapter import DefaultMFAAdapter
from allauth.mfa.models import Authenticator

from portal.lib import crypto

SECOND_FACTORS = (Authenticator.Type.TOTP, Authenticator.Type.WEBAUTHN)


def is_enrolled(user) -> bool:
    """True when the user has a second factor (TOTP or a security key / passkey)."""
    if not user.is_authenticated:
        return False
    return Authenticator.objects.filter(user=user, type__in=SECOND_FACTORS).exists()


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
