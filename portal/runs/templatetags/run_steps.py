from django import template
from django.utils.translation import gettext, pgettext_lazy

from portal.lib import translate
from portal.runs.hints import hint_text as _hint_text

register = template.Library()

STEP_STATUS = {
    "pass": pgettext_lazy("step status", "pass"),
    "warn": pgettext_lazy("step status", "warning"),
    "fail": pgettext_lazy("step status", "fail"),
    "skip": pgettext_lazy("step status", "skipped"),
}


@register.filter
def hint_text(hint: str) -> str:
    """``{{ step.hint|hint_text }}``: placeholders become the portal's field labels."""
    return _hint_text(hint)


@register.filter
def step_name(step: dict) -> str:
    """The step's name in the reader's language (names are catalogue entries)."""
    name = step.get("name") or ""
    return gettext(name) if name else name


@register.filter
def step_detail(step: dict) -> str:
    return translate.step_text(step, "detail")


@register.filter
def step_hint(step: dict) -> str:
    """The hint in the reader's language, its setting placeholders named as in the forms."""
    return _hint_text(translate.step_text(step, "hint"))


@register.filter
def step_status(status: str) -> str:
    return STEP_STATUS.get(status, status)
