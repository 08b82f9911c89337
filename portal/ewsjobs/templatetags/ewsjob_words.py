from django import template

from portal.ewsjobs import words

register = template.Library()


@register.filter
def error_words(stored) -> str:
    """``{{ target.error|error_words }}``: a stored error in the reader's language."""
    return words.shown(str(stored)) if stored else ""
