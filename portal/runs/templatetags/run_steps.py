from django import template

from portal.runs.hints import hint_text as _hint_text

register = template.Library()


@register.filter
def hint_text(hint: str) -> str:
    """``{{ step.hint|hint_text }}``: placeholders become the portal's field labels."""
    return _hint_text(hint)
