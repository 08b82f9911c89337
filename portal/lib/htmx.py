import contextlib

from django.shortcuts import render as django_render
from django.template import TemplateDoesNotExist
from django.utils.cache import patch_vary_headers


def render(
    request,
    template: str,
    context: dict | None = None,
    *,
    partial: str = "content",
    status: int = 200,
):
    """Render the full page, or one named partial of the same template for htmx requests.

    A page without that partial answers htmx with the whole page rather than an error.
    """
    response = None
    if getattr(request, "htmx", False):
        with contextlib.suppress(TemplateDoesNotExist):
            response = django_render(request, f"{template}#{partial}", context or {}, status=status)
    if response is None:
        response = django_render(request, template, context or {}, status=status)
    patch_vary_headers(response, ["HX-Request"])
    return response
