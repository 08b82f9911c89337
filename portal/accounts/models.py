import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class PortalAccess(models.Model):
    """Holds the role permissions only; no rows are ever stored."""

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [
            ("view_portal", _("Viewer: read everything")),
            ("operate_portal", _("Operator: run tests and jobs")),
            ("administer_portal", _("Admin: change configuration, grants and credentials")),
        ]

    def __str__(self):
        return "portal access"


class OneTimeLoginQuerySet(models.QuerySet):
    def usable(self):
        return self.filter(used_at__isnull=True, expires_at__gt=timezone.now())


class OneTimeLogin(models.Model):
    """A single-use sign-in link (first-admin bootstrap). Only a hash of the token is kept."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    objects = OneTimeLoginQuerySet.as_manager()

    def __str__(self):
        return f"one-time sign-in for {self.user}"

    @staticmethod
    def hash_token(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()

    @classmethod
    def issue(cls, user, lifetime) -> str:
        token = secrets.token_urlsafe(32)
        cls.objects.create(
            user=user, token_hash=cls.hash_token(token), expires_at=timezone.now() + lifetime
        )
        return token
