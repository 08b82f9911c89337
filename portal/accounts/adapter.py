from allauth.account.adapter import DefaultAccountAdapter
from django.core.exceptions import PermissionDenied

from portal.lib.net import client_ip


class PortalAccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request):
        # Accounts come from an Admin's invitation or `manage.py createadmin`, never self sign-up.
        return False

    def get_client_ip(self, request):
        """The audit log's client IP (TRUSTED_PROXY_COUNT): rate limits key on the same one."""
        ip = client_ip(request)
        if not ip:
            raise PermissionDenied("Unable to determine the client IP address")
        return ip

    def get_password_change_redirect_url(self, request):
        # allauth would show the "Change password" form again right after a password is set.
        from portal.accounts.first_sign_in import after_password_url

        return after_password_url(request)
