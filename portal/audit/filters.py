"""The audit list's filters, shared by the page and its exports.

Every filter is an equality on an indexed column (composite index with ``seq``), a range on
``created_at``, or a case-insensitive substring of the target label; results are newest first
and paged by ``seq`` (keyset), so no page ever counts the table.
"""

import datetime as dt

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portal.audit.models import AuditEvent


class AuditFilterForm(forms.Form):
    since = forms.DateTimeField(
        label=_("From"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )
    until = forms.DateTimeField(
        label=_("To"), required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    actor = forms.CharField(label=_("Actor"), required=False, max_length=150)
    action = forms.CharField(
        label=_("Action"),
        required=False,
        max_length=80,
        help_text=_("Exact, or a prefix ending in a dot (auth.)"),
    )
    target_type = forms.CharField(label=_("Target type"), required=False, max_length=80)
    tenant = forms.CharField(label=_("Tenant id"), required=False, max_length=80)
    result = forms.ChoiceField(
        label=_("Result"), required=False, choices=[("", _("Any")), *AuditEvent.Result.choices]
    )
    q = forms.CharField(label=_("Target contains"), required=False, max_length=100)

    FIELDS = ("since", "until", "actor", "action", "target_type", "tenant", "result", "q")

    def filter(self, qs):
        if not self.is_valid():
            return qs.none()
        data = self.cleaned_data
        if data["since"]:
            qs = qs.filter(created_at__gte=_aware(data["since"]))
        if data["until"]:
            qs = qs.filter(created_at__lt=_aware(data["until"]))
        if data["actor"]:
            qs = qs.filter(actor_username=data["actor"].strip())
        action = (data["action"] or "").strip()
        if action.endswith("."):
            qs = qs.filter(action__startswith=action)
        elif action:
            qs = qs.filter(action=action)
        if data["target_type"]:
            qs = qs.filter(target_type=data["target_type"].strip())
        if data["tenant"]:
            qs = qs.filter(tenant_id=data["tenant"].strip())
        if data["result"]:
            qs = qs.filter(result=data["result"])
        if data["q"]:
            qs = qs.filter(target_label__icontains=data["q"].strip())
        return qs

    def active(self) -> dict:
        """The filters in use, as query parameters (for paging and export links)."""
        if not self.is_valid():
            return {}
        return {k: self.data[k] for k in self.FIELDS if self.data.get(k)}


def _aware(value: dt.datetime) -> dt.datetime:
    return timezone.make_aware(value) if timezone.is_naive(value) else value
