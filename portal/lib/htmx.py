from django.shortcuts import render as django_render
from django.utils.cache import patch_vary_headers


def render(
    request,
    template: str,
    context: dict | None = None,
    *,
    partial: str = "content",
    status: int = 200,
):
    """Render the full page, or one named partial of the same template for htmx requests."""
    name = f"{template}#{partial}" if getattr(request, "htmx", False) else template
    response = django_render(request, name, context or {}, status=status)
    patch_vary_headers(response, ["HX-Request"])
    return response
