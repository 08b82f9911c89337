"""Let the SSO start views' form reach their identity provider; keep every other page strict.

allauth's provider buttons are links to the provider's login view, which shows a confirmation
form (``SOCIALACCOUNT_LOGIN_ON_GET = False``) that POSTs to itself and is answered with a redirect
to the IdP. Browsers check that redirect against the ``form-action`` of the page whose form was
submitted, i.e. this view's GET response, so only its responses get the provider's origin, and
only that one provider's. The sign-in page lists the buttons as links and stays ``'self'``.
"""

from django.conf import settings

from portal.accounts.sso_origins import sign_in_origin

# allauth's URL names of the views that send the browser to the IdP, and the kwarg naming it.
START_VIEWS = {
    "openid_connect_login": ("openid_connect", "provider_id"),
    "saml_login": ("saml", "organization_slug"),
}


def form_action_policy(origin: str) -> dict:
    policy = dict(settings.SECURE_CSP)
    policy["form-action"] = [*policy.get("form-action", []), origin]
    return policy


class SSOFormActionMiddleware:
    """Must come after ContentSecurityPolicyMiddleware, which then writes the header."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        start = START_VIEWS.get(match.url_name) if match else None
        if start is None or hasattr(response, "_csp_config"):
            return response
        provider_type, kwarg = start
        found = sign_in_origin(provider_type, match.kwargs.get(kwarg, ""))
        if found is not None and found.origin:
            # The attribute django.views.decorators.csp.csp_override sets on a view's response.
            response._csp_config = form_action_policy(found.origin)
        return response
