from portal.audit import context
from portal.lib.net import client_ip


class AuditContextMiddleware:
    """Give every request an id and make the actor known to ``audit.record``."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.request_id = context.new_request_id()
        user = getattr(request, "user", None)
        authenticated = bool(user and user.is_authenticated)
        token = context.activate(
            context.AuditContext(
                actor_id=user.pk if authenticated else None,
                actor_username=user.get_username() if authenticated else "",
                client_ip=client_ip(request),
                user_agent=request.headers.get("User-Agent", "")[:400],
                request_id=request.request_id,
            )
        )
        try:
            response = self.get_response(request)
        finally:
            context.deactivate(token)
        response["X-Request-ID"] = request.request_id
        return response
