"""``{% load translated %}``: text that was stored in English, shown in the reader's language."""

from django import template

from portal.lib import translate

register = template.Library()


@register.filter
def stored_text(text) -> str:
    """``{{ job.label|stored_text }}`` (see portal.lib.translate.stored); also a flash message,
    which may carry a sentence stored in English (a queue failure)."""
    return translate.stored(str(text)) if text is not None else ""
