"""``{% load translated %}``: text that was stored in English, shown in the reader's language."""

from django import template

from portal.lib import translate

register = template.Library()


@register.filter
def stored_text(text: str) -> str:
    """``{{ job.label|stored_text }}`` (see portal.lib.translate.stored)."""
    return translate.stored(text)
