"""Second factors for test personas: a TOTP authenticator and the code it accepts now."""

import time

from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import format_hotp_value, generate_totp_secret, hotp_value
from django.contrib.auth import get_user_model

from portal.lib import crypto


def enrol_totp(user) -> str:
    """Give ``user`` a TOTP authenticator, stored encrypted as the portal does; return the key."""
    secret = generate_totp_secret()
    Authenticator.objects.create(
        user=user, type=Authenticator.Type.TOTP, data={"secret": crypto.encrypt(secret)}
    )
    return secret


def totp_secret(user) -> str:
    stored = Authenticator.objects.get(user=user, type=Authenticator.Type.TOTP).data["secret"]
    return crypto.decrypt(stored)


def totp_code(secret: str, offset: int = 0) -> str:
    # The portal accepts only the current 30-second window: a code taken in its last seconds
    # can expire before the browser or client submits it, so wait for a fresh window instead.
    if offset == 0 and 30 - time.time() % 30 < 5:
        time.sleep(30 - time.time() % 30 + 0.1)
    return format_hotp_value(hotp_value(secret, int(time.time()) // 30 + offset))


def totp_code_for(username: str) -> str:
    return totp_code(totp_secret(get_user_model().objects.get(username=username)))
