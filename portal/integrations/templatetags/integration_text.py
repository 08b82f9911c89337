from django import template
from django.utils.translation import gettext

from portal.lib.translate import message, stored

register = template.Library()


@register.filter
def said(record, key: str) -> str:
    """A check's stored step, detail or hint in the reader's language."""
    if key == "step":
        return gettext(record.step) if record.step else ""
    data = (record.texts or {}).get(f"{key}_msg")
    if isinstance(data, dict):
        return message(data)
    return stored(getattr(record, key, "") or "")
