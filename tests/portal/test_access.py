"""Walk every URL pattern: anonymous users go to sign-in; a Viewer changes nothing."""

import uuid

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.urls import URLPattern, URLResolver, get_resolver

from portal.audit.models import AuditEvent

SAMPLE = {"int": "1", "uuid": str(uuid.uuid4()), "slug": "grants", "str": "sample", "path": "x"}
# The signed-in person's own account pages (sign out, password, MFA) and the language switch
# are self-service: a Viewer may use them for their own account. Everything else is refused.
SELF_SERVICE_PREFIXES = ("allauth.",)
SELF_SERVICE_NAMES = {"set_language", "logout_everywhere"}


def _walk(patterns, prefix=""):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from _walk(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), entry


def _sample_url(route: str) -> str:
    import re

    def fill(match):
        converter = match.group(1) or "str"
        return SAMPLE.get(converter, "sample")

    url = re.sub(r"<(?:(\w+):)?\w+>", fill, route)
    url = url.replace("^", "").replace("$", "")
    return "/" + url


def _routes():
    routes = []
    for route, pattern in _walk(get_resolver().url_patterns):
        if "(?P" in route or "\\" in route:
            continue  # regex routes (none of ours); allauth only
        view = pattern.callback
        module = getattr(view, "__module__", "") or ""
        view_class = getattr(view, "view_class", None)
        if view_class is not None:
            module = view_class.__module__
            if view_class.__name__ == "RedirectView" and route.startswith("accounts/social/"):
                module = "allauth.socialaccount.urls"  # allauth's old URLs, now plain redirects
        routes.append((route, pattern.name or "", view, module))
    return routes


ROUTES = _routes()


def test_walker_sees_the_portal_routes():
    names = {name for _, name, _, _ in ROUTES}
    assert {"dashboard", "list", "detail", "healthz", "one_time"} <= names
    assert len(ROUTES) > 20  # allauth's routes are walked too


@pytest.mark.django_db
@pytest.mark.parametrize("route,name,view,module", ROUTES, ids=[r[0] or "/" for r in ROUTES])
def test_anonymous_is_sent_to_sign_in(anon_client, route, name, view, module):
    if getattr(view, "login_required", True) is False:
        pytest.skip("public by design (sign-in flow or health check)")
    response = anon_client.get(_sample_url(route))
    assert response.status_code == 302, route
    assert response["Location"].startswith("/accounts/login/"), route


@pytest.mark.django_db
@pytest.mark.parametrize("route,name,view,module", ROUTES, ids=[r[0] or "/" for r in ROUTES])
@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_viewer_cannot_change_state(viewer_client, viewer_user, route, name, view, module, method):
    users_before = get_user_model().objects.count()
    memberships_before = list(viewer_user.groups.values_list("name", flat=True))
    successes_before = (
        AuditEvent.objects.filter(result="success").exclude(action__startswith="auth.").count()
    )
    response = getattr(viewer_client, method)(_sample_url(route), data={})
    self_service = module.startswith(SELF_SERVICE_PREFIXES) or name in SELF_SERVICE_NAMES
    if not self_service and getattr(view, "login_required", True) is not False:
        assert response.status_code in (403, 405), f"{method.upper()} {route}"
    # Whatever the route, nothing the Viewer sent changed portal state.
    assert get_user_model().objects.count() == users_before
    viewer_user.refresh_from_db()
    assert list(viewer_user.groups.values_list("name", flat=True)) == memberships_before
    assert Group.objects.count() == 3
    assert (
        AuditEvent.objects.filter(result="success").exclude(action__startswith="auth.").count()
        == successes_before
    )


@pytest.mark.django_db
def test_denied_access_is_audited(viewer_client):
    response = viewer_client.post("/audit/")
    assert response.status_code == 403
    event = AuditEvent.objects.get(action="access.denied")
    assert event.result == "denied"
    assert event.actor_username == "vera-viewer"
    assert event.target_label == "/audit/"


@pytest.mark.django_db
def test_roles_are_cumulative(admin_client, operator_client, viewer_client):
    for client in (admin_client, operator_client, viewer_client):
        assert client.get("/").status_code == 200
        assert client.get("/jobs/").status_code == 200
    assert operator_client.post("/audit/").status_code == 403
    assert admin_client.post("/audit/").status_code == 302
