"""The audit list's filters, shared by the page and its exports.

Every filter is an equality on an indexed column (composite index with ``seq``), a range on
``created_at``, or a case-insensitive substring of the target label; results are newest first
and paged by ``seq`` (keyset), so no page ever counts the table.
"""

import datetime as dt

from django import forms
from django.apps import apps
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portal.audit.models import AuditEvent
from portal.audit.targets import target_choices
from portal.lib.validators import ascii_int


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
    target_type = forms.ChoiceField(label=_("Target"), required=False, choices=target_choices)
    tenant = forms.CharField(
        label=_("Tenant"),
        required=False,
        max_length=120,
        widget=forms.TextInput(attrs={"list": "audit-tenant-names", "autocomplete": "off"}),
        help_text=_("The tenant's name"),
    )
    result = forms.ChoiceField(
        label=_("Result"), required=False, choices=[("", _("Any")), *AuditEvent.Result.choices]
    )
    q = forms.CharField(label=_("Target contains"), required=False, max_length=100)

    FIELDS = ("since", "until", "actor", "action", "target_type", "tenant", "result", "q")

    def clean_tenant(self) -> list[str]:
        """The ids of the tenants so named (an id, as older links carry, is taken as is)."""
        value = self.cleaned_data["tenant"].strip()
        if not value:
            return []
        if ascii_int(value) is not None:
            return [value]
        ids = [str(pk) for pk in _tenants().filter(name__iexact=value).values_list("pk", flat=True)]
        if not ids:
            raise forms.ValidationError(
                _("No tenant is named “%(name)s”. Pick a name from the list."),
                params={"name": value},
            )
        return ids

    def tenant_names(self) -> list[str]:
        return list(_tenants().order_by("name").values_list("name", flat=True))

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
            qs = qs.filter(tenant_id__in=data["tenant"])
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


def _tenants():
    # Looked up by label, not imported: the audit app sits below the apps it records.
    return apps.get_model("tenants", "Tenant").objects.all()


def _aware(value: dt.datetime) -> dt.datetime:
    return timezone.make_aware(value) if timezone.is_naive(value) else value
